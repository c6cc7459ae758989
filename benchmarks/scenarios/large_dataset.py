"""10. A Parquet dataset of up to 30,000,000 rows opened through DuckDB (tagging.large_dataset):
select all filtered, streamed, vs pyarrow's dataset scanner reading the same ids; and the peak
RSS of a fresh process that opens, counts and streams them, against a 1,500 MB budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from benchmarks import large_steps as steps
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import ROOT
from benchmarks.timing import best_of_pair

NAME = "large_dataset"
TITLE = "Larger-than-memory Parquet through DuckDB"
SIZES = (1_000_000, 30_000_000)
QUICK_SIZES = (10_000, 100_000)
BUDGET_MB = 1500
MB = 1024 * 1024


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    timing: list[Point] = []
    memory: list[Point] = []
    notes: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            folder = Path(tmp) / f"rows-{n}"
            steps.write_dataset(folder, n)
            probe = _probe(folder)  # first, in its own process: the cold figures
            memory.append(Point(n, probe["peak_rss_bytes"] / MB, BUDGET_MB))
            timing.append(Point(n, *_time_select_all(folder, quick)))
            notes = {f"{k}_s": round(v, 3) for k, v in probe["seconds"].items()}
            notes |= {"rows": probe["rows"], "ids": probe["ids"]}
    last_t, last_m = timing[-1], memory[-1]
    return [
        Result.at_largest(
            scenario=f"{NAME}.select_all",
            metric=f"stream all filtered ids (iter_ids) / pyarrow dataset scan "
            f"({last_t.size:,} rows)",
            unit="s",
            target=Target("<=", 2),
            points=timing,
            notes=notes,
        ),
        Result.at_largest(
            scenario=f"{NAME}.memory",
            metric=f"peak RSS of open, counts and streaming all ids / {BUDGET_MB:,} MB budget "
            f"({last_m.size:,} rows)",
            unit="MB",
            target=Target("<=", 1),
            points=memory,
            notes=notes,
        ),
    ]


def _time_select_all(folder: Path, quick: bool) -> tuple[float, float]:
    ds = steps.open_large(folder)
    try:
        ours, bare = steps.stream_ids(ds), steps.raw_stream_ids(folder)
        if ours != bare:
            raise RuntimeError(f"iter_ids streamed {ours} ids, pyarrow's scan {bare}")
        return best_of_pair(
            partial(steps.stream_ids, ds), partial(steps.raw_stream_ids, folder), 1 if quick else 3
        )
    finally:
        ds.close()


def _probe(folder: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.large_probe", str(folder)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)
