"""SQLite state of the sandbox: one connection, one lock, set-based SQL.

Handlers run in a threadpool; every read and write goes through `Store.tx()`, which holds
the lock for one transaction. A file database uses WAL so a restarted (or second) process
can open the same state while another one still has it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagging.demo import (
    IMMUTA_FIRST_NEW_TAG_ID,
    IMMUTA_SEED_ASSIGNMENTS,
    IMMUTA_SEED_TAGS,
)

# Profile id of the (only) sandbox user: Immuta's `createdBy` / `addedBy`.
IMMUTA_USER_ID = 2
SEED_TIME = "2021-06-24T15:08:53.119Z"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS atlas_tags (
    id INTEGER PRIMARY KEY,
    projection_id TEXT NOT NULL,
    name TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,  -- bumped when its points change: tag_definition_id
    UNIQUE (projection_id, name)
);
-- A tag belongs to one projection, so (tag, point) is the (projection, tag, point) key.
CREATE TABLE IF NOT EXISTS atlas_points (
    tag INTEGER NOT NULL,
    point INTEGER NOT NULL,
    PRIMARY KEY (tag, point)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS nekt_tags (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nekt_links (
    resource_id TEXT NOT NULL,
    tag_id TEXT NOT NULL,
    PRIMARY KEY (resource_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nekt_links_by_tag ON nekt_links (tag_id);

CREATE TABLE IF NOT EXISTS immuta_tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    system_created INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS immuta_links (
    model_type TEXT NOT NULL,
    model_id TEXT NOT NULL,
    tag_id INTEGER NOT NULL,
    added_by INTEGER NOT NULL,
    PRIMARY KEY (model_type, model_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS immuta_links_by_tag ON immuta_links (tag_id);
"""

_TABLES = ("atlas_points", "atlas_tags", "nekt_links", "nekt_tags", "immuta_links", "immuta_tags")


def now_iso() -> str:
    """UTC timestamp with milliseconds and a `Z`, as the providers print them."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """The sandbox state. Thread-safe: one connection guarded by one lock."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 10000")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        with self.tx() as db:
            _migrate(db)
            seeded = db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
            if seeded is None:  # a new file or memory; an existing file keeps its state
                _seed(db)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; rolled back if the body raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def reset(self) -> None:
        """Back to the demo world: every tag and assignment gone, the Immuta seeds back."""
        with self.tx() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")  # fixed table names
            _seed(db)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def state(self) -> dict[str, Any]:
        """Every assignment, as `GET /_sandbox/state` returns it (lists sorted)."""
        with self.tx() as db:
            atlas: dict[str, dict[str, list[str]]] = {}
            rows = db.execute(
                """SELECT t.projection_id, t.name,
                          (SELECT json_group_array(CAST(point AS TEXT))
                             FROM (SELECT point FROM atlas_points WHERE tag = t.id
                                   ORDER BY point))
                     FROM atlas_tags t
                    WHERE EXISTS (SELECT 1 FROM atlas_points WHERE tag = t.id)
                    ORDER BY t.projection_id, t.name"""
            )
            for projection, name, ids in rows:
                atlas.setdefault(projection, {})[name] = json.loads(ids)
            nekt = _grouped(
                db,
                """SELECT l.resource_id, t.name FROM nekt_links l
                     JOIN nekt_tags t ON t.id = l.tag_id ORDER BY l.resource_id, t.name""",
            )
            immuta = _grouped(
                db,
                """SELECT l.model_type || ':' || l.model_id, t.name FROM immuta_links l
                     JOIN immuta_tags t ON t.id = l.tag_id
                    ORDER BY l.model_type, l.model_id, t.name""",
            )
        return {"atlas": atlas, "nekt": nekt, "immuta": immuta}

    def state_table(self, provider: str, projection_id: str | None = None) -> pa.Table:
        """One provider's assignments as arrow columns "id", "tag" (dictionary-encoded),
        plus "kind" (the model type) for Immuta: what `GET /_sandbox/state` says for it,
        read in columns (a million Atlas points: int arrays, no JSON list of strings)."""
        with self.tx() as db:
            if provider == "atlas":
                return _atlas_table(db, projection_id)
            if provider == "nekt":
                rows = db.execute(
                    """SELECT l.resource_id, t.name FROM nekt_links l
                         JOIN nekt_tags t ON t.id = l.tag_id ORDER BY l.resource_id, t.name"""
                ).fetchall()
                return _text_table(rows)
            if provider == "immuta":
                rows = db.execute(
                    """SELECT l.model_id, t.name, l.model_type FROM immuta_links l
                         JOIN immuta_tags t ON t.id = l.tag_id
                        ORDER BY l.model_type, l.model_id, t.name"""
                ).fetchall()
                return _text_table(rows, kinds=True)
        raise KeyError(provider)


