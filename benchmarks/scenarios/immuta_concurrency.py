"""3. Immuta: tag 2,000 data sources with 20 ms injected latency. The executor's concurrent
push against two baselines sending the same `POST /tag/datasource/{id}` calls: one request at
a time, and the loop a user would write instead, an `httpx.AsyncClient` with the same
concurrency.

The push is measured without its read-back (`verify=False`): the baselines do not read back
either. The read-back's cost is reported in the notes.
"""

from __future__ import annotations

import asyncio
from functools import partial

import httpx

from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.timing import best_of, best_of_pair, repeats_for
from tagging import providers
from tagging.demo import SANDBOX_KEYS
from tagging.executor import push
from tagging.plan import TagOperation, plan

NAME = "immuta_concurrency"
TITLE = "Immuta concurrent push"
TAG = "Confidential"  # a seeded leaf tag
BODY = [{"name": TAG, "source": "curated"}]
LATENCY_MS = 20
SIZES = (200, 2_000)
QUICK_SIZES = (20, 100)
NARROW = 32  # the default before the paired runs that chose 64, for comparison


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    flags = ("--immuta-datasources", str(max(sizes)), "--latency-ms", str(LATENCY_MS))
    concurrency = providers.get("immuta").default_concurrency
    speedups: list[Point] = []
    versus_async: list[Point] = []
    with sandbox(*flags) as sb:
        for n in sizes:
            ids = [str(i) for i in range(1, n + 1)]
            executor, peer = best_of_pair(
                partial(_executor_push, sb, ids),
                partial(_async_loop, sb, ids, concurrency),
                repeats_for(n, quick),
                sb.reset,
            )
            sequential = best_of(partial(_one_at_a_time, sb, ids), 1, sb.reset)
            # Stored as (sequential, executor): the figure is a speed-up.
            speedups.append(Point(n, sequential, executor))
            versus_async.append(Point(n, executor, peer))
        # What the earlier default would give (the default is a provider setting), and what
        # the read-back after a push (one `GET /dataSource/{id}/tags` per model) adds.
        narrow = best_of(partial(_executor_push, sb, ids, NARROW), 1, sb.reset)
        verified = best_of(partial(_executor_push, sb, ids, verify=True), 1, sb.reset)
    last, peer_last = speedups[-1], versus_async[-1]
    notes = {
        "latency_ms": LATENCY_MS,
        "default_concurrency": concurrency,
        "executor_s": round(last.baseline, 3),
        "one_at_a_time_s": round(last.measured, 3),
        "async_loop_s": round(peer_last.baseline, 3),
        f"speedup_at_concurrency_{NARROW}": round(last.measured / narrow, 2),
        "push_with_read_back_s": round(verified, 3),
    }
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"speed-up: {last.size:,} one-at-a-time requests / executor push",
            unit="s",
            target=Target(">=", 20),
            points=speedups,
            notes=notes,
        ),
        Result.at_largest(
            scenario=f"{NAME}.vs_async",
            metric=(
                f"executor push of {last.size:,} models / hand-written httpx.AsyncClient loop "
                f"({concurrency} at a time)"
            ),
            unit="s",
            target=Target("<=", 1.2),
            points=versus_async,
            notes={k: notes[k] for k in ("default_concurrency", "executor_s", "async_loop_s")},
        ),
    ]


def _executor_push(
    sb: SandboxProcess, ids: list[str], concurrency: int | None = None, *, verify: bool = False
) -> None:
    op = TagOperation(provider="immuta", action="add", tags=(TAG,), ids=ids, kinds="datasource")
    with sb.connect("immuta") as conn:
        result = push(plan(op), conn, concurrency=concurrency, verify=verify)
    if result.applied != len(ids):
        raise RuntimeError(f"executor applied {result.applied} of {len(ids)}")


def _one_at_a_time(sb: SandboxProcess, ids: list[str]) -> None:
    headers = {"Authorization": SANDBOX_KEYS["immuta"]}
    with httpx.Client(base_url=sb.api("immuta"), headers=headers, timeout=60) as client:
        for model_id in ids:
            client.post(f"/tag/datasource/{model_id}", json=BODY).raise_for_status()


def _async_loop(sb: SandboxProcess, ids: list[str], concurrency: int) -> None:
    """The peer: `concurrency` tasks over one AsyncClient, each taking the next id. (Of the
    usual forms this measured fastest: a Semaphore over one task per id, or a pool sized to
    the concurrency, cost httpcore more bookkeeping per request.)"""
    headers = {"Authorization": SANDBOX_KEYS["immuta"]}

    async def main() -> None:
        pending = iter(ids)
        async with httpx.AsyncClient(
            base_url=sb.api("immuta"), headers=headers, timeout=60
        ) as client:

            async def worker() -> None:
                for model_id in pending:
                    response = await client.post(f"/tag/datasource/{model_id}", json=BODY)
                    response.raise_for_status()

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())
