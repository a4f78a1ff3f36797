"""The LE and MES simulators on 127.0.0.1, in a process of their own so that they do not share
the benchmark runner's interpreter.

``python bench/simulators.py ADDRESSES_FILE``: writes ``{"le": url, "mes": url}`` to the file
once both serve, then serves until terminated. Control them over HTTP (``/_sim/ledger``,
``/_sim/stock``).
"""

import json
import signal
import sys
from pathlib import Path

from portal.simulators.le import LeSimulator
from portal.simulators.mes import MesSimulator
from portal.simulators.base import serve

from harness import SIM_KEY, SIM_SECRET


def main(addresses):
    le = LeSimulator(SIM_KEY.format(system="le"), SIM_SECRET.format(system="le"), callback_url="http://127.0.0.1:9/")
    mes = MesSimulator(SIM_KEY.format(system="mes"), SIM_SECRET.format(system="mes"))
    served = {"le": serve(le), "mes": serve(mes)}
    Path(addresses).write_text(json.dumps({name: s.url for name, s in served.items()}))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


if __name__ == "__main__":
    main(sys.argv[1])
