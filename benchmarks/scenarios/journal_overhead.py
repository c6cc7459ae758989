"""7. Journal overhead: the same Atlas push (library `push`) with a SQLite journal and without."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

from benchmarks.atlas_loop import atlas_ids
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.timing import best_of_pair, repeats_for
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import Plan, TagOperation, plan

NAME = "journal_overhead"
TITLE = "Journal overhead"
CHUNK = 10_000
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: list[Point] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox("--atlas-points", str(max(sizes))) as sb:
        for n in sizes:
            op = TagOperation(
                provider="atlas",
                action="add",
                tags=("bench",),
                ids=atlas_ids(n),
                target={"projection_id": ATLAS_PROJECTION_ID},
            )
            the_plan = plan(op, chunk_size=CHUNK)
            repeats = repeats_for(n, quick)
            journal_path = Path(tmp) / f"journal-{n}.db"
            with_journal, without = best_of_pair(
                partial(_push, sb, the_plan, journal_path),
                partial(_push, sb, the_plan, None),
                repeats,
                sb.reset,
            )
            points.append(Point(n, with_journal, without))
    last = points[-1]
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"push of {last.size:,} ids with journal / without",
            unit="s",
            target=Target("<=", 1.1),
            points=points,
        )
    ]


def _push(sb: SandboxProcess, the_plan: Plan, journal_path: Path | None) -> None:
    journal = Journal(journal_path) if journal_path is not None else None
    try:
        with sb.connect("atlas") as conn:
            result = push(the_plan, conn, journal=journal)
    finally:
        if journal is not None:
            journal.close()
    if result.applied != the_plan.to_send:
        raise RuntimeError(f"push applied {result.applied} of {the_plan.to_send}")
