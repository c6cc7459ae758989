"""Where the journal keeps its jobs and batches: one small interface, two backends.

`Storage` is all the journal asks of a database. `SqlStorage` holds the tables and every
statement in standard SQL (no upserts, no JSON functions); a backend says only what must
differ: how to connect and hold a transaction, how the job sequence is numbered, how to list
a table's columns. `facade.open_storage` picks the backend from a path (SQLite file) or a URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import tagging.id_list as id_list
import tagging.journal.locks as locks
from tagging.journal.locks import Action, Holder
from tagging.journal.records import (
    BatchRecord,
    Counts,
    JobRecord,
    NewBatch,
    NewJob,
    pack,
    pack_positions,
)
from tagging.values import BatchCheck, BatchOutcome


class Storage(Protocol):
    """The journal's tables. Each write is one transaction; `where` names the journal in
    messages (never a password)."""

    where: str

    def add_job(self, job: NewJob, batches: Sequence[NewBatch]) -> None: ...
    def record_batch(self, job_id: str, outcome: BatchOutcome, now: str) -> bool: ...
    def record_batches(self, job_id: str, outcomes: Sequence[BatchOutcome], now: str) -> list[int]:
        """Several outcomes in one transaction; the indexes of batches not found."""
        ...

    def record_verifications(self, job_id: str, checks: Sequence[BatchCheck]) -> list[int]:
        """Store what the read-back after each batch found (not-found ids become exact), in
        one transaction; the indexes of batches not found."""
        ...

    def finish_job(self, job_id: str, decide: Callable[[Mapping[str, int]], str], now: str) -> bool:
        """Set the status `decide` gives for the job's batch counts by status."""
        ...

    def mark_running(self, job_id: str, host: str, pid: int, now: str) -> None: ...
    def job(self, job_id: str) -> JobRecord | None: ...
    def jobs(self) -> list[JobRecord]: ...
    def job_count(self) -> int: ...
    def counts(self, job_id: str | None = None) -> dict[str, Counts]: ...
    def batches(self, job_id: str, index: int | None = None) -> list[BatchRecord]: ...
    def undone_by(self, job_id: str) -> str | None: ...
    def confirmed(self, provider: str, target: str | None) -> list[BatchRecord]:
        """Applied and partial batches of a provider's jobs (on one canonical target), in the
        order they were confirmed: the replay order."""
        ...

    def take_lock(self, job_id: str, action: Action) -> Holder:
        """The job's lease, or JobLocked naming who holds it (a stale one is taken over)."""
        ...

    def beat_lock(self, holder: Holder) -> bool: ...
    def drop_lock(self, holder: Holder) -> None: ...
    def ready(self) -> None:
        """Raise JournalError when no new job may start here (read-only, damaged)."""
        ...

    def lock_holder(self, job_id: str) -> Holder | None: ...
    def close(self) -> None: ...


