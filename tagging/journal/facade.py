"""`Journal`: every job and batch, for history, resume, undo and coverage.

A job (provider, target, action, tags, actor) and all its batches are written before the
first request, each batch's outcome after it. Where they live is the storage's business: a
SQLite file for a path, PostgreSQL for a postgresql:// URL. No key is ever stored: the
journal never sees a Connection's key.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

import tagging.journal.jobs as _jobs
from tagging import providers
from tagging.errors import JournalError
from tagging.journal.exports import EXPORT_FORMATS, ExportFormat, job_dict, job_table
from tagging.journal.locks import Action, Heartbeat, Holder, JobLocked
from tagging.journal.records import BatchRecord, JobRecord, NewBatch, NewJob, canonical, now
from tagging.journal.replay import Change, changes, last_changes, state
from tagging.journal.storage import POSTGRES_SCHEMES, Storage
from tagging.status import job_status
from tagging.values import BatchCheck, BatchOutcome, JobStatus, Plan, Progress, PushResult

if TYPE_CHECKING:
    import pandas as pd

    from tagging.config import Connection

DEFAULT_PATH = ".tagging/journal.db"
ACTOR_VAR = "TAGGING_USER"


def actor_of(explicit: str | None = None) -> str:
    """Who runs a job: $TAGGING_USER, else the caller's word (the app's signed-in user),
    else the OS user."""
    named = os.environ.get(ACTOR_VAR, "").strip() or (explicit or "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment (a bare container)
        return "unknown"


class Journal:
    """Every job and batch, in a SQLite file (WAL) or PostgreSQL. Safe to share between
    threads. `actor` is who runs the jobs started through this handle (see `actor_of`)."""

    def __init__(
        self, location: str | os.PathLike[str] = DEFAULT_PATH, *, actor: str | None = None
    ) -> None:
        self.storage: Storage = open_storage(location)
        self.location = self.storage.where  # never holds a password
        self.actor = actor
        self._leases: dict[str, tuple[Holder, Heartbeat]] = {}
        self._leases_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The SQLite file (a PostgreSQL journal has none)."""
        path = getattr(self.storage, "path", None)
        if path is None:
            raise JournalError(f"the journal at {self.location} is not a file")
        return Path(path)

    def __repr__(self) -> str:
        return f"Journal({self.location!r})"

    def close(self) -> None:
        for job_id in list(self._leases):
            self.release(job_id)
        self.storage.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing (called by the executor) -------------------------------------------------

    def start_job(self, plan: Plan, *, undo_of: str | None = None, actor: str | None = None) -> str:
        """Record the job and every batch as pending, before any request is sent."""
        op = plan.operation
        job = NewJob(
            id=uuid.uuid4().hex[:12],
            created_at=now(),
            provider=op.provider,
            target=canonical(op.target),
            action=op.action,
            tags=tuple(op.tags),
            kind=op.kinds if isinstance(op.kinds, str) else None,  # one kind for all ids
            known_state=plan.known_state,
            chunk_size=max((len(b.ids) for b in plan.batches), default=None),
            requested=plan.requested,
            skipped=plan.skipped,
            warnings=tuple(plan.warnings),
            undo_of=undo_of,
            host=socket.gethostname(),
            pid=os.getpid(),
            actor=actor_of(actor or self.actor),
            state_source=plan.state_source,
        )
        batches = [NewBatch(b.index, b.ids, b.kinds, b.tags, b.unknown_at) for b in plan.batches]
        self.storage.add_job(job, batches)
        self.hold(job.id, "undo" if undo_of else "push")  # released by finish_job
        return job.id

    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None:
        """Store how one batch ended (a resent batch overwrites its earlier outcome)."""
        if not self.storage.record_batch(job_id, outcome, now()):
            raise JournalError(f"no batch {outcome.index} of job {job_id!r} in the journal")

    def record_batches(self, job_id: str, outcomes: Sequence[BatchOutcome]) -> None:
        """Store several batches' outcomes in one transaction."""
        missing = self.storage.record_batches(job_id, outcomes, now())
        if missing:
            raise JournalError(f"no batch {missing[0]} of job {job_id!r} in the journal")

    def verify_job(self, job_id: str, conn: Connection) -> list[BatchCheck] | None:
        """Read the job's sent ids back and record per batch what was found (see verify)."""
        from tagging.verify import Sent, compare, positions

        job = self._job(job_id)
        sent = [
            Sent(
                b.index,
                b.ids,
                tuple(b.kinds) if b.kinds is not None else (job.kind,) * len(b.ids),
                b.tags if b.tags is not None else job.tags,
                positions(b.ids, b.failed_ids, b.failed_at),
                positions(b.ids, b.not_found_ids, b.not_found_at),
                b.not_found,
            )
            for b in self.storage.batches(job_id)
            if b.status != "pending"
        ]
        checks = compare(conn, job.provider, dict(job.target), job.action, sent)
        self.storage.record_verifications(job_id, checks or ())
        return checks

    def finish_job(self, job_id: str, status: JobStatus | str) -> None:
        """Close a job. Unless it was interrupted, its status follows from all its batches."""

        def decide(by_status: Mapping[str, int]) -> str:
            return job_status(by_status, stopped=status == "interrupted")

        try:
            if not self.storage.finish_job(job_id, decide, now()):
                raise JournalError(f"no job {job_id!r} in the journal at {self.location}")
        finally:
            self.release(job_id)

    def ready(self) -> None:
        """Raise JournalError (one line saying what to do) when no job may start here: the
        journal is read-only, or damaged (then `journal check` and `journal recover`)."""
        self.storage.ready()

    # --- one job, one runner (locks.py) ---------------------------------------------------

    def hold(self, job_id: str, action: Action) -> None:
        """Take the job's lease for this handle (JobLocked when another runner has it)."""
        with self._leases_lock:
            if job_id in self._leases:
                return
            holder = self.storage.take_lock(job_id, action)
            beat = Heartbeat(lambda: self.storage.beat_lock(holder))
            self._leases[job_id] = (holder, beat)

    def release(self, job_id: str) -> None:
        with self._leases_lock:
            lease = self._leases.pop(job_id, None)
        if lease is not None:
            holder, beat = lease
            beat.stop()
            self.storage.drop_lock(holder)

    def holder(self, job_id: str) -> str | None:
        """Why this job cannot be resumed or undone now (another runner has it), or None."""
        holder = self.storage.lock_holder(job_id)
        mine = self._leases.get(job_id)
        if holder is None or (mine is not None and mine[0].owner == holder.owner):
            return None
        return holder.reason

    def check_free(self, job_id: str) -> None:
        """Raise JobLocked (one line naming the holder) when another runner has the job."""
        reason = self.holder(job_id)
        if reason is not None:
            raise JobLocked(reason)

    # --- reading --------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """All jobs, newest first, in the `jobs --json` shape."""
        counts = self.storage.counts()
        return [job_dict(job, counts.get(job.id)) for job in self.storage.jobs()]

    def job_count(self) -> int:
        """How many jobs there are (cheap: no per-job counts), e.g. to notice a new one."""
        return self.storage.job_count()

    def job(self, job_id: str) -> dict[str, Any]:
        """One job in the `jobs --json` shape, plus known_state, undo_of and warnings."""
        job = self._job(job_id)
        out = job_dict(job, self.storage.counts(job_id).get(job_id))
        out["known_state"] = job.known_state
        out["undo_of"] = job.undo_of
        out["warnings"] = list(job.warnings)
        return out

    def undone_by(self, job_id: str) -> str | None:
        """The job that undid this one, or None."""
        return self.storage.undone_by(job_id)

    def undo_links(self) -> dict[str, str]:
        """Every undone job -> the job that undid it (one read for a whole job list)."""
        return {job.undo_of: job.id for job in self.storage.jobs() if job.undo_of}

    def batches(self, job_id: str) -> list[dict[str, Any]]:
        """Every batch of a job with its ids and outcome, in order."""
        return [b.as_dict() for b in self._batches(job_id)]

    def load_plan(self, job_id: str, pending_only: bool = True) -> Plan:
        """The job's plan again; with pending_only, just what a resume must send."""
        return _jobs.load_plan(
            self._job(job_id), self.storage.batches(job_id), pending_only=pending_only
        )

    def undo_warning(self, job_id: str) -> str | None:
        """Why an undo of this job may not restore the prior state exactly, or None."""
        try:
            unknown = self.undo_preview(job_id).unknown
        except JournalError as exc:
            if str(exc).startswith("no job"):
                raise
            return None  # nothing to undo, or undone already: undo itself says so
        if not unknown:
            return None
        return (
            f"{unknown} items' prior state is unknown (job {job_id} was planned without "
            "reading it back): undo would reverse them even if they carried the tags before"
        )

    # --- resume and undo ------------------------------------------------------------------

    def resume(
        self,
        job_id: str,
        conn: Connection,
        progress: Callable[[Progress], None] | None = None,
        *,
        verify: bool = True,
    ) -> PushResult:
        """Send the job's unfinished batches; their outcomes land on the same job."""
        return _jobs.resume(self, job_id, conn, progress, verify=verify)

    def undo_plan(self, job_id: str) -> Plan:
        """The inverse operation on what the job changed, never reversing a tag an item
        carried before it (see `undo_preview` for how many items' prior state is unknown)."""
        return self.undo_preview(job_id).plan

    def undo_preview(self, job_id: str) -> _jobs.UndoPlan:
        """The undo's plan and how many of its items' prior state is unknown."""
        job = self._job(job_id)
        self.check_free(job_id)  # what a running job changed is not known yet
        return _jobs.undo_plan(
            job, self.storage.batches(job_id), self.storage.undone_by(job_id), self._before(job)
        )

    def undo(
        self,
        job_id: str,
        conn: Connection,
        progress: Callable[[Progress], None] | None = None,
        *,
        force: bool = False,
        verify: bool = True,
    ) -> PushResult:
        """Reverse a job as a new job. Raises PriorStateUnknown (nothing sent) when some
        items' prior state is unknown, unless `force`; JournalError for a job still running."""
        self.check_free(job_id)  # another runner holds it: say who
        if job_dict(self._job(job_id), None)["status"] == "running":
            raise JournalError(f"job {job_id} is still running: undo it once it has ended")
        return _jobs.undo(self, job_id, conn, progress, force=force, verify=verify)

    def _before(self, job: JobRecord) -> pd.DataFrame:
        """What the journal knew just before `job`: the last change of each (kind, id, tag)
        by the jobs before it."""
        import pandas as pd

        batches = self.storage.confirmed(job.provider, canonical(job.target))
        if not batches:
            return pd.DataFrame()
        by_id = {j.id: j for j in self.storage.jobs()}
        earlier = [b for b in batches if by_id[b.job_id].seq < job.seq]
        typed = bool(providers.get(job.provider).kinds)
        return last_changes(changes(earlier, by_id), with_kind=typed)

    # --- state and exports ----------------------------------------------------------------

    def changes(self, provider: str, target: Mapping[str, Any] | None = None) -> Iterator[Change]:
        """What each confirmed batch of a provider's jobs changed, in the order confirmed."""
        batches = self.storage.confirmed(provider, None if target is None else canonical(target))
        by_id = {job.id: job for job in self.storage.jobs()} if batches else {}
        return changes(batches, by_id)

    def state_for(
        self,
        provider: str,
        target: Mapping[str, Any] | None = None,
        ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Tags the journal says each id carries: its jobs replayed in order (long frame
        ["id", "tag"], plus "kind" for Nekt and Immuta, whose ids are only unique within a
        kind; None for batches journaled without kinds). Only ids the API confirmed count;
        state set outside the journal is not seen."""
        typed = bool(providers.get(provider).kinds)  # ids repeat across kinds: keep the kind
        return state(self.changes(provider, target), with_kind=typed, ids=ids)

    def touched(self, provider: str, target: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Every (kind, id, tag) a confirmed change touched, with the last one's direction:
        ["id", "tag"(, "kind"), "add"]. What the journal knows, tagged or not."""
        typed = bool(providers.get(provider).kinds)
        return last_changes(self.changes(provider, target), with_kind=typed)

    def job_frame(self, job_id: str) -> pd.DataFrame:
        """One row per id of a job: batch, kind and result (applied, not_found, failed,
        pending, or sent: accepted by an API that only counts unknown ids)."""
        table = self.job_table(job_id).select(["id", "kind", "batch", "result"])
        frame = table.to_pandas()
        return frame.astype({"id": "str", "kind": "str", "result": "str", "batch": "int64"})

    def job_table(self, job_id: str) -> pa.Table:
        """The job as an arrow table, one row per id: job_id, provider, action, tags (its
        batch's own, ";"-joined: known state may have left some of the job's out), id,
        kind, batch, result. Built per batch as arrays (a million ids: no Python rows)."""
        return job_table(self.job(job_id), self._batches(job_id))

    def export_job(self, job_id: str, fmt: ExportFormat = "csv") -> bytes:
        """One job for download: a row per id as formula-safe CSV or as Parquet, or JSON
        with its batches."""
        from tagging.export import table_to_csv_bytes, table_to_parquet_bytes

        if fmt == "json":
            doc = {"job": self.job(job_id), "batches": self.batches(job_id)}
            return json.dumps(doc, indent=2).encode()
        if fmt not in EXPORT_FORMATS:
            raise JournalError(f"unknown export format {fmt!r}: use csv, json or parquet")
        table = self.job_table(job_id)
        return table_to_csv_bytes(table) if fmt == "csv" else table_to_parquet_bytes(table)

    # --- records --------------------------------------------------------------------------

    def _job(self, job_id: str) -> JobRecord:
        job = self.storage.job(job_id)
        if job is None:
            raise JournalError(f"no job {job_id!r} in the journal at {self.location}")
        return job

    def _batches(self, job_id: str) -> list[BatchRecord]:
        self._job(job_id)
        return self.storage.batches(job_id)


def open_storage(location: str | os.PathLike[str]) -> Storage:
    """A PostgreSQL journal for a postgresql:// URL, else a SQLite file at the path. Any other
    URL is refused: it must never become a local file named after it."""
    text = os.fspath(location)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in POSTGRES_SCHEMES:
            raise JournalError(
                f"unsupported journal URL scheme {scheme!r}: "
                "use a file path or postgresql://user@host:port/db"
            )
        from tagging.journal.postgres import PostgresStorage

        return PostgresStorage(text)
    from tagging.journal.sqlite import SqliteStorage

    return SqliteStorage(text)
