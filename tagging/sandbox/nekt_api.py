"""Nekt tag endpoints, mounted under `/nekt`.

Nekt is a Django REST framework service: paths end with `/`, errors are 400
`{field: [messages]}`, lists page as `{count, next, previous, results}` with `?page=`.

Choices where the docs are silent:
- A well-formed UUID that is not a resource of that type rejects the whole call with 400,
  one DRF-style message per id under the type key: `Invalid pk "<id>" - object does not
  exist.` Nothing is attached or detached then.
- Detach skips names that are not tags of the organisation and returns the tag objects of
  the names that are (whether or not any listed resource carried them).
- Names are trimmed of leading and trailing whitespace before they are validated, stored or
  looked up, as DRF's `CharField(trim_whitespace=True)` does: " pii " is the tag "pii", and
  the 255-character limit applies to the trimmed name.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from tagging.demo import World
from tagging.providers.nekt import RESOURCE_TYPES as NEKT_TYPES
from tagging.sandbox.auth import RequireKey
from tagging.sandbox.store import Store, now_iso

PAGE_SIZE = 100
MAX_NAME_LENGTH = 255
_TAG_NAMESPACE = uuid.UUID("5d0c7f4e-8b2a-4f6d-a1c3-9e7b2d4f6a80")

Errors = dict[str, list[str]]


class NektError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def create_nekt_app(store: Store, world: World, key: str) -> FastAPI:
    app = FastAPI(title="Nekt (sandbox)", openapi_url=None, docs_url=None, redoc_url=None)
    resources = {t: {r["id"] for r in items} for t, items in world.nekt_resources().items()}

    def reject(headers: Headers) -> JSONResponse:
        given = headers.get("x-api-key")
        detail = "Invalid API key." if given else "Authentication credentials were not provided."
        return JSONResponse({"detail": detail}, status_code=401)

    app.add_middleware(RequireKey, accepts=lambda h: h.get("x-api-key") == key, reject=reject)

    @app.exception_handler(NektError)
    async def _nekt_error(_: Request, exc: NektError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.post("/api/v1/tags/attach/")
    async def attach(request: Request) -> list[dict[str, str]]:
        names, targets = parse_tag_request(await _json_body(request), resources)
        return await run_in_threadpool(_attach, store, names, targets)

    @app.post("/api/v1/tags/detach/")
    async def detach(request: Request) -> list[dict[str, str]]:
        names, targets = parse_tag_request(await _json_body(request), resources)
        return await run_in_threadpool(_detach, store, names, targets)

    @app.get("/api/v1/tags/")
    def list_tags(request: Request) -> dict[str, Any]:
        raw_page = request.query_params.get("page", "1")
        page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() else 0
        with store.tx() as db:
            count = db.execute("SELECT count(*) FROM nekt_tags").fetchone()[0]
            last = max(1, -(-count // PAGE_SIZE))
            if not 1 <= page <= last:
                raise NektError(404, {"detail": "Invalid page."})
            rows = db.execute(
                "SELECT id, name, created_at, updated_at FROM nekt_tags ORDER BY name"
                " LIMIT ? OFFSET ?",
                (PAGE_SIZE, (page - 1) * PAGE_SIZE),
            ).fetchall()

        def link(p: int) -> str | None:
            return str(request.url.include_query_params(page=p)) if 1 <= p <= last else None

        return {
            "count": count,
            "next": link(page + 1),
            "previous": link(page - 1),
            "results": [_tag_json(row) for row in rows],
        }

    return app


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise NektError(400, {"detail": f"JSON parse error - {exc}"}) from None


def parse_tag_request(
    body: Any, resources: dict[str, set[str]]
) -> tuple[list[str], dict[str, list[str]]]:
    """Validate an attach/detach body: (distinct names in order, {type: distinct ids})."""
    if not isinstance(body, dict):
        kind = type(body).__name__
        raise NektError(
            400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
        )
    errors: Errors = {}
    names = _names(body.get("names"), "names" in body, errors)
    targets: dict[str, list[str]] = {}
    for rtype in NEKT_TYPES:
        if rtype in body:
            ids = _uuids(body[rtype], rtype, errors)
            if ids:
                targets[rtype] = ids
    if errors:
        raise NektError(400, errors)
    if not targets:
        message = "At least one resource list must contain at least one ID."
        raise NektError(400, {"non_field_errors": [message]})
    for rtype, ids in targets.items():
        missing = [i for i in ids if i not in resources[rtype]]
        if missing:
            errors[rtype] = [f'Invalid pk "{i}" - object does not exist.' for i in missing]
    if errors:
        raise NektError(400, errors)
    return names, targets


def _names(value: Any, present: bool, errors: Errors) -> list[str]:
    if not present or value is None:
        required = "This field is required." if not present else "This field may not be null."
        errors["names"] = [required]
        return []
    if not isinstance(value, list):
        errors["names"] = [f'Expected a list of items but got type "{type(value).__name__}".']
        return []
    if not value:
        errors["names"] = ["This list may not be empty."]
        return []
    messages: list[str] = []
    names: list[str] = []
    for i, raw in enumerate(value):
        name = raw.strip() if isinstance(raw, str) else None
        if name is None:
            messages.append(f"Item {i}: Not a valid string.")
        elif not name:
            messages.append(f"Item {i}: This field may not be blank.")
        elif len(name) > MAX_NAME_LENGTH:
            messages.append(
                f"Item {i}: Ensure this field has no more than {MAX_NAME_LENGTH} characters."
            )
        else:
            names.append(name)
    if messages:
        errors["names"] = messages
        return []
    return list(dict.fromkeys(names))


def _uuids(value: Any, field: str, errors: Errors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors[field] = [f'Expected a list of items but got type "{type(value).__name__}".']
        return []
    out: list[str] = []
    messages: list[str] = []
    for item in value:
        try:
            if not isinstance(item, str):
                raise ValueError(item)
            out.append(str(uuid.UUID(item)))
        except ValueError:
            messages.append(f'"{item}" is not a valid UUID.')
    if messages:
        errors[field] = messages
    return list(dict.fromkeys(out))


def _attach(store: Store, names: list[str], targets: dict[str, list[str]]) -> list[dict[str, str]]:
    stamp = now_iso()
    with store.tx() as db:
        db.executemany(
            "INSERT OR IGNORE INTO nekt_tags (id, name, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)",
            [(str(uuid.uuid5(_TAG_NAMESPACE, n)), n, stamp, stamp) for n in names],
        )
        tags = _tags_named(db, names)
        db.executemany(
            "INSERT OR IGNORE INTO nekt_links (resource_id, tag_id) VALUES (?, ?)",
            [(rid, tag[0]) for ids in targets.values() for rid in ids for tag in tags],
        )
    return [_tag_json(t) for t in tags]


def _detach(store: Store, names: list[str], targets: dict[str, list[str]]) -> list[dict[str, str]]:
    with store.tx() as db:
        tags = _tags_named(db, names)
        db.executemany(
            "DELETE FROM nekt_links WHERE resource_id = ? AND tag_id = ?",
            [(rid, tag[0]) for ids in targets.values() for rid in ids for tag in tags],
        )
    return [_tag_json(t) for t in tags]


def _tags_named(db: sqlite3.Connection, names: list[str]) -> list[tuple[str, str, str, str]]:
    """The existing tags among `names`, in the order of `names`."""
    rows = db.execute(
        "SELECT id, name, created_at, updated_at FROM nekt_tags"
        " WHERE name IN (SELECT value FROM json_each(?))",
        (json.dumps(names),),
    ).fetchall()
    by_name = {row[1]: row for row in rows}
    return [by_name[n] for n in names if n in by_name]


def _tag_json(row: tuple[str, str, str, str]) -> dict[str, str]:
    return {"id": row[0], "name": row[1], "created_at": row[2], "updated_at": row[3]}
