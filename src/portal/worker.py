"""Entry point for Dramatiq workers: ``PORTAL_INI=production.ini dramatiq portal.worker``.

Builds the same configuration as the web process from the same ini (and environment) and
commits it: the broker, with every actor of the core and the areas bound to it.
"""

import gc

from portal import make_config, settings
from portal.messaging import runtime

make_config(settings.load()).commit()
broker = runtime().broker
# Everything imported lives as long as the process: out of the cyclic collector's full
# collections, as in the web process (portal.main).
gc.freeze()
