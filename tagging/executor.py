"""Runs a Plan: requests built lazily per batch, a bounded thread pool over one shared client,
retries per `RetryPolicy`, an outcome per batch to the journal and the progress callback.

Threads, not asyncio: `push` is a plain blocking call that works the same in a script, inside
Jupyter's running event loop and in Streamlit's script thread. Callbacks and journal writes
happen on the calling thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Protocol

from tagging import providers
from tagging.bounded import misshapen
from tagging.config import Connection
from tagging.errors import ConfigError, TaggingError
from tagging.id_list import picked
from tagging.progress_bar import ProgressCallback, progress_bar
from tagging.providers import Provider
from tagging.retry import RetryPolicy, send
from tagging.status import batch_status, job_status
from tagging.values import (
    ApiRequest,
    Batch,
    BatchOutcome,
    JobStatus,
    Plan,
    Progress,
    PushResult,
    RequestResult,
)
from tagging.workers import DaemonPool

JOURNAL_EVERY_S = 0.1  # outcomes that end within this are journaled together


class JournalLike(Protocol):
    def start_job(self, plan: Plan) -> str: ...
    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None: ...
    def finish_job(self, job_id: str, status: JobStatus) -> None: ...


def push(
    plan: Plan,
    conn: Connection,
    *,
    journal: JournalLike | None = None,
    job_id: str | None = None,
    progress: ProgressCallback | bool | None = None,
    concurrency: int | None = None,
    cancel: threading.Event | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    verify: bool = True,
) -> PushResult:
    """Send the plan's batches; the only step that talks to the API.

    With `verify` (the default) the sent ids are read back afterwards where the provider can
    read them (`result.verified`; see tagging.verify), and the journal records the check.

    `progress` is called with a Progress after each batch; `True` draws a tqdm bar
    (a widget in Jupyter, text in a terminal).

    Stops scheduling new batches when `cancel` is set or a batch gave up because the API
    stayed down (the job is then "interrupted" and can be resumed). A rejected key (401/403)
    raises AuthError after marking the job interrupted.
    """
    if progress is True:
        with progress_bar(plan) as bar:
            return push(
                plan,
                conn,
                journal=journal,
                job_id=job_id,
                progress=bar,
                concurrency=concurrency,
                cancel=cancel,
                retry=retry,
                sleep=sleep,
                verify=verify,
            )
    if conn.provider != plan.provider:
        raise ConfigError(
            f"this plan is for {plan.provider} but the connection is to {conn.provider}"
        )
    api = providers.get(plan.provider)
    if journal is not None and job_id is None:
        job_id = journal.start_job(plan)
    run = _Run(
        plan=plan,
        conn=conn,
        api=api,
        workers=max(1, concurrency or api.default_concurrency),
        policy=retry or RetryPolicy(),
        sleep=sleep,
        cancel=cancel or threading.Event(),
        result=PushResult(job_id),
        journal=journal,
        progress=progress or None,
    )
    status: JobStatus = "interrupted"
    try:
        run.execute()
        status = run.status()
    finally:
        run.result.outcomes.sort(key=lambda o: o.index)
        if journal is not None and job_id is not None:
            journal.finish_job(job_id, status)
    if verify and run.result.outcomes:
        if status == "interrupted":  # the API went away or the user stopped: resume verifies
            run.result.unverified_reason = "the job was interrupted; resume verifies it"
        else:
            _verify(plan, conn, journal, run.result)
    return run.result


def _verify(plan: Plan, conn: Connection, journal: JournalLike | None, result: PushResult) -> None:
    """The read-back: of the journaled job when the journal can record it, else of the result
    (a journal stand-in without `verify_job`, or none)."""
    from tagging import verify

    verify_job = getattr(journal, "verify_job", None)
    try:
        if verify_job is not None and result.job_id is not None:
            checks = verify_job(result.job_id, conn)
        else:
            checks = verify.check_result(plan, result, conn)
    except TaggingError as exc:  # what was sent stands; only the check could not be made
        result.unverified_reason = str(exc)
        return
    verify.apply(result, checks)


@dataclass
class _BatchRun:
    """One batch in flight: its request iterator and the answers so far."""

    batch: Batch
    requests: Iterator[ApiRequest]
    sent: int = 0
    exhausted: bool = False
    results: list[RequestResult] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.exhausted and len(self.results) == self.sent

    def outcome(self) -> BatchOutcome:
        return combine(self.batch, self.results)


def combine(batch: Batch, results: list[RequestResult]) -> BatchOutcome:
    """A batch's outcome from its requests' results (an id fails if any of its requests did).

    Ids are followed by their position in the batch: Immuta data source 6 and project 6 are
    the same id of two kinds, and only the one whose request failed has failed."""
    failed_set: set[int] = set()
    named_set: set[int] = set()
    where: dict[str, list[int]] = {}  # id -> positions, for results that do not carry `at`
    for r in results:
        if not r.failed and not r.not_found_ids:
            continue
        placed: Iterable[tuple[int, str]]
        if r.at:
            placed = zip(r.at, r.ids, strict=True)
        else:
            where = where or _positions(batch.ids)
            placed = ((at, i) for i in r.ids for at in where.get(i, ()))
        missing = set(r.not_found_ids)
        for at, i in placed:
            if i in missing:
                named_set.add(at)
            elif r.failed:
                failed_set.add(at)
    named_set -= failed_set
    # In the batch's own order, whatever order the requests finished in.
    failed_at = sorted(failed_set)
    named_at = sorted(named_set)
    failed = picked(batch.ids, failed_at)
    named = picked(batch.ids, named_at)
    reasons = [r.reason for r in results if r.failed]
    counted = max((r.not_found for r in results if not r.failed), default=0)
    not_found = len(named) if named else counted
    not_found = min(not_found, len(batch.ids) - len(failed))
    applied = len(batch.ids) - len(failed) - not_found
    return BatchOutcome(
        index=batch.index,
        status=batch_status(len(batch.ids), len(failed), not_found),
        applied=applied,
        not_found=not_found,
        not_found_ids=tuple(named),
        failed_ids=tuple(failed),
        reason=reasons[0] if reasons else "",
        attempts=sum(r.attempts for r in results),
        not_found_at=tuple(named_at),
        failed_at=tuple(failed_at),
    )


def _next(finished: queue.SimpleQueue[Future[RequestResult]]) -> Future[RequestResult]:
    """The next finished request; waits in short steps so Ctrl-C is seen at once."""
    while True:
        try:
            return finished.get(timeout=0.2)
        except queue.Empty:
            continue


def _positions(ids: Sequence[str]) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for at, i in enumerate(ids):
        where.setdefault(i, []).append(at)
    return where


@dataclass
class _Run:
    plan: Plan
    conn: Connection
    api: Provider
    workers: int
    policy: RetryPolicy
    sleep: Callable[[float], None]
    cancel: threading.Event
    result: PushResult
    journal: JournalLike | None
    progress: ProgressCallback | None
    interrupted: bool = False
    down: threading.Event = field(default_factory=threading.Event)
    done_ids: int = 0
    retries: int = 0
    unjournaled: list[BatchOutcome] = field(default_factory=list)
    journaled_at: float = field(default_factory=time.monotonic)

    def execute(self) -> None:
        batches = iter(self.plan.batches)
        current: _BatchRun | None = None
        inflight: dict[Future[RequestResult], _BatchRun] = {}
        # Finished requests arrive on a queue: O(1) per answer, where `wait()` on every
        # request in flight costs O(in flight) per answer (noticeable at 32+ in flight).
        finished: queue.SimpleQueue[Future[RequestResult]] = queue.SimpleQueue()
        self._report()
        pool = DaemonPool(self.workers, f"push-{self.plan.provider}")
        ended = False
        try:
            while True:
                # Keep a small window of requests queued: bodies are built only when needed.
                while len(inflight) < 2 * self.workers:
                    if current is None or current.exhausted:
                        current = self._start_batch(batches)
                        if current is None:
                            break
                    request = next(current.requests, None)
                    if request is None:
                        current.exhausted = True
                        if current.complete:  # a batch with no requests
                            self._finish(current)
                        continue
                    current.sent += 1
                    future = pool.submit(self._send, request)
                    inflight[future] = current
                    future.add_done_callback(finished.put)
                if not inflight:
                    break
                done = [_next(finished)]
                while not finished.empty():
                    done.append(finished.get())
                completed: list[_BatchRun] = []
                try:
                    for future in done:
                        owner = inflight.pop(future)
                        owner.results.append(future.result())  # AuthError propagates
                        if owner.complete:
                            completed.append(owner)
                finally:
                    self._finish(*completed)
            ended = True
        finally:
            # On Ctrl-C (or an error) hung requests are left behind: the job is resumable.
            pool.shutdown(wait=ended)
            self._journal_now()

    def _start_batch(self, batches: Iterator[Batch]) -> _BatchRun | None:
        if self.cancel.is_set():
            self.result.cancelled = True
            return None
        if self.interrupted:
            return None
        batch = next(batches, None)
        if batch is None:
            return None
        return _BatchRun(batch, self.api.requests(self.plan.operation, batch))

    def _send(self, request: ApiRequest) -> RequestResult:
        """One request (plus a follow-up without ids the API named as unknown)."""
        result = self._send_once(request)
        if result.followup is None:
            return result
        rest = self._send_once(result.followup)
        resent = set(rest.ids)
        named = tuple(i for i in request.ids if i not in resent)
        return replace(
            rest,
            ids=request.ids,
            at=request.at,
            not_found=len(named) + rest.not_found,
            not_found_ids=named + rest.not_found_ids,
            attempts=result.attempts + rest.attempts,
            followup=None,
        )

    def _send_once(self, request: ApiRequest) -> RequestResult:
        if self.down.is_set():  # queued before the API was found down: do not hammer it
            reason = "not sent: an earlier request gave up, the API seems down"
            return RequestResult(
                ids=request.ids, at=request.at, reason=reason, transient=True, attempts=0
            )
        sent = send(self.conn.client, request, self.policy, sleep=self.sleep)
        if sent.refused:
            return RequestResult(
                ids=request.ids, at=request.at, reason=sent.refused, attempts=sent.attempts
            )
        if sent.gave_up:
            self.down.set()
            return RequestResult(
                ids=request.ids,
                at=request.at,
                reason=sent.gave_up,
                transient=True,
                attempts=sent.attempts,
            )
        assert sent.response is not None
        try:
            result = self.api.read(request, sent.response)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # An answer not in the documented shape: this batch failed, nothing is counted.
            reason = f"HTTP {sent.response.status_code}: {misshapen(exc)}"
            result = RequestResult(ids=request.ids, reason=reason)
        return replace(result, at=request.at, attempts=sent.attempts)

    def _finish(self, *runs: _BatchRun) -> None:
        """Batches that ended together: journaled in one write, then reported one by one."""
        outcomes = []
        for run in runs:
            if any(r.transient for r in run.results):
                self.interrupted = True  # the API stays down: stop, leave the rest resumable
            self.retries += sum(max(0, r.attempts - 1) for r in run.results)
            outcomes.append(run.outcome())
        self._record(outcomes)
        for run, outcome in zip(runs, outcomes, strict=True):
            self.result.outcomes.append(outcome)
            self.done_ids += len(run.batch.ids)
            self._report()

    def _record(self, outcomes: list[BatchOutcome]) -> None:
        """Journal outcomes at most every JOURNAL_EVERY_S, several in one transaction where
        the journal offers it: a SQLite commit and checkpoint per batch was most of the
        journal's cost at 100 batches a second. An outcome not journaled yet when the process
        dies is sent again by a resume (tag operations are idempotent)."""
        self.unjournaled.extend(outcomes)
        if time.monotonic() - self.journaled_at >= JOURNAL_EVERY_S or self.interrupted:
            self._journal_now()

    def _journal_now(self) -> None:
        outcomes, self.unjournaled = self.unjournaled, []
        self.journaled_at = time.monotonic()
        if self.journal is None or self.result.job_id is None or not outcomes:
            return
        many = getattr(self.journal, "record_batches", None)
        if many is not None and len(outcomes) > 1:
            many(self.result.job_id, outcomes)
            return
        for outcome in outcomes:
            self.journal.record_batch(self.result.job_id, outcome)

    def _report(self) -> None:
        if self.progress is None:
            return
        self.progress(
            Progress(
                done_batches=len(self.result.outcomes),
                total_batches=len(self.plan.batches),
                done_ids=self.done_ids,
                total_ids=self.plan.to_send,
                failed_ids=self.result.failed,
                retries=self.retries,
            )
        )

    def status(self) -> JobStatus:
        outcomes = self.result.outcomes
        ended = Counter[str](o.status for o in outcomes)
        ended["pending"] = len(self.plan.batches) - len(outcomes)
        return job_status(ended, stopped=self.interrupted or self.result.cancelled)
