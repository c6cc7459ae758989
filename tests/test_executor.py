"""push(): retry policy, 429 handling, odd responses, cancel, journal calls, faults in the
sandbox ending in the exact expected state."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import httpx
import pytest
from conftest import KEYS, Sandbox

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.errors import AuthError
from tagging.executor import push as send
from tagging.journal import Journal
from tagging.plan import Plan, TagOperation, plan
from tagging.retry import RetryPolicy, next_delay, parse_retry_after
from tagging.values import BatchOutcome, Progress

# These tests are about sending (mock transports answer writes only); the read-back after a
# push is tests/test_verify.py's.
push = partial(send, verify=False)

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
P = {"projection_id": ATLAS_PROJECTION_ID}
OK = {"success": True, "tag_id": "t", "points_tagged": 0}


def atlas_plan(n: int, chunk: int, tags: tuple[str, ...] = ("t",)) -> Plan:
    return plan(TagOperation("atlas", "add", tags, [str(i) for i in range(n)], P), chunk_size=chunk)


def mock(handler: Callable[[httpx.Request], httpx.Response], provider: str = "atlas"):
    url = "https://immuta.example.com" if provider == "immuta" else None
    return connect(provider, url=url, key="k", transport=httpx.MockTransport(handler))


def atlas_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={**OK, "points_tagged": len(json.loads(request.content)["ids"])}
    )


# --- the retry policy as a pure function ------------------------------------------------


def delay(failures: int, rand: float = 0.0, **kw: object) -> float | None:
    args = {"rate_limited": False, "retry_after": None, "rate_limit_waited": 0.0, **kw}
    return next_delay(RetryPolicy(), failures=failures, rand=rand, **args)  # type: ignore[arg-type]


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    assert [delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0]
    assert [delay(n, rand=0.999999) for n in (1, 7)] == pytest.approx([0.5, 30.0], rel=1e-4)


def test_gives_up_after_eight_attempts() -> None:
    assert delay(7) is not None
    assert delay(8) is None


def test_retry_after_is_honoured_and_capped() -> None:
    assert delay(1, retry_after=3.0) == 3.0
    assert delay(1, retry_after=3600.0) == 60.0


def test_429_waits_retry_after_without_using_an_attempt_until_the_total_cap() -> None:
    assert delay(0, rate_limited=True, retry_after=2.0) == 2.0
    assert delay(8, rate_limited=True, retry_after=2.0) == 2.0  # attempts do not matter
    assert delay(0, rate_limited=True, retry_after=2.0, rate_limit_waited=299.0) is None
    assert delay(0, rate_limited=True, rand=0.0) == 0.25  # no Retry-After: backoff


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- push() with odd responses -----------------------------------------------------------


def test_5xx_then_success_is_retried_with_backoff() -> None:
    answers = iter([503, 500, 200])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            return atlas_ok(request)
        return httpx.Response(status, text="<html>upstream down</html>")

    reports: list[Progress] = []
    result = push(
        atlas_plan(3, 10), mock(handler), retry=FAST, sleep=sleeps.append, progress=reports.append
    )
    assert result.outcomes[0].status == "applied"
    assert result.outcomes[0].attempts == 3
    assert len(sleeps) == 2
    assert reports[-1] == Progress(1, 1, 3, 3, failed_ids=0, retries=2)


def test_429_waits_its_retry_after_and_does_not_use_up_attempts() -> None:
    answers = iter([429] * 5 + [502, 200])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": "slow"})
        return atlas_ok(request) if status == 200 else httpx.Response(status)

    policy = RetryPolicy(max_attempts=2, base_delay=0.001)
    result = push(atlas_plan(2, 10), mock(handler), retry=policy, sleep=sleeps.append)
    assert result.outcomes[0].status == "applied"
    assert result.outcomes[0].attempts == 7
    assert sleeps[:5] == [2.0] * 5


def test_connection_errors_are_retried() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            raise httpx.ConnectError("connection refused")
        return atlas_ok(request)

    result = push(atlas_plan(2, 10), mock(handler), retry=FAST, sleep=lambda s: None)
    assert result.outcomes[0].status == "applied"
    assert calls["n"] == 3


class FakeJournal:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start_job(self, plan: Plan) -> str:
        self.calls.append(("start", len(plan.batches)))
        return "job-1"

    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None:
        self.calls.append(("record", (outcome.index, outcome.status)))

    def finish_job(self, job_id: str, status: str) -> None:
        self.calls.append(("finish", status))


def test_a_provider_that_stays_down_interrupts_the_job_without_crashing() -> None:
    sent = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        sent["n"] += 1
        return httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")

    journal = FakeJournal()
    result = push(
        atlas_plan(50, 10),
        mock(handler),
        journal=journal,
        concurrency=1,
        retry=FAST,
        sleep=lambda s: None,
    )
    assert sent["n"] == 8  # tried 8 times; the request queued behind it was not sent
    assert [o.status for o in result.outcomes] == ["failed", "failed"]
    assert result.outcomes[1].reason == "not sent: an earlier request gave up, the API seems down"
    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert outcome.failed_ids == tuple(str(i) for i in range(10))
    assert outcome.reason == (
        "gave up after 8 attempts: HTTP 502 <html><h1>502 Bad Gateway</h1></html>"
    )
    assert journal.calls == [
        ("start", 5),
        ("record", (0, "failed")),
        ("record", (1, "failed")),
        ("finish", "interrupted"),
    ]


def test_a_rejected_key_aborts_the_push() -> None:
    journal = FakeJournal()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Could not validate credentials"})

    with pytest.raises(AuthError, match="check NOMIC_API_KEY"):
        push(atlas_plan(30, 10), mock(handler), journal=journal, retry=FAST)
    assert journal.calls[0] == ("start", 3)
    assert journal.calls[-1] == ("finish", "interrupted")


def test_cancel_stops_scheduling_new_batches() -> None:
    cancel = threading.Event()
    reports: list[Progress] = []
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return atlas_ok(request)

    def on_progress(p: Progress) -> None:
        reports.append(p)
        if p.done_batches == 2:
            cancel.set()

    journal = FakeJournal()
    result = push(
        atlas_plan(100, 10),
        mock(handler),
        journal=journal,
        concurrency=1,
        cancel=cancel,
        progress=on_progress,
    )
    assert result.cancelled
    done = [o.index for o in result.outcomes]
    # Batches already queued when cancel was set still end; no batch after them starts.
    assert done in ([0, 1], [0, 1, 2])
    assert len(sent) == len(done)
    assert journal.calls[-1] == ("finish", "interrupted")
    assert reports[0] == Progress(0, 10, 0, 100)
    assert reports[-1] == Progress(len(done), 10, 10 * len(done), 100)


def test_job_status_reflects_outcomes() -> None:
    def partial(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**OK, "points_tagged": 1})

    journal = FakeJournal()
    push(atlas_plan(4, 2), mock(partial), journal=journal)
    assert journal.calls[-1] == ("finish", "partial")
    journal = FakeJournal()
    push(atlas_plan(4, 2), mock(atlas_ok), journal=journal)
    assert journal.calls[-1] == ("finish", "done")
    journal = FakeJournal()
    push(
        atlas_plan(4, 2),
        mock(lambda r: httpx.Response(422, json={"detail": "bad"})),
        journal=journal,
    )
    assert journal.calls[-1] == ("finish", "failed")


def test_requests_run_concurrently_up_to_the_limit() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json=[])

    op = TagOperation("immuta", "add", ("Confidential",), range(1, 201), kinds="datasource")
    result = push(plan(op), mock(handler, "immuta"), concurrency=8)
    assert result.applied == 200
    assert 1 < state["peak"] <= 8


def test_plan_and_connection_must_agree() -> None:
    from tagging.errors import ConfigError

    with pytest.raises(ConfigError, match="this plan is for atlas"):
        push(atlas_plan(1, 1), connect("nekt"))


# --- against the real sandbox, with the real journal ----------------------------------------


def test_journal_records_the_job(sandbox: Sandbox, tmp_path) -> None:
    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    journal = Journal(tmp_path / "journal.db")
    result = push(atlas_plan(25, 10), conn, journal=journal)
    assert result.job_id is not None
    [job] = journal.jobs()
    assert (job["id"], job["status"]) == (result.job_id, "done")
    assert [b["status"] for b in journal.batches(result.job_id)] == ["applied"] * 3


def test_faults_still_end_in_the_exact_state(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory("--fail-rate", "0.3", "--seed", "1")
    ids = [str(i) for i in range(0, 5000, 3)]
    atlas = connect("atlas", url=sb.api("atlas"), key=KEYS["atlas"])
    op = TagOperation("atlas", "add", ("a", "b"), ids, P)
    result = push(plan(op, chunk_size=100), atlas, retry=FAST)
    assert (result.applied, result.failed) == (len(ids), 0)
    assert sum(o.attempts for o in result.outcomes) > 2 * len(result.outcomes)  # retried
    state = sb.state()["atlas"][ATLAS_PROJECTION_ID]
    assert sorted(state["a"], key=int) == ids
    assert sorted(state["b"], key=int) == ids

    immuta = connect("immuta", url=sb.api("immuta"), key=KEYS["immuta"])
    models = [str(i) for i in range(1, 81)]
    op = TagOperation("immuta", "add", ("Confidential",), models, kinds="datasource")
    assert push(plan(op, chunk_size=25), immuta, retry=FAST).applied == 80
    tagged = {k for k, v in sb.state()["immuta"].items() if "Confidential" in v}
    assert tagged == {f"datasource:{m}" for m in models}

    nekt = connect("nekt", url=sb.api("nekt"), key=KEYS["nekt"])
    tables = [r["id"] for r in sb.world()["nekt"]["tables"]]
    op = TagOperation("nekt", "add", ("x",), tables, kinds="tables")
    assert push(plan(op, chunk_size=3), nekt, retry=FAST).applied == len(tables)
    assert {k for k, v in sb.state()["nekt"].items() if v == ["x"]} == set(tables)


def test_rate_limit_still_ends_in_the_exact_state(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory("--rate-limit", "20")
    immuta = connect("immuta", url=sb.api("immuta"), key=KEYS["immuta"])
    models = [str(i) for i in range(1, 51)]
    op = TagOperation("immuta", "add", ("Confidential",), models, kinds="datasource")
    result = push(plan(op), immuta)
    assert (result.applied, result.failed) == (50, 0)
    assert sum(o.attempts for o in result.outcomes) > 50  # some answers were 429
    tagged = {k for k, v in sb.state()["immuta"].items() if "Confidential" in v}
    assert tagged == {f"datasource:{m}" for m in models}
    remove = TagOperation("immuta", "remove", ("Confidential",), models, kinds="datasource")
    assert push(plan(remove), immuta).applied == 50
    assert [k for k, v in sb.state()["immuta"].items() if "Confidential" in v] == []
