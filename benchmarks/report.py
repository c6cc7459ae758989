"""The results as one rich table, and as `results.json` with the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.results import Result, target_label


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(_ram_bytes() / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _ram_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _num(value: float, unit: str) -> str:
    if unit == "requests":
        return f"{value:,.0f}"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:.3f} s" if value < 10 else f"{value:,.1f} s"


def _growth(value: float | None) -> str:
    return "—" if value is None else f"×{value:.2f}"


def _verdict(result: Result) -> str:
    passed = result.passed
    if passed is None:
        return "[dim]info[/dim]"
    return "[green]pass[/green]" if passed else "[red]MISS[/red]"


def table(results: list[Result]) -> Table:
    t = Table(title="Benchmarks (ratio vs a baseline measured in the same run)")
    for name in ("scenario", "metric", "measured", "baseline", "ratio", "target", "",
                 "sizes", "growth/10x", "base growth/10x"):  # fmt: skip
        t.add_column(name, overflow="fold")
    for r in results:
        sizes = " / ".join(_size(p.size) for p in r.points)
        t.add_row(
            r.scenario,
            r.metric,
            _num(r.measured, r.unit),
            _num(r.baseline, r.unit),
            f"{r.ratio:.2f}",
            target_label(r.target, r.check),
            _verdict(r),
            sizes,
            _growth(r.growth()),
            _growth(r.baseline_growth()),
        )
    return t


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def print_results(results: list[Result], console: Console | None = None) -> None:
    console = console or Console(width=max(160, Console().width))
    console.print(table(results))
    for r in results:
        if r.notes:
            shown = ", ".join(f"{k}={v}" for k, v in r.notes.items())
            console.print(f"[dim]{r.scenario}: {shown}[/dim]")
    m = machine()
    console.print(
        f"[dim]machine: {m['nproc']} CPUs, {m['ram_gb']} GB RAM, Python {m['python']}[/dim]"
    )


def write_json(results: list[Result], path: Path, *, quick: bool, seconds: float) -> None:
    doc = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "argv": sys.argv[1:],
        "results": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