class Tx(Protocol):
    """What a statement runs on inside a transaction."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]: ...
    def run_many(self, sql: str, params: Iterator[Sequence[Any]]) -> None: ...


_JOBS = """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq {seq},
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    provider TEXT NOT NULL,
    target TEXT NOT NULL,
    action TEXT NOT NULL,
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    known_state INTEGER NOT NULL,
    chunk_size INTEGER,
    requested INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    warnings TEXT NOT NULL,
    undo_of TEXT,
    host TEXT,
    pid INTEGER
)"""
_BATCHES = """CREATE TABLE IF NOT EXISTS batches (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    idx INTEGER NOT NULL,
    size INTEGER NOT NULL,
    ids TEXT NOT NULL,
    kinds TEXT,
    status TEXT NOT NULL,
    applied INTEGER NOT NULL,
    not_found INTEGER NOT NULL,
    not_found_ids TEXT NOT NULL,
    failed INTEGER NOT NULL,
    failed_ids TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS jobs_by_target ON jobs (provider, target, seq)"

# Columns added after the first release, as (table, column, type): added on open when missing,
# so a journal written by older code keeps working.
# not_found_at / failed_at: positions in the batch of the not-found / failed ids (NULL in
# older rows: then an id stands for every kind that shares it). actor: who ran the job.
ADDED_COLUMNS = (
    ("jobs", "kind", "TEXT"),
    ("batches", "tags", "TEXT"),
    ("batches", "not_found_at", "TEXT"),
    ("batches", "failed_at", "TEXT"),
    ("jobs", "actor", "TEXT"),
    # state_source: where the plan's prior state came from; unknown_at: positions whose prior
    # state was unknown (an undo asks for --force); verified / mismatched_*: the read-back.
    ("jobs", "state_source", "TEXT"),
    ("batches", "unknown_at", "TEXT"),
    ("batches", "verified", "INTEGER"),
    ("batches", "mismatched_ids", "TEXT"),
    ("batches", "mismatched_at", "TEXT"),
    # ids_arrow: the batch's ids as one compressed buffer (id_list.pack: zstd text); then
    # `ids` is empty. Rows written before it hold their ids as text in `ids`.
    ("batches", "ids_arrow", "{blob}"),
)

_JOB_COLUMNS = (
    "id, seq, created_at, updated_at, provider, target, action, tags, kind, status, known_state, "
    "chunk_size, requested, skipped, warnings, undo_of, host, pid, actor, state_source"
)
_COUNTS = (
    "SUM(size) AS ids, SUM(applied) AS applied, SUM(not_found) AS not_found, "
    "SUM(failed) AS failed, SUM(CASE WHEN status = 'pending' THEN size ELSE 0 END) AS pending"
)


class SqlStorage:
    """Every statement of the journal, for a backend that supplies the differences."""

    where: str
    # The seq column's type and the value an INSERT gives it (the next job number).
    SEQ_TYPE: str
    NEXT_SEQ: str
    BLOB_TYPE: str  # bytes: BLOB in SQLite, BYTEA in PostgreSQL

    def _write(self) -> AbstractContextManager[Tx]:
        """One transaction: committed on success, rolled back on any error."""
        raise NotImplementedError

    def _columns(self, tx: Tx, table: str) -> set[str]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        """One statement outside any write transaction (readers never wait for writers)."""
        raise NotImplementedError

    def _create(self, tx: Tx) -> None:
        """The tables, then the columns later releases added (on open, every time)."""
        tx.run(_JOBS.format(seq=self.SEQ_TYPE))
        tx.run(_BATCHES)
        tx.run(_INDEX)
        tx.run(locks.TABLE)
        for table, column, sql_type in ADDED_COLUMNS:
            if column not in self._columns(tx, table):
                sql_type = sql_type.format(blob=self.BLOB_TYPE)
                tx.run(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

    # --- writes ---------------------------------------------------------------------------

    def add_job(self, job: NewJob, batches: Sequence[NewBatch]) -> None:
        with self._write() as tx:
            tx.run(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?, {self.NEXT_SEQ}, "
                "?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.created_at,
                    job.created_at,
                    job.provider,
                    job.target,
                    job.action,
                    json.dumps(list(job.tags)),
                    job.kind,
                    int(job.known_state),
                    job.chunk_size,
                    job.requested,
                    job.skipped,
                    json.dumps(list(job.warnings)),
                    job.undo_of,
                    job.host,
                    job.pid,
                    job.actor,
                    job.state_source,
                ),
            )
            tx.run_many(
                "INSERT INTO batches (job_id, idx, size, ids, ids_arrow, kinds, tags, status, "
                "applied, not_found, not_found_ids, failed, failed_ids, reason, attempts, "
                "updated_at, unknown_at) "
                "VALUES (?, ?, ?, '', ?, ?, ?, 'pending', 0, 0, '', 0, '', '', 0, ?, ?)",
                (
                    (
                        job.id,
                        b.index,
                        len(b.ids),
                        id_list.pack(b.ids),
                        None if b.kinds is None else pack(b.kinds),
                        None if b.tags is None else json.dumps(list(b.tags)),
                        job.created_at,
                        pack_positions(b.unknown_at),
                    )
                    for b in batches
                ),
            )

    def record_batch(self, job_id: str, outcome: BatchOutcome, now: str) -> bool:
        return not self.record_batches(job_id, [outcome], now)

    def record_batches(self, job_id: str, outcomes: Sequence[BatchOutcome], now: str) -> list[int]:
        missing = []
        with self._write() as tx:
            for outcome in outcomes:
                found = tx.run(
                    "UPDATE batches SET status = ?, applied = ?, not_found = ?, "
                    "not_found_ids = ?, failed = ?, failed_ids = ?, reason = ?, "
                    "attempts = attempts + ?, updated_at = ?, not_found_at = ?, failed_at = ? "
                    "WHERE job_id = ? AND idx = ?",
                    (
                        outcome.status,
                        outcome.applied,
                        outcome.not_found,
                        pack(outcome.not_found_ids),
                        len(outcome.failed_ids),
                        pack(outcome.failed_ids),
                        outcome.reason,
                        outcome.attempts,
                        now,
                        pack_positions(outcome.not_found_at),
                        pack_positions(outcome.failed_at),
                        job_id,
                        outcome.index,
                    ),
                )
                if found != 1:
                    missing.append(outcome.index)
            if len(missing) < len(outcomes):
                tx.run("UPDATE jobs SET updated_at = ? WHERE id = ?", (now, job_id))
        return missing

    def record_verifications(self, job_id: str, checks: Sequence[BatchCheck]) -> list[int]:
        # One transaction for a job's checks: a synchronous=FULL commit per batch (100 for a
        # million Atlas ids) was most of a verified push's journal time.
        # updated_at stays: it is the replay order of the change, not of its check.
        missing = []
        with self._write() as tx:
            for check in checks:
                found = tx.run(
                    "UPDATE batches SET verified = ?, mismatched_ids = ?, mismatched_at = ?, "
                    "not_found = ?, not_found_ids = ?, not_found_at = ?, applied = ?, "
                    "status = ? WHERE job_id = ? AND idx = ?",
                    (
                        check.checked,
                        pack(check.mismatched_ids),
                        pack_positions(check.mismatched_at),
                        check.not_found,
                        pack(check.not_found_ids),
                        pack_positions(check.not_found_at),
                        check.applied,
                        check.status,
                        job_id,
                        check.index,
                    ),
                )
                if found != 1:
                    missing.append(check.index)
        return missing

    def finish_job(self, job_id: str, decide: Callable[[Mapping[str, int]], str], now: str) -> bool:
        with self._write() as tx:
            rows = tx.rows(
                "SELECT status, COUNT(*) AS n FROM batches WHERE job_id = ? GROUP BY status",
                (job_id,),
            )
            status = decide({r["status"]: int(r["n"]) for r in rows})
            found = tx.run(
                "UPDATE jobs SET status = ?, updated_at = ?, pid = NULL WHERE id = ?",
                (status, now, job_id),
            )
            return found == 1

    def mark_running(self, job_id: str, host: str, pid: int, now: str) -> None:
        with self._write() as tx:
            tx.run(
                "UPDATE jobs SET status = 'running', host = ?, pid = ?, updated_at = ? "
                "WHERE id = ?",
                (host, pid, now, job_id),
            )

    # --- job leases (locks.py) -------------------------------------------------------------

    def ready(self) -> None:
        """A backend says here why no job may start (SQLite: read-only or damaged)."""

    def _serialize_locks(self, tx: Tx) -> None:
        """Make lease writes one at a time (SQLite's BEGIN IMMEDIATE already does)."""

    def take_lock(self, job_id: str, action: Action) -> Holder:
        with self._write() as tx:
            self._serialize_locks(tx)
            return locks.take(tx, job_id, action)

    def beat_lock(self, holder: Holder) -> bool:
        with self._write() as tx:
            return locks.beat(tx, holder)

    def drop_lock(self, holder: Holder) -> None:
        with self._write() as tx:
            locks.drop(tx, holder)

    def lock_holder(self, job_id: str) -> Holder | None:
        return locks.live_holder(self._read(locks.SELECT_HOLDER, (job_id,)))

    # --- reads ----------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRecord | None:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return JobRecord.from_row(rows[0]) if rows else None

    def jobs(self) -> list[JobRecord]:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY seq DESC")
        return [JobRecord.from_row(r) for r in rows]

    def job_count(self) -> int:
        return int(self._read("SELECT COUNT(*) AS n FROM jobs")[0]["n"])

    def counts(self, job_id: str | None = None) -> dict[str, Counts]:
        where, params = ("WHERE job_id = ? ", (job_id,)) if job_id is not None else ("", ())
        rows = self._read(f"SELECT job_id, {_COUNTS} FROM batches {where}GROUP BY job_id", params)
        return {r["job_id"]: Counts.from_row(r) for r in rows}

    def batches(self, job_id: str, index: int | None = None) -> list[BatchRecord]:
        where, params = "job_id = ?", list[Any]([job_id])
        if index is not None:
            where += " AND idx = ?"
            params.append(index)
        rows = self._read(f"SELECT * FROM batches WHERE {where} ORDER BY idx", params)
        return [BatchRecord.from_row(r) for r in rows]

    def undone_by(self, job_id: str) -> str | None:
        rows = self._read("SELECT id FROM jobs WHERE undo_of = ? ORDER BY seq", (job_id,))
        return str(rows[0]["id"]) if rows else None

    def confirmed(self, provider: str, target: str | None) -> list[BatchRecord]:
        params: list[Any] = [provider]
        where = "j.provider = ?"
        if target is not None:
            where += " AND j.target = ?"
            params.append(target)
        rows = self._read(
            "SELECT b.* FROM jobs j JOIN batches b ON b.job_id = j.id "
            f"WHERE {where} AND b.status IN ('applied', 'partial') "
            # The order batches were confirmed in; ties (same millisecond) by job order.
            "ORDER BY b.updated_at, j.seq, b.idx",
            params,
        )
        return [BatchRecord.from_row(r) for r in rows]


def one_line(exc: BaseException) -> str:
    """A driver's message on one line (PostgreSQL's carry DETAIL and HINT lines)."""
    return " ".join(str(exc).split())


def redacted(url: str) -> str:
    """A URL fit for messages: any password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


POSTGRES_SCHEMES = ("postgresql", "postgres")
