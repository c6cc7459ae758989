"""One job, one runner: a lease per job in the journal, across processes and machines.

A push, resume or undo holds its job's lease (a row of `job_locks`: owner, host, pid, what
it does, a heartbeat) for as long as it runs; a second runner is refused with one line
naming the holder. A lease whose process is gone (same host, pid dead) or whose heartbeat
stopped for `LEASE_S` (another host) is stale and taken over. Taking a lease is one write
transaction; SQLite's BEGIN IMMEDIATE serialises it, PostgreSQL takes an advisory
transaction lock first (two INSERTs of one key would otherwise race to a unique error).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tagging.errors import JournalError

Action = Literal["push", "resume", "undo"]
HEARTBEAT_S = 5.0
LEASE_S = 30.0  # a heartbeat older than this: the holder is gone (or hung): take over
_VERB = {"push": "pushed", "resume": "resumed", "undo": "undone"}

TABLE = """CREATE TABLE IF NOT EXISTS job_locks (
    job_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    action TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
)"""
_COLUMNS = "job_id, owner, host, pid, action, acquired_at, heartbeat_at"


class JobLocked(JournalError):
    """Another process runs this job: wait for it, or stop it."""


@dataclass(frozen=True)
class Holder:
    job_id: str
    owner: str
    host: str
    pid: int
    action: str
    acquired_at: int  # epoch milliseconds
    heartbeat_at: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Holder:
        return cls(**{k: row[k] for k in _COLUMNS.split(", ")})

    def stale(self, now_ms: int) -> bool:
        if self.host == socket.gethostname() and not pid_alive(self.pid):
            return True
        return now_ms - self.heartbeat_at > LEASE_S * 1000

    @property
    def reason(self) -> str:
        since = datetime.fromtimestamp(self.acquired_at / 1000, UTC).strftime("%H:%M:%S UTC")
        return (
            f"job {self.job_id} is being {_VERB.get(self.action, self.action)} by pid "
            f"{self.pid} on {self.host} (since {since}): wait for it to end or stop that process"
        )


class Tx(Protocol):
    def run(self, sql: str, params: Any = ()) -> int: ...
    def rows(self, sql: str, params: Any = ()) -> list[Mapping[str, Any]]: ...


def take(tx: Tx, job_id: str, action: Action) -> Holder:
    """Take the job's lease inside a serialised write transaction; JobLocked if it is held."""
    now_ms = now_ms_()
    rows = tx.rows(f"SELECT {_COLUMNS} FROM job_locks WHERE job_id = ?", (job_id,))
    if rows:
        holder = Holder.from_row(rows[0])
        if not holder.stale(now_ms):
            raise JobLocked(holder.reason)
        tx.run("DELETE FROM job_locks WHERE job_id = ? AND owner = ?", (job_id, holder.owner))
    mine = Holder(job_id, uuid.uuid4().hex, socket.gethostname(), os.getpid(), action, now_ms,
                  now_ms)  # fmt: skip
    tx.run(
        f"INSERT INTO job_locks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (mine.job_id, mine.owner, mine.host, mine.pid, mine.action, now_ms, now_ms),
    )
    return mine


def beat(tx: Tx, holder: Holder) -> bool:
    """Refresh the heartbeat; False when the lease is no longer ours (taken over)."""
    return (
        tx.run(
            "UPDATE job_locks SET heartbeat_at = ? WHERE job_id = ? AND owner = ?",
            (now_ms_(), holder.job_id, holder.owner),
        )
        == 1
    )


def drop(tx: Tx, holder: Holder) -> None:
    tx.run("DELETE FROM job_locks WHERE job_id = ? AND owner = ?", (holder.job_id, holder.owner))


def live_holder(rows: list[Mapping[str, Any]]) -> Holder | None:
    """The lease of these rows (zero or one) unless it is stale."""
    if not rows:
        return None
    holder = Holder.from_row(rows[0])
    return None if holder.stale(now_ms_()) else holder


SELECT_HOLDER = f"SELECT {_COLUMNS} FROM job_locks WHERE job_id = ?"


class Heartbeat:
    """Beats a lease from a daemon thread until stopped (the process's death stops it too)."""

    def __init__(self, beat_once: Any) -> None:
        self._stop = threading.Event()
        self._beat = beat_once
        self._thread = threading.Thread(target=self._run, name="journal-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._beat()
            except JournalError:  # the journal is busy or gone: the next beat tries again
                continue

    def stop(self) -> None:
        self._stop.set()


def now_ms_() -> int:
    return int(time.time() * 1000)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours
        return True
    return True
