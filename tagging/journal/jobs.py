"""Jobs from the journal's records: the plan again (for a resume), its inverse (for an undo),
and the runs that send them.

A resume sends pending and failed batches whole, and of a partly failed batch only its failed
ids; their outcomes are merged back into the whole batch's row. An undo sends the inverse
action on exactly what `replay.changed` says each batch changed, with that batch's own tags,
so a tag an id carried before the job stays.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from tagging.errors import JournalError
from tagging.journal.records import BatchRecord, JobRecord, now
from tagging.journal.replay import changed
from tagging.journal.storage import Storage
from tagging.status import batch_status
from tagging.values import Batch, BatchOutcome, JobStatus, Plan, Progress, PushResult, TagOperation

if TYPE_CHECKING:
    from tagging.config import Connection


class Journal(Protocol):
    """What resume and undo need of the journal (the facade), without importing it."""

    storage: Storage

    def start_job(
        self, plan: Plan, *, undo_of: str | None = None, actor: str | None = None
    ) -> str: ...
    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None: ...
    def finish_job(self, job_id: str, status: JobStatus | str) -> None: ...
    def load_plan(self, job_id: str, pending_only: bool = True) -> Plan: ...
    def undo_plan(self, job_id: str) -> Plan: ...


INVERSE = {"add": "remove", "remove": "add"}


def load_plan(job: JobRecord, batches: Sequence[BatchRecord], *, pending_only: bool) -> Plan:
    """The job's plan again; with pending_only, just what a resume must send.

    Pending and failed batches are sent whole; of a partly failed batch only its failed ids
    (older rows, which name failed ids without positions: the whole batch, which is safe as
    tag operations are idempotent). Batch indexes are kept, so outcomes land on the same rows.
    """
    out = []
    for b in batches:
        if pending_only and b.status not in ("pending", "failed") and not b.failed:
            continue
        batch = Batch(index=b.index, ids=b.ids, kinds=b.kinds, tags=b.tags)
        failed_at = resend_positions(b) if pending_only else None
        out.append(batch if failed_at is None else _subset(batch, failed_at))
    return _plan_from(job, out, job.action, known_state=job.known_state)


def undo_plan(job: JobRecord, batches: Sequence[BatchRecord], undone_by: str | None) -> Plan:
    """The inverse operation on exactly the ids the job changed, each with exactly the tags
    its batch applied."""
    if undone_by is not None:
        raise JournalError(f"job {job.id} was already undone by job {undone_by}")
    # Changed ids (and kinds) per tag set, tag sets in order of their first batch.
    groups: dict[tuple[str, ...] | None, tuple[list[str], list[str]]] = {}
    per_id_kinds = all(b.kinds is not None for b in batches)
    for b in batches:
        changed_ids, changed_kinds = changed(b, job.kind)
        if len(changed_ids):
            group_ids, group_kinds = groups.setdefault(b.tags, ([], []))
            group_ids.extend(changed_ids.tolist())
            group_kinds.extend(changed_kinds.tolist())  # aligned with ids by position
    if not groups:
        raise JournalError(f"job {job.id} changed nothing, so there is nothing to undo")
    out: list[Batch] = []
    for tags, (ids, kinds) in groups.items():
        size = job.chunk_size or len(ids)
        out.extend(
            Batch(
                index=len(out) + n,
                ids=tuple(ids[start : start + size]),
                kinds=tuple(kinds[start : start + size]) if per_id_kinds else None,
                tags=tags,
            )
            for n, start in enumerate(range(0, len(ids), size))
        )
    return _plan_from(job, out, INVERSE[job.action], known_state=job.known_state)


def undo_warning(job: JobRecord) -> str | None:
    if job.known_state:
        return None
    before = "tagged" if job.action == "add" else "untagged"
    return (
        f"job {job.id} was planned without the prior state, so undo also reverses ids that "
        f"were already {before} before it"
    )


def resume(
    journal: Journal,
    job_id: str,
    conn: Connection,
    progress: Callable[[Progress], None] | None,
) -> PushResult:
    """Send the job's unfinished batches; their outcomes land on the same job."""
    from tagging.executor import push

    plan = journal.load_plan(job_id, pending_only=True)
    _check_provider(plan, conn)
    if not plan.batches:
        journal.finish_job(job_id, "done")
        return PushResult(job_id=job_id)
    journal.storage.mark_running(job_id, socket.gethostname(), os.getpid(), now())
    resent = {
        b.index: at
        for b in journal.storage.batches(job_id)
        if (at := resend_positions(b)) is not None
    }
    target = _Resent(journal, resent) if resent else journal
    return push(plan, conn, journal=target, job_id=job_id, progress=progress)


