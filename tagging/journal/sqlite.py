"""The journal in a SQLite file: WAL, so a killed process leaves a readable file and readers
never block the writer; a busy timeout and BEGIN IMMEDIATE, so two processes push at once."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tagging.errors import JournalError
from tagging.journal.records import NewBatch, NewJob
from tagging.journal.storage import SqlStorage, one_line
from tagging.values import BatchOutcome

BUSY_TIMEOUT_S = 60.0


class _SqliteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, params).rowcount

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        return self.db.execute(sql, params).fetchall()

    def run_many(self, sql: str, params: Iterator[Sequence[Any]]) -> None:
        self.db.executemany(sql, params)


class SqliteStorage(SqlStorage):
    """Safe to share between threads (one connection behind a lock).

    Durable: synchronous=FULL, and the WAL is checkpointed into the main file when a job
    starts, as each batch is recorded and when it finishes, so a lost `-wal` file loses no
    job. A file we may not write is opened read-only (history and exports still work); a
    file that fails `PRAGMA quick_check` takes no new job.
    """

    read_only = False

    BLOB_TYPE = "BLOB"
    SEQ_TYPE = "INTEGER NOT NULL UNIQUE"
    # Under BEGIN IMMEDIATE no other writer runs, so MAX + 1 is unique.
    NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.where = path
        self._lock = threading.RLock()
        try:
            if path != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level IMMEDIATE: each write transaction takes the write lock up front,
            # so a second process waits (busy timeout) instead of failing mid-transaction.
            if path != ":memory:" and _not_writable(self.path):
                self._open_read_only()
                return
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level="IMMEDIATE", check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            use_wal(self._db)
            self._db.execute("PRAGMA synchronous=FULL")
            with self._write() as tx:
                self._create(tx)
        except sqlite3.OperationalError as exc:
            if not (self.path.exists() and "readonly" in str(exc).replace("-", "").lower()):
                raise JournalError(f"cannot open the journal at {path}: {one_line(exc)}") from exc
            self._open_read_only()  # a file we may read but not write (a copy, a mount)
        except (OSError, sqlite3.Error, JournalError) as exc:
            cause = exc.__cause__ if isinstance(exc, JournalError) else exc
            raise JournalError(
                f"cannot open the journal at {path}: {one_line(cause or exc)}"
            ) from exc

    def _open_read_only(self) -> None:
        """Reading only: `mode=ro`; `immutable=1` when even the -shm file cannot be made."""
        for flags in ("mode=ro", "immutable=1"):
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?{flags}", uri=True, check_same_thread=False
            )
            try:
                db.execute("SELECT COUNT(*) FROM jobs").fetchone()
            except sqlite3.Error:
                db.close()
                continue
            db.row_factory = sqlite3.Row
            self._db, self.read_only = db, True
            return
        raise JournalError(f"cannot open the journal at {self.where} for reading")

    def close(self) -> None:
        self._db.close()

    # --- durability -----------------------------------------------------------------------

    def add_job(self, job: NewJob, batches: Sequence[NewBatch]) -> None:
        self.ready()
        super().add_job(job, batches)
        self._checkpoint()

    def record_batches(self, job_id: str, outcomes: Sequence[BatchOutcome], now: str) -> list[int]:
        missing = super().record_batches(job_id, outcomes, now)
        self._checkpoint()
        return missing

    def finish_job(self, job_id: str, decide: Callable[[Mapping[str, int]], str], now: str) -> bool:
        found = super().finish_job(job_id, decide, now)
        self._checkpoint()
        return found

    def _checkpoint(self) -> None:
        """Copy the WAL into the main file (PASSIVE: never waits for readers)."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # busy: the next write checkpoints again
                pass

    def integrity(self) -> list[str]:
        """What `PRAGMA quick_check` finds wrong (empty when the file is sound)."""
        try:
            rows = self._read("PRAGMA quick_check(20)")
        except JournalError as exc:
            return [str(exc)]
        found = [str(r["quick_check"]) for r in rows]
        return [] if found == ["ok"] else found

    def ready(self) -> None:
        if self.read_only:
            raise self._read_only()
        problems = self.integrity()
        if problems:
            raise self._damaged(problems[0])

    def _damaged(self, problem: str) -> JournalError:
        return JournalError(
            f"the journal at {self.where} is damaged ({problem[:120]}): no new job is "
            f"started; see `python -m tagging journal check --journal {self.where}`, then "
            f"copy out what is readable with `python -m tagging journal recover --journal "
            f"{self.where} --to NEW.db`"
        )

    def _read_only(self) -> JournalError:
        return JournalError(
            f"the journal at {self.where} is read-only: history and exports work, "
            "pushes, resumes and undos need a journal you may write"
        )

    def _failed(self, doing: str, exc: sqlite3.Error) -> JournalError:
        if "malformed" in str(exc):
            return self._damaged(one_line(exc))
        return JournalError(f"cannot {doing} the journal at {self.where}: {one_line(exc)}")

    @contextmanager
    def _write(self) -> Iterator[_SqliteTx]:
        if self.read_only:
            raise self._read_only()
        with self._lock:
            try:
                # BEGIN explicitly: sqlite3 only opens the transaction at the first INSERT or
                # UPDATE, so a SELECT before it (e.g. a status count) would race another process.
                self._db.execute("BEGIN IMMEDIATE")
                with self._db:
                    yield _SqliteTx(self._db)
            except sqlite3.Error as exc:
                raise self._failed("write", exc) from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._failed("read", exc) from exc

    def _columns(self, tx: Any, table: str) -> set[str]:
        return {r["name"] for r in tx.rows(f"PRAGMA table_info({table})")}


def _not_writable(path: Path) -> bool:
    """An existing file (or its folder, for the -wal and -shm files) we may not write."""
    if not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def use_wal(db: sqlite3.Connection) -> None:
    """Switch a new file to WAL. Two processes creating the same file at once can see
    "database is locked" here at once, without the busy timeout's wait (about 1 start in 50
    with four): wait for the other as the timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
