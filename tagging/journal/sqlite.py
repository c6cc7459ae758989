"""The journal in a SQLite file: WAL, so a killed process leaves a readable file and readers
never block the writer; a busy timeout and BEGIN IMMEDIATE, so two processes push at once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tagging.errors import JournalError
from tagging.journal.storage import SqlStorage, one_line

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
    """Safe to share between threads (one connection behind a lock)."""

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
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level="IMMEDIATE", check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._write() as tx:
                self._create(tx)
        except (OSError, sqlite3.Error, JournalError) as exc:
            cause = exc.__cause__ if isinstance(exc, JournalError) else exc
            raise JournalError(
                f"cannot open the journal at {path}: {one_line(cause or exc)}"
            ) from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[_SqliteTx]:
        with self._lock:
            try:
                # BEGIN explicitly: sqlite3 only opens the transaction at the first INSERT or
                # UPDATE, so a SELECT before it (e.g. a status count) would race another process.
                self._db.execute("BEGIN IMMEDIATE")
                with self._db:
                    yield _SqliteTx(self._db)
            except sqlite3.Error as exc:
                raise JournalError(
                    f"cannot write the journal at {self.where}: {one_line(exc)}"
                ) from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(
                    f"cannot read the journal at {self.where}: {one_line(exc)}"
                ) from exc

    def _columns(self, tx: Any, table: str) -> set[str]:
        return {r["name"] for r in tx.rows(f"PRAGMA table_info({table})")}
