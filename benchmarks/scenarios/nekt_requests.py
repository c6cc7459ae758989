"""4. Nekt: tag every resource of a 100,000-resource world (all 8 types mixed in one plan).
Requests sent (counted on the connection's client) vs the minimum possible,
ceil(ids / chunk) with every type in one body."""

from __future__ import annotations

import math
import time

from benchmarks.counting import RequestCounter
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import sandbox
from tagging.demo import World, WorldSize
from tagging.executor import push
from tagging.plan import TagOperation, plan
from tagging.providers import nekt

NAME = "nekt_requests"
TITLE = "Nekt requests per push"
SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    chunk = nekt.PROVIDER.default_chunk
    points: list[Point] = []
    seconds: dict[int, float] = {}
    with sandbox("--nekt-resources", str(max(sizes))) as sb:
        for n in sizes:
            ids, kinds = _resources(n)
            op = TagOperation(provider="nekt", action="add", tags=("bench",), ids=ids, kinds=kinds)
            sb.reset()
            with sb.connect("nekt") as conn:
                counter = RequestCounter(conn.client)
                start = time.perf_counter()
                result = push(plan(op), conn)
                seconds[n] = time.perf_counter() - start
            if result.applied != n:
                raise RuntimeError(f"Nekt push applied {result.applied} of {n}")
            points.append(Point(n, counter.count, math.ceil(n / chunk)))
    last = points[-1]
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"requests for {last.size:,} ids of 8 types / ceil(ids / {chunk})",
            unit="requests",
            target=Target("<=", 1.0),
            points=points,
            notes={
                "push_s": round(seconds[last.size], 3),
                "ids_per_s": round(last.size / seconds[last.size]),
            },
        )
    ]


def _resources(n: int) -> tuple[list[str], list[str]]:
    """Every resource of an n-resource world, interleaved across the 8 types."""
    by_type = World(WorldSize(nekt_resources=n)).nekt_resources()
    rows = [(r["id"], rtype) for rtype, items in by_type.items() for r in items]
    rows.sort(key=lambda row: row[0])  # mix the types within every chunk
    return [r[0] for r in rows], [r[1] for r in rows]
