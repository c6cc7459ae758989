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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from tagging.errors import JournalError, PriorStateUnknown
from tagging.id_list import joined
from tagging.journal.locks import Action
from tagging.journal.records import BatchRecord, JobRecord, now
from tagging.journal.replay import changed_at, kinds_of
from tagging.journal.storage import Storage
from tagging.membership import isin
from tagging.status import batch_status
from tagging.values import (
    Batch,
    BatchCheck,
    BatchOutcome,
    JobStatus,
    Plan,
    Progress,
    PushResult,
    TagOperation,
)

if TYPE_CHECKING:
    import pandas as pd

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
    def verify_job(self, job_id: str, conn: Connection) -> list[BatchCheck] | None: ...
    def undo_preview(self, job_id: str) -> UndoPlan: ...
    def hold(self, job_id: str, action: Action) -> None: ...
    def release(self, job_id: str) -> None: ...


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


@dataclass(frozen=True)
class UndoPlan:
    """An undo's plan, and how many of its items' prior state nothing knew (the job was
    planned without a read-back of them and no earlier job confirmed their state)."""

    plan: Plan
    unknown: int


def undo_plan(
    job: JobRecord,
    batches: Sequence[BatchRecord],
    undone_by: str | None,
    before: pd.DataFrame | None = None,
) -> UndoPlan:
    """The inverse operation on what the job changed, tag by tag, given the best known prior
    state: what `replay.changed` says each batch changed, minus any (id, tag) an earlier job
    had confirmed already in the job's end state (`before`: `replay.last_changes` of the jobs
    before this one). An item carried a tag before the job, so this undo never removes it."""
    import pandas as pd

    if undone_by is not None:
        raise JournalError(f"job {job.id} was already undone by job {undone_by}")
    keyed = before is not None and len(before) > 0
    # Ids (and kinds) per tag subset to reverse, subsets in order of their first batch.
    groups: dict[tuple[str, ...] | None, tuple[list[str], list[str]]] = {}
    unknown = 0
    for b in batches:
        kept = changed_at(b)
        if not kept.any():
            continue
        ids = np.asarray(b.ids, dtype=object)[kept]
        kinds = kinds_of(b, job.kind)[kept]
        tags = b.tags if b.tags is not None else job.tags
        keys = _keys(ids, kinds)
        reverse = np.zeros(len(ids), dtype=np.int64)  # bit j: reverse tags[j]
        unseen = np.zeros(len(ids), dtype=bool)
        for bit, tag in enumerate(tags):
            already = seen = np.zeros(len(ids), dtype=bool)
            if keyed:
                assert before is not None
                of_tag = before[before["tag"].to_numpy() == tag]
                seen = isin(keys, _frame_keys(of_tag))
                ended = of_tag[of_tag["add"].to_numpy() == (job.action == "add")]
                already = isin(keys, _frame_keys(ended))
            reverse |= (~already).astype(np.int64) << bit
            unseen |= ~already & ~seen
        recorded = _unknown(b, job)[kept]
        unknown += int((recorded & unseen & (reverse > 0)).sum())
        for code in pd.unique(reverse[reverse > 0]):
            chosen = reverse == code
            subset = tuple(t for bit, t in enumerate(tags) if int(code) >> bit & 1)
            key = b.tags if subset == tags else subset  # None stays "all the job's tags"
            group_ids, group_kinds = groups.setdefault(key, ([], []))
            group_ids.extend(ids[chosen].tolist())
            group_kinds.extend(kinds[chosen].tolist())  # aligned with ids by position
    if not groups:
        raise JournalError(f"job {job.id} changed nothing, so there is nothing to undo")
    per_id_kinds = all(b.kinds is not None for b in batches)
    out: list[Batch] = []
    for tags_, (ids_, kinds_) in groups.items():
        size = job.chunk_size or len(ids_)
        out.extend(
            Batch(
                index=len(out) + n,
                ids=tuple(ids_[start : start + size]),
                kinds=tuple(kinds_[start : start + size]) if per_id_kinds else None,
                tags=tags_,
                unknown_at=(),  # an undo's prior state is what the job left: known
            )
            for n, start in enumerate(range(0, len(ids_), size))
        )
    plan = _plan_from(job, out, INVERSE[job.action], known_state=True)
    return UndoPlan(replace(plan, state_source="journal"), unknown)


def _unknown(batch: BatchRecord, job: JobRecord) -> np.ndarray:
    """Positions whose prior state the plan did not know (older rows: all of them, unless
    the job was planned with known state)."""
    if batch.unknown_at is None:
        return np.full(len(batch.ids), not job.known_state, dtype=bool)
    mask = np.zeros(len(batch.ids), dtype=bool)
    mask[list(batch.unknown_at)] = True
    return mask


def _keys(ids: np.ndarray, kinds: np.ndarray) -> list[str]:
    return [f"{k}\x1f{i}" for k, i in zip(kinds.tolist(), ids.tolist(), strict=True)]


def _frame_keys(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    kinds = frame["kind"] if "kind" in frame.columns else pd.Series([None] * len(frame))
    return _keys(frame["id"].to_numpy(dtype=object), kinds.to_numpy(dtype=object))


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
    *,
    verify: bool = True,
) -> PushResult:
    """Send the job's unfinished batches; their outcomes land on the same job."""
    from tagging.executor import push

    journal.hold(job_id, "resume")  # released when the job is finished (push's finally)
    try:
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
    except BaseException:
        journal.release(job_id)
        raise
    target = _Resent(journal, resent) if resent else journal
    return push(plan, conn, journal=target, job_id=job_id, progress=progress, verify=verify)


def undo(
    journal: Journal,
    job_id: str,
    conn: Connection,
    progress: Callable[[Progress], None] | None,
    *,
    force: bool = False,
    verify: bool = True,
) -> PushResult:
    """Reverse a job as a new job. Raises PriorStateUnknown before sending anything when some
    items' prior state is unknown, unless `force`."""
    from tagging.executor import push

    journal.hold(job_id, "undo")  # the undone job: no resume or second undo meanwhile
    try:
        undo = journal.undo_preview(job_id)
        if undo.unknown and not force:
            raise PriorStateUnknown(job_id, undo.unknown)
        _check_provider(undo.plan, conn)
        undo_id = journal.start_job(undo.plan, undo_of=job_id)
        return push(
            undo.plan, conn, journal=journal, job_id=undo_id, progress=progress, verify=verify
        )
    finally:
        journal.release(job_id)


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

    def verify_job(self, job_id: str, conn: Connection) -> list[BatchCheck] | None:
        return self.journal.verify_job(job_id, conn)  # the whole job, merged rows and all


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
    ids = joined(b.ids for b in batches)  # one Arrow column when the batches hold theirs
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
