"""`python -m benchmarks [--quick] [--only NAME] [--output FILE]`: run, print, write JSON."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from benchmarks.report import print_results, write_json
from benchmarks.results import Result
from benchmarks.scenarios import SCENARIOS

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(SCENARIOS),
        metavar="NAME",
        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = args.only or list(SCENARIOS)
    results: list[Result] = []
    failed: list[str] = []
    start = time.perf_counter()
    for name in names:
        module = SCENARIOS[name]
        print(f"running {name}: {module.TITLE} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            results.extend(module.run(args.quick))
        except Exception:  # one broken scenario must not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
        print(f"  {name}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    print_results(results)
    write_json(results, args.output, quick=args.quick, seconds=seconds)
    print(f"wrote {args.output}", file=sys.stderr)
    if failed:
        print(f"scenarios that raised: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
