"""Is the journal sound, and what can be saved from one that is not.

`check` runs the backend's own integrity check (SQLite `PRAGMA quick_check`) and what holds
on either backend: every table reads back and no job counts more ids than it has. `recover`
copies every readable job and batch of a damaged SQLite file into a new journal, row by row,
so one bad page loses only the rows on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagging.errors import JournalError
from tagging.journal.facade import Journal

_TABLES = ("jobs", "batches")  # leases (job_locks) are not history: never copied
_MISSES = 1_000  # consecutive unreadable rowids after which a table is taken to end


def check(location: str) -> list[str]:
    """What is wrong with the journal, one line each; empty when it is sound."""
    try:
        journal = Journal(location)
    except JournalError as exc:
        return [str(exc)]
    try:
        integrity = getattr(journal.storage, "integrity", None)
        problems: list[str] = list(integrity()) if integrity is not None else []
        try:
            jobs = journal.storage.jobs()
            counts = journal.storage.counts()
        except JournalError as exc:
            return list(dict.fromkeys([*problems, str(exc)]))
        for job in jobs:
            c = counts.get(job.id)
            if c is not None and c.applied + c.not_found + c.failed + c.pending > c.ids:
                problems.append(f"job {job.id} counts more outcomes than its {c.ids} ids")
        return list(dict.fromkeys(problems))
    finally:
        journal.close()


@dataclass(frozen=True)
class Recovered:
    jobs: int
    batches: int
    skipped_batches: int  # readable rows whose job was lost, or that would not insert

    @property
    def line(self) -> str:
        skipped = f", {self.skipped_batches:,} batches skipped" if self.skipped_batches else ""
        return f"copied {self.jobs:,} jobs and {self.batches:,} batches{skipped}"


def recover(source: str, dest: str) -> Recovered:
    """Copy what is readable of the SQLite journal `source` into a new journal at `dest`."""
    if "://" in source:
        raise JournalError(
            "journal recover reads SQLite files; for PostgreSQL use pg_dump and pg_restore"
        )
    if not Path(source).is_file():
        raise JournalError(f"no journal file at {source}")
    if Path(dest).exists():
        raise JournalError(f"{dest} exists: recover into a new file")
    Journal(dest).close()  # the tables, as this version makes them
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    src.row_factory = sqlite3.Row
    out = sqlite3.connect(dest)
    try:
        copied = {t: 0 for t in _TABLES}
        skipped = 0
        for table in _TABLES:
            columns = {r[1] for r in out.execute(f"PRAGMA table_info({table})")}
            for row in _readable_rows(src, table):
                values = {k: row[k] for k in row if k in columns}
                names = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                try:
                    if table == "batches" and not _has_job(out, values.get("job_id")):
                        raise sqlite3.IntegrityError("its job was lost")
                    out.execute(
                        f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values())
                    )
                    copied[table] += 1
                except sqlite3.Error:
                    skipped += table == "batches"
        out.commit()
    finally:
        src.close()
        out.close()
    return Recovered(copied["jobs"], copied["batches"], skipped)


def _has_job(db: sqlite3.Connection, job_id: object) -> bool:
    return db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is not None


def _readable_rows(db: sqlite3.Connection, table: str) -> Iterator[Mapping[str, Any]]:
    """Every row that reads back: all at once when the table is sound, else rowid by rowid."""
    try:
        rows = db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    except sqlite3.DatabaseError:
        rows = None
    if rows is not None:
        yield from (dict(zip(r.keys(), r, strict=True)) for r in rows)
        return
    rowid, misses = 1, 0
    while misses < _MISSES:
        try:
            row = db.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None:
            misses += 1
        else:
            misses = 0
            yield dict(zip(row.keys(), row, strict=True))
        rowid += 1