def _atlas_table(db: sqlite3.Connection, projection_id: str | None) -> pa.Table:
    where, args = ("WHERE projection_id = ?", (projection_id,)) if projection_id else ("", ())
    tags = db.execute(f"SELECT id, name FROM atlas_tags {where} ORDER BY name", args).fetchall()
    parts = [_points_text(db, tag) for tag, _ in tags]
    counts = [len(p) for p in parts]
    ids = pa.concat_arrays(parts) if parts else pa.array([], pa.string())
    names = pa.array([name for _, name in tags], pa.string())
    index = pa.array(np.repeat(np.arange(len(tags), dtype=np.int32), counts))
    return pa.table({"id": ids, "tag": pa.DictionaryArray.from_arrays(index, names)})


def _points_text(db: sqlite3.Connection, tag: int) -> pa.Array:
    """One tag's points as decimal text, ascending: joined by SQLite and split by Arrow (a
    Python row per point took 0.4 s of every state read for 833,000 points, 0.1 s so)."""
    (joined,) = db.execute(
        "SELECT group_concat(point, ',') FROM"
        " (SELECT point FROM atlas_points WHERE tag = ? ORDER BY point)",
        (tag,),
    ).fetchone()
    if not joined:
        return pa.array([], pa.string())
    split = pc.split_pattern(pa.array([joined], pa.large_string()), ",")
    return pc.list_flatten(split).cast(pa.string())


def _text_table(rows: list[tuple[Any, ...]], *, kinds: bool = False) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    out = {
        "id": pa.array([str(v) for v in columns[0]], pa.string()),
        "tag": pa.array([str(v) for v in columns[1]], pa.string()).dictionary_encode(),
    }
    if kinds:
        out["kind"] = pa.array([str(v) for v in columns[2]], pa.string())
    return pa.table(out)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a state file from an older sandbox up to this schema; give the store its epoch."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(atlas_tags)")}
    if "revision" not in columns:
        db.execute("ALTER TABLE atlas_tags ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
    # A random epoch per state (kept across resets, new for a new file or memory), so ids
    # derived from revisions never repeat with other content: clients cache tiles by them.
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('atlas_epoch', ?)", (str(uuid.uuid4()),)
    )
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('atlas_revision', '0')")


def next_atlas_revision(db: sqlite3.Connection) -> int:
    """A state-wide counter that never goes back, not even on reset."""
    (value,) = db.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'atlas_revision'"
        " RETURNING value"
    ).fetchone()
    return int(value)


def atlas_epoch(db: sqlite3.Connection) -> str:
    return str(db.execute("SELECT value FROM meta WHERE key = 'atlas_epoch'").fetchone()[0])


def _grouped(db: sqlite3.Connection, sql: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, name in db.execute(sql):
        out.setdefault(key, []).append(name)
    return out


def _seed(db: sqlite3.Connection) -> None:
    """The Immuta tags of the docs (system tags, with their parents) and seed assignments."""
    names = set(IMMUTA_SEED_TAGS)
    parents = sorted(
        {".".join(n.split(".")[:k]) for n in names for k in range(1, n.count(".") + 1)} - names
    )
    taken = set(IMMUTA_SEED_TAGS.values())
    free = (i for i in range(100, IMMUTA_FIRST_NEW_TAG_ID) if i not in taken)
    ids = dict(IMMUTA_SEED_TAGS) | {p: next(free) for p in parents}
    db.executemany(
        """INSERT INTO immuta_tags (id, name, source, deleted, system_created, created_by,
                                    created_at, updated_at)
           VALUES (?, ?, 'curated', 0, 1, NULL, ?, ?)""",
        [(i, n, SEED_TIME, SEED_TIME) for n, i in ids.items()],
    )
    db.executemany(
        "INSERT INTO immuta_links (model_type, model_id, tag_id, added_by) VALUES (?, ?, ?, ?)",
        [
            (*key.split(":", 1), ids[name], IMMUTA_USER_ID)
            for key, names_ in IMMUTA_SEED_ASSIGNMENTS.items()
            for name in names_
        ],
    )
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', ?)", (now_iso(),))
