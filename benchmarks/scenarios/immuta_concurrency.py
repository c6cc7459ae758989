"""3. Immuta: tag 2,000 data sources with 20 ms injected latency. The executor's concurrent
push vs one request at a time (the same `POST /tag/datasource/{id}` calls)."""

from __future__ import annotations

from functools import partial

import httpx

from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.timing import best_of
from tagging import providers
from tagging.demo import SANDBOX_KEYS
from tagging.executor import push
from tagging.plan import TagOperation, plan

NAME = "immuta_concurrency"
TITLE = "Immuta concurrent push"
TAG = "Confidential"  # a seeded leaf tag
LATENCY_MS = 20
SIZES = (200, 2_000)
QUICK_SIZES = (20, 100)
WIDE = 64  # the connection pool's size


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    flags = ("--immuta-datasources", str(max(sizes)), "--latency-ms", str(LATENCY_MS))
    points: list[Point] = []
    concurrency = 0
    with sandbox(*flags) as sb:
        for n in sizes:
            ids = [str(i) for i in range(1, n + 1)]
            concurrent = best_of(partial(_executor_push, sb, ids), 1, sb.reset)
            sequential = best_of(partial(_one_at_a_time, sb, ids), 1, sb.reset)
            # Stored as (sequential, executor): the figure is a speed-up.
            points.append(Point(n, sequential, concurrent))
        # What a higher default would give (the default is a provider setting).
        wide = best_of(partial(_executor_push, sb, ids, WIDE), 1, sb.reset)
        concurrency = providers.get("immuta").default_concurrency
    last = points[-1]
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"speed-up: {last.size:,} one-at-a-time requests / executor push",
            unit="s",
            target=Target(">=", 20),
            points=points,
            notes={
                "executor_s": round(last.baseline, 3),
                "one_at_a_time_s": round(last.measured, 3),
                "latency_ms": LATENCY_MS,
                "default_concurrency": concurrency,
                f"speedup_at_concurrency_{WIDE}": round(last.measured / wide, 2),
            },
        )
    ]


def _executor_push(sb: SandboxProcess, ids: list[str], concurrency: int | None = None) -> None:
    op = TagOperation(provider="immuta", action="add", tags=(TAG,), ids=ids, kinds="datasource")
    with sb.connect("immuta") as conn:
        result = push(plan(op), conn, concurrency=concurrency)
    if result.applied != len(ids):
        raise RuntimeError(f"executor applied {result.applied} of {len(ids)}")


def _one_at_a_time(sb: SandboxProcess, ids: list[str]) -> None:
    body = [{"name": TAG, "source": "curated"}]
    headers = {"Authorization": SANDBOX_KEYS["immuta"]}
    with httpx.Client(base_url=sb.api("immuta"), headers=headers, timeout=60) as client:
        for model_id in ids:
            client.post(f"/tag/datasource/{model_id}", json=body).raise_for_status()
