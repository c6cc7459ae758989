"""1. Atlas push of up to 1,000,000 ids through the CLI vs the bare httpx code a user would
write, in two rows.

`atlas_cli`: `push --no-verify` vs a sequential httpx loop POSTing the same 10,000-id chunks:
the loop's pace, the issue's comparison. The CLI time is the whole command (interpreter
start, reading the ids file, plan, journal, requests).
`atlas_cli.verified`: the default push, which reads the tag back afterwards, vs the same loop
followed by the check a user would write: the tiles the provider's read-back reads, fetched
with httpx one after another, then one Arrow `is_in` of the sent ids among the tagged points
(`benchmarks/atlas_loop.all_tagged`), in-process. Both sides pay the sandbox's build of the
tag's tiles, so the ratio is our overhead, not the sandbox's.
The sandbox is reset before every run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from benchmarks.atlas_loop import all_tagged, atlas_ids, post_chunks
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import ROOT, SandboxProcess, sandbox
from benchmarks.timing import best_of_pair, repeats_for
from tagging.demo import ATLAS_PROJECTION_ID

NAME = "atlas_cli"
TITLE = "Atlas push via the CLI"
CHUNK = 10_000
TAG = "bench"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    plain: list[Point] = []
    verified: list[Point] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox("--atlas-points", str(max(sizes))) as sb:
        for n in sizes:
            ids = atlas_ids(n)
            ids_file = Path(tmp) / f"ids-{n}.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            repeats = repeats_for(n, quick)
            for verify, points in ((False, plain), (True, verified)):
                cli, bare = best_of_pair(
                    partial(_cli_push, sb, ids_file, Path(tmp), n, verify),
                    partial(_bare_push, sb, ids, verify),
                    repeats,
                    sb.reset,
                )
                points.append(Point(n, cli, bare))
    size = f"{plain[-1].size:,}"
    return [
        _row(NAME, f"CLI push --no-verify of {size} ids / bare httpx loop", plain),
        _row(
            f"{NAME}.verified",
            f"CLI push (verified) of {size} ids / bare loop + bare read-back",
            verified,
        ),
    ]


def _row(scenario: str, metric: str, points: list[Point]) -> Result:
    last = points[-1]
    return Result.at_largest(
        scenario=scenario,
        metric=metric,
        unit="s",
        target=Target("<=", 1.3),
        points=points,
        notes={
            "cli_ids_per_s": round(last.size / last.measured),
            "bare_ids_per_s": round(last.size / last.baseline),
        },
    )


_runs = 0


def _cli_push(sb: SandboxProcess, ids_file: Path, tmp: Path, n: int, verify: bool) -> None:
    global _runs
    _runs += 1
    cmd = [
        sys.executable, "-m", "tagging", "push", "--provider", "atlas",
        "--projection-id", ATLAS_PROJECTION_ID, "--tag", TAG,
        "--ids-file", str(ids_file), "--chunk-size", str(CHUNK),
        "--journal", str(tmp / f"journal-{_runs}.db"), "--json",
    ]  # fmt: skip
    if not verify:
        cmd.append("--no-verify")
    # The CLI as installed runs from its bytecode cache: a shell with PYTHONDONTWRITEBYTECODE
    # set would make every run compile the package's modules again (about 0.08 s).
    env = {k: v for k, v in sb.env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"CLI push failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    answer = json.loads(done.stdout)
    _check(int(answer["applied"]), n)
    if verify and (answer["verified"] is None or answer["verified"]["checked"] != n):
        raise RuntimeError(f"CLI push did not verify {n} ids: {answer['verified']}")


def _bare_push(sb: SandboxProcess, ids: list[str], verify: bool) -> None:
    _check(post_chunks(sb, ids, TAG, CHUNK), len(ids))
    if verify and not all_tagged(sb, ids, TAG):
        raise RuntimeError("the bare read-back found sent ids without the tag")


def _check(applied: int, expected: int) -> None:
    if applied != expected:
        raise RuntimeError(f"{applied} ids applied, expected {expected}")
