"""Run the benchmarks, print our figures next to same-run baselines, and write bench/RESULTS.md.

    .venv/bin/python bench/run.py                 # all five (make bench)
    .venv/bin/python bench/run.py --only read write --duration 5

1. read path, 2. write path, 3. actor pipeline, 4. growth from 1k to 1M bookings, 5. peak
memory of a web and a worker process under those loads. See README, "Benchmarks".
"""

import argparse
import re
import shutil
import signal
import sys
import time
from datetime import datetime, timezone

import growth
import pipeline
import read_path
import write_path
from harness import BENCH, DRAMATIQ, GUNICORN, ROUNDS, WRK_CONNECTIONS, WRK_THREADS, PeakRss, machine

RESULTS = BENCH / "RESULTS.md"
#: RESULTS.md between these markers is generated; the commentary around it is kept.
START, END = "<!-- generated:start -->", "<!-- generated:end -->"
BENCHMARKS = ("read", "write", "pipeline", "growth")


def _ms(value):
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _yes(met):
    return "yes" if met else "**no**"


def render(facts, comparisons, growths, generated, memory, args, elapsed):
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min on {facts['cpu']}, "
        f"{facts['cores']} cores, {facts['memory_gib']} GiB, {facts['os']}; Python {facts['python']}, "
        f"PostgreSQL {facts['postgresql']}, Redis {facts['redis']}, gunicorn {facts['gunicorn']}, Pyramid {facts['pyramid']}, "
        f"SQLAlchemy {facts['sqlalchemy']}, psycopg {facts['psycopg']}, Dramatiq {facts['dramatiq']}, wrk {facts['wrk']}.",
        "",
        f"Server: `gunicorn --paste <ini> {' '.join(GUNICORN)}` for portal and the bare app alike; workers: "
        f"`dramatiq <broker> {' '.join(DRAMATIQ)}` for portal and the bare actor alike; load: "
        f"`wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.duration}s --latency` from its own process, all on this one machine.",
        "",
    ]
    if comparisons:
        lines += [
            "| benchmark | ours | ours p50 / p99 | baseline | baseline figures | baseline p50 / p99 | ratio | target | met |",
            "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | :---: |",
        ]
        for c in comparisons:
            for b in c.baselines:
                target, met = ("—", "—") if b.target is None else (f"≥ {b.target}", _yes(c.ratio(b) >= b.target))
                lines.append(
                    f"| {c.name} | {c.what}: {c.ours.rps:,.0f} {c.unit} | {_ms(c.ours.p50)} / {_ms(c.ours.p99)} | {b.what} | "
                    f"{b.load.rps:,.0f} {c.unit} | {_ms(b.load.p50)} / {_ms(b.load.p99)} | {c.ratio(b):.2f} | {target} | {met} |"
                )
        lines.append("")
        lines += [f"{c.name}: {c.note}." for c in comparisons if c.note]
        lines.append("")
    if growths:
        small, large = growths[0].small_rows, growths[0].large_rows
        lines += [
            f"Growth: {small:,} → {large:,} bookings over 1000 drivers ({large - small:,} rows generated in {generated:.0f} s); "
            f"load `wrk -t1 -c{growth.CONNECTIONS}`, {ROUNDS} turns per size.",
            "",
            f"| page | what | p50 at {small:,} | p50 at {large:,} | p99 at {small:,} / {large:,} | req/s at {small:,} / {large:,} | p50 ratio | target | met |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
        ]
        for g in growths:
            lines.append(
                f"| {g.name} | {g.what} | {_ms(g.small.p50)} | {_ms(g.large.p50)} | {_ms(g.small.p99)} / {_ms(g.large.p99)} | "
                f"{g.small.rps:,.0f} / {g.large.rps:,.0f} | {g.ratio:.2f} | ≤ {g.target} | {_yes(g.met)} |"
            )
        lines.append("")
    if memory:
        lines += ["| peak RSS of one process | MiB |", "| --- | ---: |"]
        lines += [f"| {label} | {mib:.0f} |" for label, mib in sorted(memory.items())]
        lines.append("")
    return "\n".join(lines)


def write_results(table):
    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{table}\n{END}", text, flags=re.S)
    RESULTS.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per measurement (default 10)")
    parser.add_argument("--bookings", type=int, default=500, help="bookings through the actor pipeline (default 500)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="bookings in the large growth database (default 1M)")
    parser.add_argument("--no-write", action="store_true", help="print the table only; leave RESULTS.md alone")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        sys.exit("the benchmarks need wrk as their load generator: apt-get install wrk")
    # A TERM (make interrupted, CI timeout) unwinds like Ctrl-C: every benchmark stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    facts = machine()
    rss = PeakRss()
    comparisons, growths, generated = [], [], 0.0
    try:
        for name in args.only:
            print(f"== {name}", flush=True)
            if name == "read":
                comparisons.append(read_path.run(rss, args.duration))
            elif name == "write":
                comparisons.append(write_path.run(rss, args.duration))
            elif name == "pipeline":
                comparisons.append(pipeline.run(rss, args.bookings))
            elif name == "growth":
                growths, generated = growth.run(rss, args.duration, args.rows)
    finally:
        rss.close()
    table = render(facts, comparisons, growths, generated, rss.peak, args, time.monotonic() - started)
    print(table)
    if not args.no_write:
        write_results(table)
        print(f"written to {RESULTS.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
