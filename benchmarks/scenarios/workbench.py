"""6. Workbench steps on a Parquet dataset of up to 1,000,000 rows (the demo Atlas frame):
load, filter, select all filtered, coverage, each vs bare pandas; and peak memory vs the frame.
Plus the peak memory of `coverage` on a 30,000,000-row frame (benchmarks/coverage_memory.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from benchmarks import workbench_steps as steps
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import ROOT
from benchmarks.timing import best_of_pair

NAME = "workbench"
TITLE = "Workbench on a big dataset"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
STEPS = ("load", "filter", "select_all", "coverage")
COVERAGE_MEMORY_ROWS = (10_000_000, 30_000_000)
QUICK_COVERAGE_MEMORY_ROWS = (100_000, 200_000)
MEMORY_LIMIT_MB = 1_500  # the whole process, data included
METRICS = {
    "load": "load_dataset / pd.read_parquet",
    "filter": "apply_filters / raw pandas mask",
    "select_all": "select all filtered (Tag page's RowKeys mask) / df.loc[mask, id]",
    "coverage": "coverage / raw merge + groupby",
}


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: dict[str, list[Point]] = {s: [] for s in STEPS}
    memory: list[Point] = []
    step_peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"atlas-{n}.parquet"
            steps.write_parquet(path, n)
            for step, point in _time_steps(path, n, quick).items():
                points[step].append(point)
            point, step_peaks = _memory(path, n)
            memory.append(point)
    results = []
    for step in STEPS:
        last = points[step][-1]
        results.append(
            Result.at_largest(
                scenario=f"{NAME}.{step}",
                metric=f"{METRICS[step]} ({last.size:,} rows)",
                unit="s",
                target=Target("<=", 2),
                points=points[step],
            )
        )
    last = memory[-1]
    results.append(
        Result.at_largest(
            scenario=f"{NAME}.memory",
            metric=f"peak RSS growth of all steps / frame size ({last.size:,} rows)",
            unit="MB",
            target=Target("<=", 3),
            points=memory,
            notes={f"peak_mb_{k}": v for k, v in step_peaks.items()},
        )
    )
    results.append(_coverage_memory(QUICK_COVERAGE_MEMORY_ROWS if quick else COVERAGE_MEMORY_ROWS))
    return results


def _coverage_memory(sizes: tuple[int, ...]) -> Result:
    """Peak RSS of a fresh process counting coverage of `rows` text ids by a facet: its
    growth over the frame and state's own bytes (the ratio), and under 1.5 GB in all (the
    check, at the largest size)."""
    points, peaks, seconds = [], [], []
    for rows in sizes:
        cmd = [sys.executable, "-m", "benchmarks.coverage_memory", str(rows)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        probe = json.loads(done.stdout)
        mb = 1024 * 1024
        growth = (probe["peak_rss_bytes"] - probe["rss_before_bytes"]) / mb
        points.append(Point(rows, max(growth, 0.1), probe["data_bytes"] / mb))
        peaks.append(probe["peak_rss_bytes"] / mb)
        seconds.append(probe["seconds"])
    return Result.at_largest(
        scenario=f"{NAME}.coverage_memory_30m",
        metric=(
            f"coverage's peak RSS growth / frame + state bytes ({points[-1].size:,} text ids, "
            f"check: whole process <= {MEMORY_LIMIT_MB:,} MB)"
        ),
        unit="MB",
        target=Target("<=", 1),
        points=points,
        notes={"peak_mb": round(peaks[-1]), "seconds": round(seconds[-1], 1)},
        check=peaks[-1] <= MEMORY_LIMIT_MB,
    )


def _time_steps(path: Path, n: int, quick: bool) -> dict[str, Point]:
    repeats = 1 if quick else 5  # each step is cheap: more runs, less noise
    df = steps.load(path)
    raw = steps.raw_load(path)
    mask = steps.filter_mask(df)
    raw_mask = steps.raw_mask(raw)
    if not mask.equals(raw_mask):
        raise RuntimeError("apply_filters and the raw mask disagree")
    state = steps.known_state(n)
    _, positions = steps.filtered_rows(df, mask)
    unique = steps.unique_ids(df)  # found on loading, as the app does
    pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "load": (partial(steps.load, path), partial(steps.raw_load, path)),
        "filter": (partial(steps.filter_mask, df), partial(steps.raw_mask, raw)),
        "select_all": (
            partial(steps.select_all, df, positions, unique),
            partial(steps.raw_select, raw, raw_mask),
        ),
        "coverage": (partial(steps.cover, df, state), partial(steps.raw_cover, raw, state)),
    }
    _agree(df, mask, raw, raw_mask, state)
    out = {}
    for step, (ours, bare) in pairs.items():
        out[step] = Point(n, *best_of_pair(ours, bare, repeats))
    return out


def _agree(
    df: pd.DataFrame, mask: pd.Series, raw: pd.DataFrame, raw_mask: pd.Series, state: pd.DataFrame
) -> None:
    """The library and the bare pandas must compute the same answers."""
    _, positions = steps.filtered_rows(df, mask)
    selected, count = steps.select_all(df, positions, steps.unique_ids(df))
    picked = df.loc[selected, steps.ID].astype(str)
    if count != len(picked) or frozenset(picked) != frozenset(
        steps.raw_select(raw, raw_mask).astype(str)
    ):
        raise RuntimeError("select-all and df.loc[mask, id] disagree")
    tagged, per_tag = steps.raw_cover(raw, state)
    cov = steps.cover(df, state)
    if cov.tagged != tagged or cov.tags != {str(k): int(v) for k, v in per_tag.items()}:
        raise RuntimeError("coverage and the raw groupby disagree")


def _memory(path: Path, n: int) -> tuple[Point, dict[str, float]]:
    cmd = [sys.executable, "-m", "benchmarks.memory_probe", str(path)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    probe = json.loads(done.stdout)
    mb = 1024 * 1024
    steps_mb = {k: round(v / mb, 1) for k, v in probe["step_peaks_bytes"].items()}
    return Point(n, probe["peak_growth_bytes"] / mb, probe["frame_bytes"] / mb), steps_mb