def undo(
    journal: Journal,
    job_id: str,
    conn: Connection,
    progress: Callable[[Progress], None] | None,
) -> PushResult:
    from tagging.executor import push

    plan = journal.undo_plan(job_id)
    _check_provider(plan, conn)
    undo_id = journal.start_job(plan, undo_of=job_id)
    return push(plan, conn, journal=journal, job_id=undo_id, progress=progress)


def resend_positions(batch: BatchRecord) -> tuple[int, ...] | None:
    """The failed positions of a partly failed batch (a resume sends just those), or None:
    send the whole batch (pending, failed, or an older row without positions)."""
    if batch.status != "partial" or not batch.failed:
        return None
    return batch.failed_at


def merged(row: BatchRecord, outcome: BatchOutcome, sent: Sequence[int]) -> BatchOutcome:
    """The whole batch's outcome once the failed ids at `sent` were sent again: the new
    outcome put back at those positions, the earlier one kept for the rest."""
    ids = row.ids
    sub_ids = [ids[at] for at in sent]
    failed = [sent[n] for n in _positions_in(sub_ids, outcome.failed_ids, outcome.failed_at)]
    missing = sorted(
        list(row.not_found_at or ())
        + [sent[n] for n in _positions_in(sub_ids, outcome.not_found_ids, outcome.not_found_at)]
    )
    not_found = row.not_found + outcome.not_found
    return replace(
        outcome,
        status=batch_status(len(ids), len(failed), not_found),
        applied=row.applied + outcome.applied,
        not_found=not_found,
        not_found_ids=tuple(ids[at] for at in missing),
        failed_ids=tuple(ids[at] for at in failed),
        not_found_at=tuple(missing),
        failed_at=tuple(failed),
    )


class _Resent:
    """The journal as a resume that sends only the failed ids of partly failed batches sees
    it: those batches' outcomes are merged back into their whole rows."""

    def __init__(self, journal: Journal, sent: Mapping[int, Sequence[int]]) -> None:
        self.journal = journal
        self.sent = sent

    def start_job(self, plan: Plan) -> str:
        return self.journal.start_job(plan)

    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None:
        sent = self.sent.get(outcome.index)
        if sent is not None:
            [row] = self.journal.storage.batches(job_id, outcome.index)
            outcome = merged(row, outcome, sent)
        self.journal.record_batch(job_id, outcome)

    def finish_job(self, job_id: str, status: JobStatus) -> None:
        self.journal.finish_job(job_id, status)


def _subset(batch: Batch, at: Sequence[int]) -> Batch:
    kinds = None if batch.kinds is None else tuple(batch.kinds[n] for n in at)
    return replace(batch, ids=tuple(batch.ids[n] for n in at), kinds=kinds)


def _positions_in(
    ids: Sequence[str], listed_ids: Sequence[str], listed_at: Sequence[int] | None
) -> list[int]:
    """Positions an outcome lists: its own, or (an outcome built without) those of its ids."""
    if listed_at is not None:
        return list(listed_at)
    listed = set(listed_ids)
    return [n for n, i in enumerate(ids) if i in listed]


def _plan_from(job: JobRecord, batches: list[Batch], action: str, *, known_state: bool) -> Plan:
    ids = [i for b in batches for i in b.ids]
    kinds: str | tuple[str, ...] | None = job.kind
    if batches and all(b.kinds is not None for b in batches):
        kinds = tuple(k for b in batches for k in (b.kinds or ()))
    op = TagOperation(
        provider=job.provider,
        action=action,  # type: ignore[arg-type]
        tags=job.tags,
        ids=ids,
        target=dict(job.target),
        kinds=kinds,
    )
    return Plan(
        operation=op,
        batches=tuple(batches),
        requested=len(ids),
        skipped=0,
        known_state=known_state,
        warnings=job.warnings,
    )


def _check_provider(plan: Plan, conn: Connection) -> None:
    provider = getattr(conn, "provider", plan.operation.provider)
    if provider != plan.operation.provider:
        raise JournalError(
            f"this job is for {plan.operation.provider}, but the connection is to {provider}"
        )
