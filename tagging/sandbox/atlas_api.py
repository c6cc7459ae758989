"""Nomic Atlas tag endpoints, mounted under `/atlas`.

Atlas is a FastAPI service: validation errors are 422 `{"detail": [{"loc", "msg", "type"}]}`.
A point id is the string form of an integer "0".."N-1" with no leading zeros; each of the
`ATLAS_ID_FIELDS` holds the same values, so `id_field` only has to be one of them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Literal

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.datastructures import Headers

from tagging.demo import ATLAS_ID_FIELDS, World
from tagging.sandbox.auth import RequireKey, bearer_token
from tagging.sandbox.store import Store, now_iso

_TAG_NAMESPACE = uuid.UUID("0b8e9f3c-2a47-4c1e-9d51-7f3a6c2e8b90")


class TagIdsRequest(BaseModel):
    projection_id: str
    tag_name: str = Field(min_length=1)
    ids: list[str]
    operation: Literal["add", "remove"]
    id_field: str | None = None

    @field_validator("id_field")
    @classmethod
    def _known_id_field(cls, value: str | None) -> str | None:
        if value is not None and value not in ATLAS_ID_FIELDS:
            raise ValueError(f"id_field must be one of {', '.join(ATLAS_ID_FIELDS)}")
        return value


def create_atlas_app(store: Store, world: World, key: str) -> FastAPI:
    app = FastAPI(title="Atlas (sandbox)", openapi_url=None, docs_url=None, redoc_url=None)
    points = {str(p["id"]): int(p["points"]) for p in world.atlas_projections}  # type: ignore[call-overload]

    def reject(_: Headers) -> JSONResponse:
        return JSONResponse({"detail": "Could not validate credentials"}, status_code=401)

    app.add_middleware(RequireKey, accepts=lambda h: bearer_token(h) == key, reject=reject)

    @app.post("/v1/query/update/tag/ids", response_model=None)
    def update_tag_ids(req: TagIdsRequest) -> dict[str, object] | JSONResponse:
        size = points.get(req.projection_id)
        if size is None:
            return _not_found(["body", "projection_id"], req.projection_id)
        found = json.dumps(sorted(existing_points(req.ids, size)))
        with store.tx() as db:
            tag = _tag_row(db, req.projection_id, req.tag_name, create=req.operation == "add")
            if req.operation == "add":
                db.execute(
                    "INSERT OR IGNORE INTO atlas_points (tag, point)"
                    " SELECT ?, value FROM json_each(?)",
                    (tag[0], found),
                )
            elif tag[0] is not None:
                db.execute(
                    "DELETE FROM atlas_points"
                    " WHERE tag = ? AND point IN (SELECT value FROM json_each(?))",
                    (tag[0], found),
                )
        # points_tagged counts the distinct ids that exist in the projection, for add and
        # for remove alike (whether or not they carried the tag before): an idempotent count.
        return {"success": True, "tag_id": tag[1], "points_tagged": len(json.loads(found))}

    @app.get("/v1/project/projection/tags/get/all", response_model=None)
    def list_tags(projection_id: str = Query(...)) -> list[dict[str, object]] | JSONResponse:
        if projection_id not in points:
            return _not_found(["query", "projection_id"], projection_id)
        with store.tx() as db:
            rows = db.execute(
                """SELECT uuid, name, created_at,
                          (SELECT count(*) FROM atlas_points WHERE tag = t.id)
                     FROM atlas_tags t WHERE projection_id = ? ORDER BY name""",
                (projection_id,),
            ).fetchall()
        return [
            {
                "tag_id": tag_id,
                "tag_name": name,
                "projection_id": projection_id,
                "created_at": created,
                "count": count,
            }
            for tag_id, name, created, count in rows
        ]

    return app


def existing_points(ids: list[str], size: int) -> set[int]:
    """The distinct ids that name a point: canonical decimal strings below `size`."""
    out: set[int] = set()
    for text in set(ids):
        canonical = text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")
        # A length check first: int() refuses strings of more than 4300 digits.
        if canonical and len(text) <= len(str(size)):
            value = int(text)
            if value < size:
                out.add(value)
    return out


def _tag_row(
    db: sqlite3.Connection, projection_id: str, name: str, *, create: bool
) -> tuple[int | None, str]:
    """(row id or None, tag uuid). The uuid is derived from the name, so it is stable."""
    row = db.execute(
        "SELECT id, uuid FROM atlas_tags WHERE projection_id = ? AND name = ?",
        (projection_id, name),
    ).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    tag_uuid = str(uuid.uuid5(_TAG_NAMESPACE, f"{projection_id}\n{name}"))
    if not create:
        return None, tag_uuid
    cur = db.execute(
        "INSERT INTO atlas_tags (projection_id, name, uuid, created_at) VALUES (?, ?, ?, ?)",
        (projection_id, name, tag_uuid, now_iso()),
    )
    return cur.lastrowid, tag_uuid


def _not_found(loc: list[str], projection_id: str) -> JSONResponse:
    detail = [{"loc": loc, "msg": f"Projection {projection_id} not found", "type": "not_found"}]
    return JSONResponse({"detail": detail}, status_code=404)
