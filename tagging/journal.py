"""The journal: a SQLite record of every job and batch, for history, resume, undo and coverage.

A job (provider, target, action, tags) and all its batches are written before the first
request, each batch's outcome after it. SQLite runs in WAL mode, so a killed process leaves a
readable file and readers never block the writer; a busy timeout lets two processes push at
once. Statements are standard SQL (no upserts, no JSON functions) so the same tables could
live in PostgreSQL. No key is ever stored: the journal never sees a Connection's key.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from tagging import providers
from tagging.errors import JournalError
from tagging.membership import isin
from tagging.plan import Batch, Plan, TagOperation
from tagging.values import BatchOutcome, BatchStatus, JobStatus, Progress, PushResult

if TYPE_CHECKING:
    from tagging.config import Connection

DEFAULT_PATH = ".tagging/journal.db"
BUSY_TIMEOUT_S = 60.0
INVERSE = {"add": "remove", "remove": "add"}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        provider TEXT NOT NULL,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        tags TEXT NOT NULL,
        kind TEXT,
        status TEXT NOT NULL,
        known_state INTEGER NOT NULL,
        chunk_size INTEGER,
        requested INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        warnings TEXT NOT NULL,
        undo_of TEXT,
        host TEXT,
        pid INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS batches (
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
        tags TEXT,
        PRIMARY KEY (job_id, idx)
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_target ON jobs (provider, target, seq)",
)

# Columns added after the first release, as (table, column, type): added on open when missing,
# so a journal written by older code keeps working.
# not_found_at / failed_at: positions in the batch of the not-found / failed ids (NULL in
# older rows: then an id stands for every kind that shares it).
_ADDED_COLUMNS = (
    ("jobs", "kind", "TEXT"),
    ("batches", "tags", "TEXT"),
    ("batches", "not_found_at", "TEXT"),
    ("batches", "failed_at", "TEXT"),
)

_JOB_COLUMNS = (
    "id, seq, created_at, updated_at, provider, target, action, tags, kind, status, known_state, "
    "chunk_size, requested, skipped, warnings, undo_of, host, pid"
)
# A job's counts, summed over its batches (the `counts` of the `jobs --json` shape).
_COUNT_COLUMNS = (
    "SUM(size) AS ids, SUM(applied) AS applied, SUM(not_found) AS not_found, "
    "SUM(failed) AS failed, SUM(CASE WHEN status = 'pending' THEN size ELSE 0 END) AS pending"
)


# --- compact id lists ---------------------------------------------------------------------
# Newline-joined text is about as small as ids get in SQLite; JSON is the fallback for ids
# that would make it ambiguous (a newline inside, or a first id starting with "[").


def _pack(values: Sequence[str]) -> str:
    text = "\n".join(values)
    # One newline per gap means no id holds one: a single scan, not a check per id.
    if text.count("\n") != max(len(values) - 1, 0) or text.startswith("["):
        return json.dumps(list(values))
    return text


def _unpack(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    if text.startswith("["):
        return tuple(json.loads(text))
    return tuple(text.split("\n"))


def _pack_positions(positions: Sequence[int] | None) -> str | None:
    return None if positions is None else "\n".join(map(str, positions))


def _unpack_positions(text: str | None) -> list[int] | None:
    return None if text is None else [int(p) for p in _unpack(text)]


def _listed(
    ids: Sequence[str] | np.ndarray, listed_ids: Sequence[str], listed_at: list[int] | None
) -> np.ndarray:
    """Which positions of a batch's ids an outcome lists (failed or not found): its positions
    when it has them, else every position holding a listed id (older rows name ids only)."""
    mask = np.zeros(len(ids), dtype=bool)
    if listed_at is not None:
        mask[listed_at] = True
    elif listed_ids:
        mask |= pd.Series(ids, dtype=object).isin(set(listed_ids)).to_numpy()
    return mask


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _canonical(target: Mapping[str, Any]) -> str:
    return json.dumps({str(k): str(v) for k, v in target.items() if v is not None}, sort_keys=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours
        return True
    return True


def _migrate(db: sqlite3.Connection) -> None:
    for table, column, sql_type in _ADDED_COLUMNS:
        present = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column in present:
            continue
        try:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
        except sqlite3.OperationalError as exc:  # another process added it meanwhile
            if "duplicate column" not in str(exc):
                raise


def _batch_tags(row: sqlite3.Row) -> tuple[str, ...] | None:
    """A batch's own tags (it applied only some of the job's), or None: all the job's."""
    return None if row["tags"] is None else tuple(json.loads(row["tags"]))


