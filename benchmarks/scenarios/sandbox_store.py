"""2. Sandbox store: tagging up to 1,000,000 Atlas points through the HTTP API vs raw SQLite
`executemany` of the same (tag, point) rows into an equivalent in-memory table.

The API side is the bare sequential loop of 10,000-id POSTs; the raw side inserts the same
10,000-row chunks, one transaction each, as the sandbox does per request.
"""

from __future__ import annotations

import sqlite3
from functools import partial

from benchmarks.atlas_loop import atlas_ids, post_chunks
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.timing import best_of_pair, repeats_for

NAME = "sandbox_store"
TITLE = "Sandbox store via the API"
CHUNK = 10_000
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)

_TABLE = """CREATE TABLE atlas_points (
    tag INTEGER NOT NULL, point INTEGER NOT NULL, PRIMARY KEY (tag, point)
) WITHOUT ROWID"""


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: list[Point] = []
    with sandbox("--atlas-points", str(max(sizes))) as sb:
        for n in sizes:
            ids = atlas_ids(n)
            repeats = repeats_for(n, quick)
            api, raw = best_of_pair(
                partial(_through_api, sb, ids), partial(raw_insert, n), repeats, sb.reset
            )
            points.append(Point(n, api, raw))
    last = points[-1]
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"{last.size:,} ids via HTTP API / raw SQLite executemany",
            unit="s",
            target=Target("<=", 2),
            points=points,
            notes={"api_rows_per_s": round(last.size / last.measured)},
        )
    ]


def _through_api(sb: SandboxProcess, ids: list[str]) -> None:
    tagged = post_chunks(sb, ids, "bench", CHUNK)
    if tagged != len(ids):
        raise RuntimeError(f"the sandbox tagged {tagged} of {len(ids)} ids")


def raw_insert(n: int, chunk: int = CHUNK) -> None:
    """The same rows into the same table shape, with nothing around it."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(_TABLE)
    for start in range(0, n, chunk):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT OR IGNORE INTO atlas_points (tag, point) VALUES (1, ?)",
            ((i,) for i in range(start, min(n, start + chunk))),
        )
        db.execute("COMMIT")
    db.close()
