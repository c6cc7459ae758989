"""Immuta's tag model on the sandbox database: hierarchy, search, assignments.

Each function runs inside one `Store.tx()` and raises `ImmutaError` before writing anything
when the request is invalid, so a rejected call changes nothing.

The hierarchy lives in the names ("Discovered.Country.Canada"): every ancestor is a tag row
of its own, created after the requested tags so the docs' ids (129..131) come out right.
A tag "has children" when another non-deleted tag's name starts with its name and a dot.

Tags Immuta created (the seeds, `systemCreated`) are `protected: true` and cannot be
updated: renaming one by id, or naming one as `rootTag`, answers 403 (the docs say only
"cannot be updated"; 403 is hapi's answer for a well-formed request that is not allowed).
A `rootTag` that does not exist yet is created with its children (fh-immuta-utils creates
every hierarchy that way), and a tag named like the root itself is the root.
Names are at most `MAX_TAG_NAME_LENGTH` (255) characters in all: the docs give no limit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from tagging.demo import IMMUTA_FIRST_NEW_TAG_ID, World
from tagging.providers.immuta import MODEL_TYPES as IMMUTA_MODEL_TYPES
from tagging.sandbox.store import IMMUTA_USER_ID, now_iso

MAX_TAG_NAME_LENGTH = 255
_TAG_COLUMNS = "id, name, source, deleted, system_created, created_by, created_at, updated_at"


class ImmutaError(Exception):
    """An error answered as `{statusCode, error, message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "error": HTTPStatus(self.status).phrase,
            "message": self.message,
        }


def tag_json(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    tag_id, name, source, deleted, system, created_by, created_at, updated_at = row
    return {
        "id": tag_id,
        "name": name,
        "displayName": name.rsplit(".", 1)[-1],
        "color": None,
        "description": None,
        "source": source,
        "deleted": bool(deleted),
        "systemCreated": bool(system),
        "protected": bool(system),
        "createdBy": created_by,
        "createdAt": created_at,
        "updatedAt": updated_at,
    }


def check_tag_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise ImmutaError(400, f'"{where}" must be a non-empty string')
    if any(not part.strip() for part in name.split(".")):
        raise ImmutaError(400, f'"{where}" has an empty level in "{name}"')
    if len(name) > MAX_TAG_NAME_LENGTH:
        message = f'"{where}" length must be less than or equal to {MAX_TAG_NAME_LENGTH} characters'
        raise ImmutaError(400, message)
    return name


# --- Create or update ---------------------------------------------------------


def create_or_update(db: sqlite3.Connection, payload: Any) -> list[dict[str, Any]]:
    """`POST /tag`: create tags (and missing ancestors), or rename by id under `rootTag`."""
    tags, root, delete_hierarchy = _parse_create(payload)
    if root is not None:
        for tag in tags:
            if tag["name"] != root and not tag["name"].startswith(root + "."):
                raise ImmutaError(400, f'Tag "{tag["name"]}" is not a child of "{root}"')
    for tag in tags:
        if "id" in tag:
            row = _by_id(db, tag["id"])
            if row is None:
                raise ImmutaError(404, f"Tag with id {tag['id']} not found")
            _check_unprotected(row)
    root_row = _active(db, root) if root is not None else None
    if root_row is not None:
        _check_unprotected(root_row)
    stamp = now_iso()
    if root is not None and delete_hierarchy:
        keep = {t["id"] for t in tags if "id" in t}
        gone = [r[0] for r in _descendants(db, root) if r[0] not in keep]
        _mark_deleted(db, gone, stamp)
    ids = [_upsert(db, tag, stamp) for tag in tags]
    for name in _ancestors(t["name"] for t in tags):
        _upsert(db, {"name": name}, stamp)
    return [tag_json(_by_id(db, i)) for i in ids]  # type: ignore[arg-type]


def _check_unprotected(row: tuple[Any, ...]) -> None:
    if row[4]:  # system_created
        raise ImmutaError(403, f'Tag "{row[1]}" is protected and cannot be updated')


def _parse_create(payload: Any) -> tuple[list[dict[str, Any]], str | None, bool]:
    if not isinstance(payload, dict):
        raise ImmutaError(400, '"value" must be an object')
    tags = payload.get("tags")
    if not isinstance(tags, list) or not tags:
        raise ImmutaError(400, '"tags" must be a non-empty array')
    parsed: list[dict[str, Any]] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, dict):
            raise ImmutaError(400, f'"tags[{i}]" must be an object')
        item: dict[str, Any] = {"name": check_tag_name(tag.get("name"), f"tags[{i}].name")}
        if tag.get("id") is not None:
            if not isinstance(tag["id"], int) or isinstance(tag["id"], bool):
                raise ImmutaError(400, f'"tags[{i}].id" must be an integer')
            item["id"] = tag["id"]
        parsed.append(item)
    root = payload.get("rootTag")
    if root is None:
        return parsed, None, False
    if not isinstance(root, dict):
        raise ImmutaError(400, '"rootTag" must be an object')
    name = check_tag_name(root.get("name"), "rootTag.name")
    if root.get("source") not in (None, "curated"):
        raise ImmutaError(400, '"rootTag.source" must be [curated]')
    delete = root.get("deleteHierarchy", False)
    if not isinstance(delete, bool):
        raise ImmutaError(400, '"rootTag.deleteHierarchy" must be a boolean')
    return parsed, name, delete


def _upsert(db: sqlite3.Connection, tag: dict[str, Any], stamp: str) -> int:
    """Rename by id, revive a deleted tag of that name, or create it. Returns its id."""
    name = tag["name"]
    same_name = db.execute("SELECT id, deleted FROM immuta_tags WHERE name = ?", (name,)).fetchone()
    if "id" in tag:
        if same_name is not None and same_name[0] != tag["id"]:
            if not same_name[1]:
                raise ImmutaError(409, f'Tag "{name}" already exists')
            db.execute("DELETE FROM immuta_tags WHERE id = ?", (same_name[0],))
        db.execute(
            "UPDATE immuta_tags SET name = ?, deleted = 0, updated_at = ? WHERE id = ?",
            (name, stamp, tag["id"]),
        )
        return int(tag["id"])
    if same_name is not None:
        if same_name[1]:
            db.execute(
                "UPDATE immuta_tags SET deleted = 0, updated_at = ? WHERE id = ?",
                (stamp, same_name[0]),
            )
        return int(same_name[0])
    (top,) = db.execute("SELECT max(id) FROM immuta_tags").fetchone()
    new_id = max(IMMUTA_FIRST_NEW_TAG_ID, (top or 0) + 1)
    db.execute(
        "INSERT INTO immuta_tags (id, name, source, deleted, system_created, created_by,"
        " created_at, updated_at) VALUES (?, ?, 'curated', 0, 0, ?, ?, ?)",
        (new_id, name, IMMUTA_USER_ID, stamp, stamp),
    )
    return new_id


def _ancestors(names: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for name in names:
        parts = name.split(".")
        for k in range(1, len(parts)):
            out[".".join(parts[:k])] = None
    return list(out)


# --- Search ---------------------------------------------------------------------


def search(
    db: sqlite3.Connection,
    *,
    search_text: str | None,
    source: str | None,
    excluded_source: str | None,
    include_all_system_tags: bool | None,
    excluded_hierarchies: list[str],
    limit: int | None,
) -> list[dict[str, Any]]:
    """`GET /tag`, sorted by name.

    Deleted tags are left out, except deleted system tags with includeAllSystemTags=true;
    includeAllSystemTags=false leaves out every system tag. An excluded hierarchy removes
    the tag of that name and everything under it.
    """
    rows = db.execute(f"SELECT {_TAG_COLUMNS} FROM immuta_tags ORDER BY name").fetchall()
    out: list[dict[str, Any]] = []
    needle = (search_text or "").lower()
    for row in rows:
        name, row_source, deleted, system = row[1], row[2], bool(row[3]), bool(row[4])
        if deleted and not (system and include_all_system_tags):
            continue
        if system and include_all_system_tags is False:
            continue
        if needle and needle not in name.lower():
            continue
        if source is not None and row_source != source:
            continue
        if excluded_source is not None and row_source == excluded_source:
            continue
        if any(name == h or name.startswith(h + ".") for h in excluded_hierarchies):
            continue
        out.append(tag_json(row))
        if limit is not None and len(out) >= limit:
            break
    return out


# --- Delete ---------------------------------------------------------------------


def delete_tag(db: sqlite3.Connection, name: str, delete_hierarchy: bool) -> list[dict[str, Any]]:
    """`DELETE /tag/{tag}`: mark deleted (with its children when asked) and unassign."""
    row = _active(db, name)
    if row is None:
        raise ImmutaError(404, f'Tag "{name}" not found')
    children = [r[0] for r in _descendants(db, name)]
    if children and not delete_hierarchy:
        raise ImmutaError(400, f'Tag "{name}" has child tags; pass deleteHierarchy=true')
    ids = [row[0], *children]
    _mark_deleted(db, ids, now_iso())
    return [tag_json(_by_id(db, i)) for i in ids]  # type: ignore[arg-type]


def _mark_deleted(db: sqlite3.Connection, ids: list[int], stamp: str) -> None:
    batch = json.dumps(ids)
    db.execute(
        "UPDATE immuta_tags SET deleted = 1, updated_at = ?"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (stamp, batch),
    )
    db.execute(
        "DELETE FROM immuta_links WHERE tag_id IN (SELECT value FROM json_each(?))", (batch,)
    )


# --- Models and assignments -------------------------------------------------------


class Models:
    """Which data sources, columns and projects exist in the world."""

    def __init__(self, world: World) -> None:
        self.columns = {str(d["id"]): set(d["columns"]) for d in world.immuta_datasources()}  # type: ignore[call-overload]
        self.projects = {str(p["id"]) for p in world.immuta_projects()}

    def check_type(self, model_type: str) -> None:
        if model_type not in IMMUTA_MODEL_TYPES:
            allowed = ", ".join(IMMUTA_MODEL_TYPES)
            raise ImmutaError(400, f'"modelType" must be one of [{allowed}]')

    def check(self, model_type: str, model_id: str) -> None:
        """400 for an unknown model type, 404 for a model that does not exist."""
        self.check_type(model_type)
        if model_type == "datasource" and model_id not in self.columns:
            raise ImmutaError(404, f"Data source {model_id} not found")
        if model_type == "project" and model_id not in self.projects:
            raise ImmutaError(404, f"Project {model_id} not found")
        if model_type == "column":
            source, _, column = model_id.partition("_")
            if column not in self.columns.get(source, ()):
                raise ImmutaError(404, f"Column {model_id} not found")


def parse_add_payload(payload: Any) -> list[str]:
    """The tag names of a `POST /tag/{modelType}/{modelId}` body (a list of tag objects)."""
    if not isinstance(payload, list):
        raise ImmutaError(400, '"value" must be an array')
    names: list[str] = []
    for i, item in enumerate(payload):
        if not isinstance(item, dict):
            raise ImmutaError(400, f'"[{i}]" must be an object')
        names.append(check_tag_name(item.get("name"), f"[{i}].name"))
    return list(dict.fromkeys(names))


def add_to_model(
    db: sqlite3.Connection, model_type: str, model_id: str, names: list[str]
) -> list[dict[str, Any]]:
    """All or nothing: one unknown or deleted tag rejects the call.

    A parent tag (one with children) is ignored as real Immuta does: 200, not stored, and
    left out of the response.
    """
    rows = {r[1]: r for r in (_active(db, n) for n in names) if r is not None}
    invalid = [n for n in names if n not in rows]
    if invalid:
        raise ImmutaError(
            400, f"No tags were processed: invalid tags {json.dumps(invalid, ensure_ascii=False)}"
        )
    leaves = [rows[n] for n in names if not _descendants(db, n)]
    db.executemany(
        "INSERT OR IGNORE INTO immuta_links (model_type, model_id, tag_id, added_by)"
        " VALUES (?, ?, ?, ?)",
        [(model_type, model_id, r[0], IMMUTA_USER_ID) for r in leaves],
    )
    return [_assignment_json(r[1], r[2], IMMUTA_USER_ID) for r in leaves]


def remove_from_model(
    db: sqlite3.Connection, model_type: str, model_id: str, name: str
) -> list[dict[str, Any]]:
    """Remove one tag from a model: 404 for an unknown tag, `[]` if it was not applied."""
    row = _active(db, name)
    if row is None:
        raise ImmutaError(404, f'Tag "{name}" not found')
    link = db.execute(
        "DELETE FROM immuta_links WHERE model_type = ? AND model_id = ? AND tag_id = ?"
        " RETURNING added_by",
        (model_type, model_id, row[0]),
    ).fetchone()
    return [] if link is None else [_assignment_json(row[1], row[2], link[0])]


def model_tags(db: sqlite3.Connection, model_type: str, model_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT t.name, t.source, l.added_by FROM immuta_links l"
        " JOIN immuta_tags t ON t.id = l.tag_id"
        " WHERE l.model_type = ? AND l.model_id = ? ORDER BY t.name",
        (model_type, model_id),
    ).fetchall()
    return [_assignment_json(*r) for r in rows]


def _assignment_json(name: str, source: str, added_by: int) -> dict[str, Any]:
    return {
        "name": name,
        "source": source,
        "context": "manual",
        "addedBy": added_by,
        "deleted": False,
    }


# --- Lookups ------------------------------------------------------------------------


def active_tag(db: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
    """The tag row of that name unless deleted (columns as `_TAG_COLUMNS`)."""
    return _active(db, name)


def has_children(db: sqlite3.Connection, name: str) -> bool:
    return bool(_descendants(db, name))


def _active(db: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
    return db.execute(
        f"SELECT {_TAG_COLUMNS} FROM immuta_tags WHERE name = ? AND deleted = 0",
        (name,),
    ).fetchone()


def _by_id(db: sqlite3.Connection, tag_id: int) -> tuple[Any, ...] | None:
    return db.execute(
        f"SELECT {_TAG_COLUMNS} FROM immuta_tags WHERE id = ?",
        (tag_id,),
    ).fetchone()


def _descendants(db: sqlite3.Connection, name: str) -> list[tuple[Any, ...]]:
    prefix = name + "."
    return db.execute(
        f"SELECT {_TAG_COLUMNS} FROM immuta_tags WHERE deleted = 0 AND substr(name, 1, ?) = ?",
        (len(prefix), prefix),
    ).fetchall()
