"""5. Retries: the same Atlas push against a sandbox with `--fail-rate 0.2 --rate-limit N`
and against a fault-free one. Wall time vs the fault-free job, requests sent vs the minimum,
and the exact final state (read back from `/_sandbox/state`) must match."""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.atlas_loop import atlas_ids
from benchmarks.counting import RequestCounter
from benchmarks.results import Point, Result
from benchmarks.sandbox_process import SandboxProcess, sandbox
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.executor import push
from tagging.plan import TagOperation, plan

NAME = "retries"
TITLE = "Retries under faults"
CHUNK = 1_000
FAIL_RATE = 0.2
RATE_LIMIT = 20  # requests per second
SIZES = (10_000, 100_000)
QUICK_SIZES = (200, 2_000)
TAGS = ("bench", "bench-2")


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points = max(sizes)
    faults = ("--fail-rate", str(FAIL_RATE), "--rate-limit", str(RATE_LIMIT), "--seed", "7")
    clean: dict[int, tuple[float, int, Any]] = {}
    faulty: dict[int, tuple[float, int, Any]] = {}
    statuses: dict[int, int] = {}
    with sandbox("--atlas-points", str(points)) as sb:
        for n in sizes:
            clean[n] = _job(sb, n)
    with sandbox("--atlas-points", str(points), *faults) as sb:
        for n in sizes:
            faulty[n] = _job(sb, n, statuses)
    minimum = {n: math.ceil(n / CHUNK) * len(TAGS) for n in sizes}
    exact = all(faulty[n][2] == clean[n][2] == _expected(n) for n in sizes)
    time_points = [Point(n, faulty[n][0], clean[n][0]) for n in sizes]
    request_points = [Point(n, faulty[n][1], minimum[n]) for n in sizes]
    last = sizes[-1]
    notes = {
        "fail_rate": FAIL_RATE,
        "rate_limit_per_s": RATE_LIMIT,
        "final_state_exact": exact,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "clean_requests": clean[last][1],
    }
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"wall time with faults / without ({last:,} ids, state exact)",
            unit="s",
            target=None,
            points=time_points,
            notes=notes,
            check=exact,
        ),
        Result.at_largest(
            scenario=f"{NAME}.requests",
            metric="requests sent with faults / minimum (429s and 5xx included)",
            unit="requests",
            target=None,
            points=request_points,
            notes={"expected_from_fail_rate": round(1 / (1 - FAIL_RATE), 3)},
            check=exact,
        ),
    ]


def _job(
    sb: SandboxProcess, n: int, statuses: dict[int, int] | None = None
) -> tuple[float, int, Any]:
    """(seconds, requests sent, final Atlas state) of one push of n ids with two tags."""
    sb.reset()
    op = TagOperation(
        provider="atlas",
        action="add",
        tags=TAGS,
        ids=atlas_ids(n),
        target={"projection_id": ATLAS_PROJECTION_ID},
    )
    with sb.connect("atlas") as conn:
        counter = RequestCounter(conn.client)
        start = time.perf_counter()
        result = push(plan(op, chunk_size=CHUNK), conn)
        seconds = time.perf_counter() - start
    if result.applied != n * 1 or result.failed:
        raise RuntimeError(f"push applied {result.applied} of {n}, failed {result.failed}")
    if statuses is not None:
        for code, count in counter.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    return seconds, counter.count, sb.state()["atlas"]


def _expected(n: int) -> dict[str, dict[str, list[str]]]:
    ids = atlas_ids(n)
    return {ATLAS_PROJECTION_ID: {tag: ids for tag in TAGS}}
