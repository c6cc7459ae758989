"""`python -m benchmarks.markdown [results.json]`: the results as a Markdown table (for README)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.__main__ import DEFAULT_OUTPUT
from benchmarks.results import target_label


def _num(value: float, unit: str) -> str:
    if unit == "requests":
        return f"{value:,.0f} req"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.3f} s" if value < 10 else f"{value:,.1f} s"


def _growth(value: float | None) -> str:
    return "—" if value is None else f"×{value:.1f}"


def _verdict(row: dict[str, Any]) -> str:
    return {True: "pass", False: "**miss**", None: "info"}[row["passed"]]


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        f"Measured {doc['created_at'][:10]} on {m['nproc']} CPUs, {m['ram_gb']} GB RAM, "
        f"Python {m['python']} ({m['platform']}).",
        "",
        "| scenario | comparison | measured | baseline | ratio | target | | sizes | growth per 10x "
        "(measured / baseline) |",
        "|---|---|---:|---:|---:|---|---|---|---|",
    ]
    for r in doc["results"]:
        sizes = " / ".join(f"{p['size']:,}" for p in r["points"])
        target = target_label(r["target"], r["check"])
        lines.append(
            f"| {r['scenario']} | {r['metric']} | {_num(r['measured'], r['unit'])} | "
            f"{_num(r['baseline'], r['unit'])} | {r['ratio']:.2f} | {target} | {_verdict(r)} | "
            f"{sizes} | {_growth(r['growth_per_10x'])} / {_growth(r['baseline_growth_per_10x'])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    print(markdown(json.loads(path.read_text())))
