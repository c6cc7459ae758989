"""The connection stack behind every Connection: connections reused across threads and
pushes, a cap that makes requests wait (or time out) rather than open more, and a push that
works from inside a running event loop (a Jupyter cell)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import KEYS, Sandbox

from tagging.config import connect
from tagging.executor import push
from tagging.plan import TagOperation, plan
from tagging.pool import ConnectionStack

BODY = [{"name": "Confidential", "source": "curated"}]


def immuta_client(sb: Sandbox, stack: ConnectionStack, pool_timeout: float = 30) -> httpx.Client:
    return httpx.Client(
        base_url=sb.api("immuta"),
        headers={"Authorization": KEYS["immuta"]},
        timeout=httpx.Timeout(30, pool=pool_timeout),
        transport=stack,
    )


def test_requests_from_many_threads_share_at_most_the_cap_of_connections(sandbox: Sandbox) -> None:
    stack = ConnectionStack(max_connections=4)
    with immuta_client(sandbox, stack) as client:

        def tag(model_id: int) -> int:
            return client.post(f"/tag/datasource/{model_id}", json=BODY).status_code

        with ThreadPoolExecutor(8) as threads:
            codes = list(threads.map(tag, [6, 22, 523] * 20))
        assert codes == [200] * 60
        assert 1 <= stack.connections <= 4
    assert stack.connections == 0  # closed with the client
    state = sandbox.state()["immuta"]
    assert all("Confidential" in state[f"datasource:{i}"] for i in (6, 22, 523))


def test_a_request_waits_for_a_free_connection_and_times_out_when_none_frees(
    sandbox: Sandbox,
) -> None:
    stack = ConnectionStack(max_connections=1)
    with immuta_client(sandbox, stack, pool_timeout=0.2) as client:
        with client.stream("GET", "/tag") as held:  # its connection is lent until closed
            with pytest.raises(httpx.PoolTimeout):
                client.get("/tag")
            assert held.status_code == 200
        assert client.get("/tag").status_code == 200  # given back on close
        assert stack.connections == 1


def test_a_push_inside_a_running_event_loop_tags_every_model(sandbox: Sandbox) -> None:
    """A notebook cell runs inside Jupyter's event loop: push is a plain blocking call there."""
    conn = connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"])
    models = [str(i) for i in range(1, 81)]
    op = TagOperation("immuta", "add", ("Confidential",), models, kinds="datasource")

    async def cell() -> int:
        asyncio.get_running_loop()  # we are inside the loop, as a notebook cell is
        return push(plan(op, chunk_size=20), conn).applied

    with conn.client:
        assert asyncio.run(cell()) == 80
    state = sandbox.state()["immuta"]
    assert {k for k, tags in state.items() if "Confidential" in tags} >= {
        f"datasource:{i}" for i in models
    }