def _changed(row: sqlite3.Row, job_kind: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Ids of one batch row that the API confirmed (sent, minus failed and named not-found),
    and their kinds taken by position (ids repeat across kinds: Immuta data source 6 and
    project 6 may share a batch): the batch's per-id kinds, the job's one kind, or None.
    Failed and not-found ids are dropped by position (older rows: by id, every kind)."""
    empty = np.empty(0, dtype=object)
    if row["status"] not in ("applied", "partial"):
        return empty, empty
    ids = np.asarray(_unpack(row["ids"]), dtype=object)
    if row["kinds"] is not None:
        kinds = np.asarray(_unpack(row["kinds"]), dtype=object)
    else:
        kinds = np.full(len(ids), job_kind, dtype=object)
    if not row["failed_ids"] and not row["not_found_ids"]:
        return ids, kinds
    failed = _listed(ids, _unpack(row["failed_ids"]), _unpack_positions(row["failed_at"]))
    missing = _listed(ids, _unpack(row["not_found_ids"]), _unpack_positions(row["not_found_at"]))
    kept = ~(failed | missing)
    return ids[kept], kinds[kept]


class Journal:
    """Every job and batch, in a SQLite file (WAL). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level IMMEDIATE: each write transaction takes the write lock up front,
            # so a second process waits (busy timeout) instead of failing mid-transaction.
            self._db = sqlite3.connect(
                str(path),
                timeout=BUSY_TIMEOUT_S,
                isolation_level="IMMEDIATE",
                check_same_thread=False,
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._db:
                for statement in _SCHEMA:
                    self._db.execute(statement)
                _migrate(self._db)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open the journal at {path}: {exc}") from exc
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- low level ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on any error."""
        with self._lock:
            try:
                # BEGIN explicitly: sqlite3 only opens the transaction at the first INSERT or
                # UPDATE, so a SELECT before it (e.g. the next seq) would race another process.
                self._db.execute("BEGIN IMMEDIATE")
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the journal at {self.path}: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot read the journal at {self.path}: {exc}") from exc

    def _job_row(self, job_id: str) -> sqlite3.Row:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JournalError(f"no job {job_id!r} in the journal at {self.path}")
        return rows[0]

    def _batch_rows(self, job_id: str) -> list[sqlite3.Row]:
        return self._read("SELECT * FROM batches WHERE job_id = ? ORDER BY idx", (job_id,))

    # --- writing (called by the executor) -------------------------------------------------

    def start_job(self, plan: Plan, *, undo_of: str | None = None) -> str:
        """Record the job and every batch as pending, before any request is sent."""
        op = plan.operation
        job_id = uuid.uuid4().hex[:12]
        now = _now()
        chunk = max((len(b.ids) for b in plan.batches), default=None)
        with self._write() as db:
            # seq orders jobs even within one millisecond; the write lock makes it unique.
            (last,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs").fetchone()
            db.execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    last + 1,
                    now,
                    now,
                    op.provider,
                    _canonical(op.target),
                    op.action,
                    json.dumps(list(op.tags)),
                    op.kinds if isinstance(op.kinds, str) else None,  # one kind for all ids
                    "running",
                    int(plan.known_state),
                    chunk,
                    plan.requested,
                    plan.skipped,
                    json.dumps(list(plan.warnings)),
                    undo_of,
                    socket.gethostname(),
                    os.getpid(),
                ),
            )
            db.executemany(
                "INSERT INTO batches (job_id, idx, size, ids, kinds, tags, status, applied, "
                "not_found, not_found_ids, failed, failed_ids, reason, attempts, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, '', 0, '', '', 0, ?)",
                (
                    (
                        job_id,
                        b.index,
                        len(b.ids),
                        _pack(b.ids),
                        None if b.kinds is None else _pack(b.kinds),
                        None if b.tags is None else json.dumps(list(b.tags)),
                        now,
                    )
                    for b in plan.batches
                ),
            )
        return job_id

    def record_batch(self, job_id: str, outcome: BatchOutcome) -> None:
        """Store how one batch ended (a resent batch overwrites its earlier outcome)."""
        now = _now()
        with self._write() as db:
            cur = db.execute(
                "UPDATE batches SET status = ?, applied = ?, not_found = ?, not_found_ids = ?, "
                "failed = ?, failed_ids = ?, reason = ?, attempts = attempts + ?, updated_at = ?, "
                "not_found_at = ?, failed_at = ? WHERE job_id = ? AND idx = ?",
                (
                    outcome.status,
                    outcome.applied,
                    outcome.not_found,
                    _pack(outcome.not_found_ids),
                    len(outcome.failed_ids),
                    _pack(outcome.failed_ids),
                    outcome.reason,
                    outcome.attempts,
                    now,
                    _pack_positions(outcome.not_found_at),
                    _pack_positions(outcome.failed_at),
                    job_id,
                    outcome.index,
                ),
            )
            if cur.rowcount != 1:
                raise JournalError(f"no batch {outcome.index} of job {job_id!r} in the journal")
            db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (now, job_id))

    def finish_job(self, job_id: str, status: JobStatus | str) -> None:
        """Close a job. Unless it was interrupted, its status follows from all its batches."""
        with self._write() as db:
            rows = db.execute(
                "SELECT status, COUNT(*) FROM batches WHERE job_id = ? GROUP BY status", (job_id,)
            ).fetchall()
            by_status = {r[0]: r[1] for r in rows}
            final = str(status) if status == "interrupted" else _job_status(by_status, str(status))
            cur = db.execute(
                "UPDATE jobs SET status = ?, updated_at = ?, pid = NULL WHERE id = ?",
                (final, _now(), job_id),
            )
            if cur.rowcount != 1:
                raise JournalError(f"no job {job_id!r} in the journal at {self.path}")

    # --- reading --------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """All jobs, newest first, in the `jobs --json` shape."""
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY seq DESC")
        counts = {
            r["job_id"]: r
            for r in self._read(f"SELECT job_id, {_COUNT_COLUMNS} FROM batches GROUP BY job_id")
        }
        return [self._job_dict(row, counts.get(row["id"])) for row in rows]

    def job_count(self) -> int:
        """How many jobs there are (cheap: no per-job counts), e.g. to notice a new one."""
        return int(self._read("SELECT COUNT(*) FROM jobs")[0][0])

    def job(self, job_id: str) -> dict[str, Any]:
        """One job in the `jobs --json` shape, plus known_state, undo_of and warnings."""
        row = self._job_row(job_id)
        counts = self._read(
            f"SELECT {_COUNT_COLUMNS} FROM batches WHERE job_id = ?",
            (job_id,),
        )
        out = self._job_dict(row, counts[0] if counts else None)
        out["known_state"] = bool(row["known_state"])
        out["undo_of"] = row["undo_of"]
        out["warnings"] = json.loads(row["warnings"])
        return out

    def _job_dict(self, row: sqlite3.Row, counts: sqlite3.Row | None) -> dict[str, Any]:
        status = row["status"]
        # A "running" job whose process is gone on this machine was killed: say so.
        if (
            status == "running"
            and row["pid"] is not None
            and row["host"] == socket.gethostname()
            and not _pid_alive(int(row["pid"]))
        ):
            status = "interrupted"
        keys = ("ids", "applied", "not_found", "failed", "pending")
        return {
            "id": row["id"],
            "created_at": row["created_at"],
            "provider": row["provider"],
            "target": json.loads(row["target"]),
            "action": row["action"],
            "tags": json.loads(row["tags"]),
            "status": status,
            "counts": {k: int((counts[k] if counts else 0) or 0) for k in keys},
        }

    def batches(self, job_id: str) -> list[dict[str, Any]]:
        """Every batch of a job with its ids and outcome, in order."""
        self._job_row(job_id)
        return [
            {
                "index": r["idx"],
                "ids": list(_unpack(r["ids"])),
                "kinds": None if r["kinds"] is None else list(_unpack(r["kinds"])),
                # None: the job's tags; a list: known state said only these change here.
                "tags": None if r["tags"] is None else list(json.loads(r["tags"])),
                "status": r["status"],
                "applied": r["applied"],
                "not_found": r["not_found"],
                "not_found_ids": list(_unpack(r["not_found_ids"])),
                "failed": r["failed"],
                "failed_ids": list(_unpack(r["failed_ids"])),
                # Positions in `ids` of the not-found / failed ids (None: unknown, older row).
                "not_found_at": _unpack_positions(r["not_found_at"]),
                "failed_at": _unpack_positions(r["failed_at"]),
                "reason": r["reason"],
                "attempts": r["attempts"],
                "updated_at": r["updated_at"],
            }
            for r in self._batch_rows(job_id)
        ]

    def load_plan(self, job_id: str, pending_only: bool = True) -> Plan:
        """The job's plan again; with pending_only, just what a resume must send.

        Pending and failed batches are sent whole; of a partly failed batch only its failed
        ids (older rows, which name failed ids without positions: the whole batch, which is
        safe as tag operations are idempotent). Batch indexes are kept, so outcomes land on
        the same rows.
        """
        row = self._job_row(job_id)
        batches = []
        for r in self._batch_rows(job_id):
            if pending_only and r["status"] not in ("pending", "failed") and not r["failed"]:
                continue
            batch = Batch(
                index=r["idx"],
                ids=_unpack(r["ids"]),
                kinds=None if r["kinds"] is None else _unpack(r["kinds"]),
                tags=_batch_tags(r),
            )
            failed_at = _resend_positions(r) if pending_only else None
            batches.append(batch if failed_at is None else _subset(batch, failed_at))
        return _plan_from(row, batches, row["action"], known_state=bool(row["known_state"]))

    def undo_warning(self, job_id: str) -> str | None:
        """Why an undo of this job may not restore the prior state exactly, or None."""
        row = self._job_row(job_id)
        if row["known_state"]:
            return None
        return (
            f"job {job_id} was planned without the prior state, so undo also reverses ids that "
            f"were already {'tagged' if row['action'] == 'add' else 'untagged'} before it"
        )

    # --- resume and undo ------------------------------------------------------------------

    def resume(
        self,
        job_id: str,
        conn: Connection,
        progress: Callable[[Progress], None] | None = None,
    ) -> PushResult:
        """Send the job's unfinished batches; their outcomes land on the same job."""
        from tagging.executor import push

        plan = self.load_plan(job_id, pending_only=True)
        _check_provider(plan, conn)
        if not plan.batches:
            self.finish_job(job_id, "done")
            return PushResult(job_id=job_id)
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET status = 'running', host = ?, pid = ?, updated_at = ? "
                "WHERE id = ?",
                (socket.gethostname(), os.getpid(), _now(), job_id),
            )
        resent = {
            r["idx"]: at
            for r in self._batch_rows(job_id)
            if (at := _resend_positions(r)) is not None
        }
        journal = _Resent(self, resent) if resent else self
        return push(plan, conn, journal=journal, job_id=job_id, progress=progress)

    def _merged(self, job_id: str, outcome: BatchOutcome, sent: Sequence[int]) -> BatchOutcome:
        """The whole batch's outcome once the failed ids at `sent` were sent again: the new
        outcome put back at those positions, the earlier one kept for the rest."""
        [r] = self._read(
            "SELECT * FROM batches WHERE job_id = ? AND idx = ?", (job_id, outcome.index)
        )
        ids = _unpack(r["ids"])
        sub_ids = [ids[at] for at in sent]
        failed = [sent[n] for n in _positions_in(sub_ids, outcome.failed_ids, outcome.failed_at)]
        missing = sorted(
            (_unpack_positions(r["not_found_at"]) or [])
            + [sent[n] for n in _positions_in(sub_ids, outcome.not_found_ids, outcome.not_found_at)]
        )
        not_found = r["not_found"] + outcome.not_found
        status: BatchStatus = "partial" if failed or not_found else "applied"
        if len(failed) == len(ids):
            status = "failed"
        return replace(
            outcome,
            status=status,
            applied=r["applied"] + outcome.applied,
            not_found=not_found,
            not_found_ids=tuple(ids[at] for at in missing),
            failed_ids=tuple(ids[at] for at in failed),
            not_found_at=tuple(missing),
            failed_at=tuple(failed),
        )

    def undo_plan(self, job_id: str) -> Plan:
        """The inverse operation on exactly the ids the job changed, each with exactly the
        tags its batch applied (so a tag an id carried before the job stays)."""
        row = self._job_row(job_id)
        done = self._read("SELECT id FROM jobs WHERE undo_of = ?", (job_id,))
        if done:
            raise JournalError(f"job {job_id} was already undone by job {done[0]['id']}")
        # Changed ids (and kinds) per tag set, tag sets in order of their first batch.
        groups: dict[tuple[str, ...] | None, tuple[list[str], list[str]]] = {}
        per_id_kinds = True
        for r in self._batch_rows(job_id):
            changed, changed_kinds = _changed(r, row["kind"])
            if r["kinds"] is None:
                per_id_kinds = False
            if not len(changed):
                continue
            ids, kinds = groups.setdefault(_batch_tags(r), ([], []))
            ids.extend(changed.tolist())
            kinds.extend(changed_kinds.tolist())  # aligned with ids by position
        if not groups:
            raise JournalError(f"job {job_id} changed nothing, so there is nothing to undo")
        batches: list[Batch] = []
        for tags, (ids, kinds) in groups.items():
            size = row["chunk_size"] or len(ids)
            batches.extend(
                Batch(
                    index=len(batches) + n,
                    ids=tuple(ids[start : start + size]),
                    kinds=tuple(kinds[start : start + size]) if per_id_kinds else None,
                    tags=tags,
                )
                for n, start in enumerate(range(0, len(ids), size))
            )
        return _plan_from(
            row, batches, INVERSE[row["action"]], known_state=bool(row["known_state"])
        )

    def undo(
        self,
        job_id: str,
        conn: Connection,
        progress: Callable[[Progress], None] | None = None,
    ) -> PushResult:
        """Reverse a job as a new job. Check undo_warning() first: without known prior
        state, ids that already carried the tags lose them too."""
        from tagging.executor import push

        plan = self.undo_plan(job_id)
        _check_provider(plan, conn)
        undo_id = self.start_job(plan, undo_of=job_id)
        return push(plan, conn, journal=self, job_id=undo_id, progress=progress)

    # --- state and exports ----------------------------------------------------------------

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
        params: list[Any] = [provider]
        where = "j.provider = ?"
        if target is not None:
            where += " AND j.target = ?"
            params.append(_canonical(target))
        rows = self._read(
            "SELECT j.action, j.tags AS job_tags, j.kind AS job_kind, b.tags, b.status, b.ids, "
            "b.kinds, b.not_found_ids, b.failed_ids, b.not_found_at, b.failed_at "
            "FROM jobs j JOIN batches b ON b.job_id = j.id "
            f"WHERE {where} AND b.status IN ('applied', 'partial') "
            # The order batches were confirmed in; ties (same millisecond) by job order.
            "ORDER BY b.updated_at, j.seq, b.idx",
            params,
        )
        typed = bool(providers.get(provider).kinds)  # ids repeat across kinds: keep the kind
        columns = ["id", "tag", "kind"] if typed else ["id", "tag"]
        id_parts: list[np.ndarray] = []
        kind_parts: list[np.ndarray] = []
        tag_parts: list[np.ndarray] = []
        add_parts: list[np.ndarray] = []
        for r in rows:
            changed, changed_kinds = _changed(r, r["job_kind"])
            own = r["tags"] if r["tags"] is not None else r["job_tags"]  # the batch's tags
            tags = np.asarray(json.loads(own), dtype=object)
            if not len(changed) or not len(tags):
                continue
            id_parts.append(np.repeat(changed, len(tags)))
            kind_parts.append(np.repeat(changed_kinds, len(tags)))
            tag_parts.append(np.tile(tags, len(changed)))
            add_parts.append(np.full(len(changed) * len(tags), r["action"] == "add"))
        if not id_parts:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
        ops = pd.DataFrame(
            {
                "id": np.concatenate(id_parts),
                "tag": np.concatenate(tag_parts),
                "kind": np.concatenate(kind_parts),
                "add": np.concatenate(add_parts),
            }
        )
        if ids is not None:
            ops = ops[isin(ops["id"], list(ids))]
        key = ["kind", "id", "tag"] if typed else ["id", "tag"]
        last = ops.drop_duplicates(key, keep="last")  # rows are in replay order
        out = last.loc[last["add"].to_numpy(), columns].reset_index(drop=True)
        return out.astype({"id": str, "tag": str})

    def job_frame(self, job_id: str) -> pd.DataFrame:
        """One row per id of a job: batch, kind and result (applied, not_found, failed,
        pending, or sent: accepted by an API that only counts unknown ids)."""
        rows = []
        for b in self.batches(job_id):
            failed = _listed(b["ids"], b["failed_ids"], b["failed_at"])
            missing = _listed(b["ids"], b["not_found_ids"], b["not_found_at"])
            kinds = b["kinds"] or [""] * len(b["ids"])
            for at, (id_, kind) in enumerate(zip(b["ids"], kinds, strict=True)):
                result = _id_result(
                    b["status"], failed[at], missing[at], b["not_found"] > missing.sum()
                )
                rows.append((id_, kind, b["index"], result))
        return pd.DataFrame(rows, columns=["id", "kind", "batch", "result"])

    def export_job(self, job_id: str, fmt: Literal["csv", "json"] = "csv") -> bytes:
        """One job for download: formula-safe CSV with a row per id, or JSON with batches."""
        from tagging.export import to_csv_bytes

        job = self.job(job_id)
        if fmt == "json":
            doc = {"job": job, "batches": self.batches(job_id)}
            return json.dumps(doc, indent=2).encode()
        if fmt != "csv":
            raise JournalError(f"unknown export format {fmt!r}: use csv or json")
        frame = self.job_frame(job_id)
        # Each id's own batch's tags (known state may have left some of the job's out).
        tags_of = {b["index"]: ";".join(b["tags"] or job["tags"]) for b in self.batches(job_id)}
        frame.insert(0, "tags", frame["batch"].map(tags_of).astype(object))
        frame.insert(0, "action", job["action"])
        frame.insert(0, "provider", job["provider"])
        frame.insert(0, "job_id", job_id)
        return to_csv_bytes(frame)


def _resend_positions(row: sqlite3.Row) -> list[int] | None:
    """The failed positions of a partly failed batch (a resume sends just those), or None:
    send the whole batch (pending, failed, or an older row without positions)."""
    if row["status"] != "partial" or not row["failed"]:
        return None
    return _unpack_positions(row["failed_at"])


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
            outcome = self.journal._merged(job_id, outcome, sent)
        self.journal.record_batch(job_id, outcome)

    def finish_job(self, job_id: str, status: JobStatus) -> None:
        self.journal.finish_job(job_id, status)


def _id_result(status: str, failed: bool, missing: bool, unnamed: bool) -> str:
    if failed:
        return "failed"
    if missing:
        return "not_found"
    if status in ("pending", "failed"):
        return status
    # Atlas only counts unknown ids; an id of such a batch was sent but is not confirmed.
    return "sent" if unnamed else "applied"


def _job_status(by_status: Mapping[str, int], reported: str) -> str:
    if not by_status or set(by_status) == {"applied"}:
        return "done"
    if by_status.get("pending"):
        return reported if reported != "done" else "interrupted"
    if set(by_status) == {"failed"}:
        return "failed"
    return "partial"


def _plan_from(row: sqlite3.Row, batches: list[Batch], action: str, *, known_state: bool) -> Plan:
    ids = [i for b in batches for i in b.ids]
    kinds: str | tuple[str, ...] | None = row["kind"]
    if batches and all(b.kinds is not None for b in batches):
        kinds = tuple(k for b in batches for k in (b.kinds or ()))
    op = TagOperation(
        provider=row["provider"],
        action=action,  # type: ignore[arg-type]
        tags=tuple(json.loads(row["tags"])),
        ids=ids,
        target=json.loads(row["target"]),
        kinds=kinds,
    )
    return Plan(
        operation=op,
        batches=tuple(batches),
        requested=len(ids),
        skipped=0,
        known_state=known_state,
        warnings=tuple(json.loads(row["warnings"])),
    )


def _check_provider(plan: Plan, conn: Connection) -> None:
    provider = getattr(conn, "provider", plan.operation.provider)
    if provider != plan.operation.provider:
        raise JournalError(
            f"this job is for {plan.operation.provider}, but the connection is to {provider}"
        )
