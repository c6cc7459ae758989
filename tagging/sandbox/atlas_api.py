"""Nomic Atlas endpoints, mounted under `/atlas` (or at the root of `--atlas-port`).

Atlas is a FastAPI service: validation errors are 422 `{"detail": [{"loc", "msg", "type"}]}`.
A point id is the string form of an integer "0".."N-1" with no leading zeros; each of the
`ATLAS_ID_FIELDS` holds the same values, so `id_field` only has to be one of them.

Besides the documented tag update, the reads the nomic client needs to reach the map and
its tags (user, organization, dataset, tag list and status, quadtree tiles: see
`atlas_tiles` for their exact shapes).

Choices where the docs are silent:
- `tag_name` is 1 to `MAX_TAG_NAME_LENGTH` (255) characters, taken as given (no trimming).
- `ids` must hold at least one id (422 `too_short`), for add and remove: an add of nothing
  would otherwise create an empty tag.
- `points_tagged` on add counts the distinct ids the projection holds (tagged before or
  not, as the docs' "successfully processed"); on remove it counts the ids that carried
  the tag and no longer do.
- Removing a tag that was never created on the projection answers 404
  (`loc: ["body", "tag_name"]`) and creates nothing: the answer's `tag_id` must be "the UUID
  of the tag that was removed", and there is none; nomic itself never removes (its
  `AtlasMapTags.remove` raises), so no client relies on a 200 there.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Literal

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.datastructures import Headers

from tagging.demo import (
    ATLAS_DATASET_ID,
    ATLAS_DATASET_SLUG,
    ATLAS_ID_FIELDS,
    ATLAS_ORG_SLUG,
    ATLAS_PROJECTION_ID,
    World,
)
from tagging.sandbox import atlas_catalog as catalog
from tagging.sandbox import atlas_tiles as tiles
from tagging.sandbox.auth import RequireKey, bearer_token
from tagging.sandbox.store import Store, atlas_epoch, next_atlas_revision, now_iso

_TAG_NAMESPACE = uuid.UUID("0b8e9f3c-2a47-4c1e-9d51-7f3a6c2e8b90")
_DEFINITION_NAMESPACE = uuid.UUID("e2a1c7d4-5b3f-4e8a-9c60-1f2d3b4a5c6e")
MAX_TAG_NAME_LENGTH = 255
FEATHER = "application/vnd.apache.arrow.file"


class TagIdsRequest(BaseModel):
    projection_id: str
    tag_name: str = Field(min_length=1, max_length=MAX_TAG_NAME_LENGTH)
    ids: list[str] = Field(min_length=1)
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
    tag_tiles = tiles.TagTileCache()

    def reject(_: Headers) -> JSONResponse:
        return JSONResponse({"detail": "Could not validate credentials"}, status_code=401)

    app.add_middleware(RequireKey, accepts=lambda h: bearer_token(h) == key, reject=reject)

    @app.post("/v1/query/update/tag/ids", response_model=None)
    def update_tag_ids(req: TagIdsRequest) -> dict[str, object] | JSONResponse:
        size = points.get(req.projection_id)
        if size is None:
            return _not_found(["body", "projection_id"], f"Projection {req.projection_id}")
        found = json.dumps(sorted(existing_points(req.ids, size)))
        with store.tx() as db:
            add = req.operation == "add"
            tag = _tag_row(db, req.projection_id, req.tag_name, create=add)
            if tag[0] is None:
                return _not_found(
                    ["body", "tag_name"], f"Tag {req.tag_name} in projection {req.projection_id}"
                )
            if add:
                changed = db.execute(
                    "INSERT OR IGNORE INTO atlas_points (tag, point)"
                    " SELECT ?, value FROM json_each(?)",
                    (tag[0], found),
                ).rowcount
                counted = len(json.loads(found))
            else:
                changed = counted = db.execute(
                    "DELETE FROM atlas_points"
                    " WHERE tag = ? AND point IN (SELECT value FROM json_each(?))",
                    (tag[0], found),
                ).rowcount
            if changed:
                db.execute(
                    "UPDATE atlas_tags SET revision = ? WHERE id = ?",
                    (next_atlas_revision(db), tag[0]),
                )
        return {"success": True, "tag_id": tag[1], "points_tagged": counted}

    @app.get("/v1/project/projection/tags/get/all", response_model=None)
    def list_tags(projection_id: str = Query(...)) -> list[dict[str, object]] | JSONResponse:
        if projection_id not in points:
            return _not_found(["query", "projection_id"], f"Projection {projection_id}")
        with store.tx() as db:
            epoch = atlas_epoch(db)
            rows = db.execute(
                """SELECT uuid, name, created_at, revision,
                          (SELECT count(*) FROM atlas_points WHERE tag = t.id)
                     FROM atlas_tags t WHERE projection_id = ? ORDER BY name""",
                (projection_id,),
            ).fetchall()
        return [
            {
                "tag_id": tag_id,
                "tag_name": name,
                "tag_definition_id": definition_id(epoch, tag_id, revision),
                "projection_id": projection_id,
                "project_id": ATLAS_DATASET_ID,
                "created_at": created,
                "count": count,
            }
            for tag_id, name, created, revision, count in rows
        ]

    @app.get("/v1/project/projection/tags/status", response_model=None)
    def tag_status(tag_id: str = Query(...)) -> dict[str, object] | JSONResponse:
        with store.tx() as db:
            row = db.execute("SELECT 1 FROM atlas_tags WHERE uuid = ?", (tag_id,)).fetchone()
        if row is None:
            return _not_found(["query", "tag_id"], f"Tag {tag_id}")
        return {"tag_id": tag_id, "is_complete": True}  # updates apply at once here

    @app.get("/v1/user")
    def current_user() -> dict[str, object]:
        return catalog.user()

    @app.get("/v1/organization/{slug}", response_model=None)
    def organization(slug: str) -> dict[str, object] | JSONResponse:
        if slug != ATLAS_ORG_SLUG:
            return JSONResponse({"detail": "Organization not found"}, status_code=404)
        return catalog.organization()

    @app.get("/v1/project/index/job/progress/{index_id}")
    def index_progress(index_id: str) -> dict[str, object]:
        return {"index_id": index_id, "index_build_stage": "Completed"}

    @app.get("/v1/project/projection/{projection_id}/schema", response_model=None)
    def projection_schema(projection_id: str) -> Response:
        if projection_id not in points:
            return JSONResponse({"detail": "Projection not found"}, status_code=404)
        return Response(tiles.data_schema(), media_type="application/octet-stream")

    @app.get("/v1/project/{org_slug}/{dataset_slug}", response_model=None)
    def dataset_by_slug(org_slug: str, dataset_slug: str) -> dict[str, object] | JSONResponse:
        if (org_slug, dataset_slug) != (ATLAS_ORG_SLUG, ATLAS_DATASET_SLUG):
            return JSONResponse({"detail": "Dataset not found"}, status_code=404)
        return catalog.dataset(points[ATLAS_PROJECTION_ID])

    @app.get("/v1/project/{dataset_id}", response_model=None)
    def dataset_by_id(dataset_id: str) -> dict[str, object] | JSONResponse:
        if dataset_id != ATLAS_DATASET_ID:
            return JSONResponse({"detail": "Dataset not found"}, status_code=404)
        return catalog.dataset(points[ATLAS_PROJECTION_ID])

    @app.get(
        "/v1/project/{dataset_id}/index/projection/{projection_id}/quadtree/{path:path}",
        response_model=None,
    )
    def quadtree(dataset_id: str, projection_id: str, path: str) -> Response:
        size = points.get(projection_id)
        if dataset_id != ATLAS_DATASET_ID or size is None:
            return JSONResponse({"detail": "Projection not found"}, status_code=404)
        body = _quadtree_file(store, tag_tiles, projection_id, size, path)
        if body is None:
            return JSONResponse({"detail": "Tile not found"}, status_code=404)
        return Response(body, media_type=FEATHER)

    return app


def _quadtree_file(
    store: Store, cache: tiles.TagTileCache, projection_id: str, size: int, path: str
) -> bytes | None:
    """The manifest or one tile: `{key}.datum_id.feather`, `{key}._tag.{def}.feather`, ..."""
    if path == "manifest.feather":
        return tiles.manifest(size)
    head, _, name = path.rpartition("/")
    coord, _, sidecar = name.removesuffix(".feather").partition(".")
    if not name.endswith(".feather") or not head:
        return None
    key = f"{head}/{coord}"
    if sidecar == "datum_id":
        return tiles.datum_id_tile(size, key)
    if sidecar == "":
        return tiles.data_tile(size, key)
    if sidecar.startswith("_tag."):
        wanted = sidecar.removeprefix("_tag.")
        with store.tx() as db:  # an outdated definition is gone, cached or not
            if _defined_tag(db, projection_id, wanted) is None:
                return None
        return cache.tile(wanted, key, lambda: _tag_tiles(store, projection_id, size, wanted))
    return None


def _tag_tiles(store: Store, projection_id: str, size: int, wanted: str) -> dict[str, bytes]:
    """All tiles of the tag whose current definition is `wanted`; none if it is outdated."""
    with store.tx() as db:
        tag = _defined_tag(db, projection_id, wanted)
        if tag is None:
            return {}
        cursor = db.execute("SELECT point FROM atlas_points WHERE tag = ?", (tag,))
        tagged = np.fromiter((p for (p,) in cursor), dtype=np.int64)
    return tiles.tag_tiles(size, tagged)


def _defined_tag(db: sqlite3.Connection, projection_id: str, wanted: str) -> int | None:
    """The row id of the tag whose current definition is `wanted`, if any."""
    epoch = atlas_epoch(db)
    rows = db.execute(
        "SELECT id, uuid, revision FROM atlas_tags WHERE projection_id = ?", (projection_id,)
    ).fetchall()
    return next((int(r[0]) for r in rows if definition_id(epoch, r[1], r[2]) == wanted), None)


def definition_id(epoch: str, tag_id: str, revision: int) -> str:
    """The id of one tag's content: new whenever its points change (see `atlas_tiles`)."""
    return str(uuid.uuid5(_DEFINITION_NAMESPACE, f"{epoch}\n{tag_id}\n{revision}"))


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


def _not_found(loc: list[str], what: str) -> JSONResponse:
    detail = [{"loc": loc, "msg": f"{what} not found", "type": "not_found"}]
    return JSONResponse({"detail": detail}, status_code=404)
