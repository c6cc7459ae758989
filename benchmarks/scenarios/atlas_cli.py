"""1. Atlas push of up to 1,000,000 ids through the CLI vs a bare sequential httpx loop.

Both send the same 10,000-id chunks to the same sandbox, reset before every run. The CLI
time is the whole command (interpreter start, reading the ids file, plan, journal, requests).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from benchmarks.atlas_loop import atlas_ids, post_chunks
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import ROOT, SandboxProcess, sandbox
from benchmarks.timing import best_of_pair, repeats_for
from tagging.demo import ATLAS_PROJECTION_ID

NAME = "atlas_cli"
TITLE = "Atlas push via the CLI"
CHUNK = 10_000
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: list[Point] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox("--atlas-points", str(max(sizes))) as sb:
        for n in sizes:
            ids = atlas_ids(n)
            ids_file = Path(tmp) / f"ids-{n}.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            repeats = repeats_for(n, quick)
            cli, loop = best_of_pair(
                partial(_cli_push, sb, ids_file, Path(tmp), n),
                partial(_loop_push, sb, ids),
                repeats,
                sb.reset,
            )
            points.append(Point(n, cli, loop))
    last = points[-1]
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"CLI push of {last.size:,} ids / bare httpx loop",
            unit="s",
            target=Target("<=", 1.3),
            points=points,
            notes={
                "cli_ids_per_s": round(last.size / last.measured),
                "loop_ids_per_s": round(last.size / last.baseline),
            },
        )
    ]


_runs = 0


def _cli_push(sb: SandboxProcess, ids_file: Path, tmp: Path, n: int) -> None:
    global _runs
    _runs += 1
    cmd = [
        sys.executable, "-m", "tagging", "push", "--provider", "atlas",
        "--projection-id", ATLAS_PROJECTION_ID, "--tag", "bench",
        "--ids-file", str(ids_file), "--chunk-size", str(CHUNK),
        "--journal", str(tmp / f"journal-{_runs}.db"), "--json",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=sb.env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"CLI push failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    _check(int(json.loads(done.stdout)["applied"]), n)


def _loop_push(sb: SandboxProcess, ids: list[str]) -> None:
    _check(post_chunks(sb, ids, "bench", CHUNK), len(ids))


def _check(applied: int, expected: int) -> None:
    if applied != expected:
        raise RuntimeError(f"{applied} ids applied, expected {expected}")
