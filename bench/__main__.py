"""`python -m bench [--only NAME]`: run benchmarks, print a table, write bench/results/."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

import bench
from bench._stack import setup_django

RESULTS = Path(__file__).parent / "results"


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run one benchmark: " + ", ".join(available()))
    args = parser.parse_args()
    names = available()
    if args.only:
        if args.only not in names:
            print(
                f"no benchmark named {args.only!r}; there are: {', '.join(names)}", file=sys.stderr
            )
            return 2
        names = [args.only]

    setup_django()
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        figures = module.run()
        result = {
            "name": name,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "host": platform.node(),
            "seconds": round(time.perf_counter() - started, 2),
            **figures,
        }
        (RESULTS / f"{name}.json").write_text(
            json.dumps(result, indent=2, ensure_ascii=False) + "\n"
        )
        summary = (module.__doc__ or "").strip().splitlines()[0]
        print(f"\n== {name} ({result['seconds']} s) — {summary}")
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"  {key:<{width}}  {value}")
    print(f"\nresults written to {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
