"""Immuta endpoints, mounted under `/immuta` (or at the root of `--immuta-port`).

Immuta answers errors as `{statusCode, error, message}` (hapi style) and takes the key as
`Authorization: KEY` or `Authorization: Bearer KEY`, or a token from the API-key exchange
(`immuta_session`) as `Authorization: Bearer TOKEN`. Besides the documented tag endpoints:
the exchange, the current user, data sources and data dictionaries (`immuta_datasources`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from tagging.demo import World
from tagging.sandbox import immuta_tags as tags
from tagging.sandbox.auth import RequireKey, bearer_token
from tagging.sandbox.immuta_datasources import DataSources, page_params
from tagging.sandbox.immuta_hot import AddTags
from tagging.sandbox.immuta_session import Tokens, current_user
from tagging.sandbox.immuta_tags import ImmutaError, Models
from tagging.sandbox.store import Store

LOGIN_PATH = "/bim/apikey/authenticate"


def create_immuta_app(store: Store, world: World, key: str) -> FastAPI:
    app = FastAPI(title="Immuta (sandbox)", openapi_url=None, docs_url=None, redoc_url=None)
    models = Models(world)
    sources = DataSources(world)
    tokens = Tokens(key)

    def accepts(headers: Headers) -> bool:
        token = bearer_token(headers)
        return key in (headers.get("authorization", "").strip(), token) or tokens.valid(token)

    def reject(headers: Headers) -> JSONResponse:
        message = "Invalid token" if headers.get("authorization") else "Missing authentication"
        return JSONResponse(ImmutaError(401, message).body(), status_code=401)

    app.add_middleware(
        RequireKey, accepts=accepts, reject=reject, open_paths=frozenset({LOGIN_PATH})
    )
    # A push's calls, answered in front of the routing (see immuta_hot); errors come here.
    app.state.add_tags = AddTags(store, models, accepts)

    @app.exception_handler(ImmutaError)
    async def _immuta_error(_: Request, exc: ImmutaError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = ImmutaError(exc.status_code, str(exc.detail))
        return JSONResponse(error.body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(ImmutaError(400, "Invalid request input").body(), status_code=400)

    @app.post("/tag")
    async def create_tags(request: Request) -> list[dict[str, Any]]:
        payload = await _json_body(request)
        return await run_in_threadpool(_in_tx, store, tags.create_or_update, payload)

    @app.get("/tag")
    def search_tags(request: Request) -> list[dict[str, Any]]:
        query = request.query_params
        hierarchies = [
            part.strip()
            for value in query.getlist("excludedHierarchies")
            for part in _list_param(value)
            if part.strip()
        ]
        with store.tx() as db:
            return tags.search(
                db,
                search_text=query.get("searchText"),
                source=query.get("source"),
                excluded_source=query.get("excludedSource"),
                include_all_system_tags=_bool_param(
                    query.get("includeAllSystemTags"), "includeAllSystemTags"
                ),
                excluded_hierarchies=hierarchies,
                limit=_limit_param(query.get("limit")),
            )

    @app.post("/tag/refresh")
    def refresh_tags() -> dict[str, Any]:
        # External catalogs are not emulated: nothing to pull, the call just succeeds.
        return {}

    @app.post("/tag/{model_type}/{model_id}")
    async def add_tags(model_type: str, model_id: str, request: Request) -> JSONResponse:
        models.check_type(model_type)  # Joi-style order: path, then payload, then lookups
        names = tags.parse_add_payload(await _json_body(request))
        models.check(model_type, model_id)
        # The hot path of a push (one call per model): a few small statements run inline
        # rather than hopping to a worker thread, and the answer skips response validation.
        return JSONResponse(_in_tx(store, tags.add_to_model, model_type, model_id, names))

    @app.delete("/tag/{model_type}/{model_id}/{tag}")
    def remove_tag(model_type: str, model_id: str, tag: str) -> list[dict[str, Any]]:
        models.check(model_type, model_id)
        with store.tx() as db:
            return tags.remove_from_model(db, model_type, model_id, tag)

    @app.delete("/tag/{tag}")
    def delete_tag(tag: str, request: Request) -> list[dict[str, Any]]:
        hierarchy = _bool_param(request.query_params.get("deleteHierarchy"), "deleteHierarchy")
        with store.tx() as db:
            return tags.delete_tag(db, tag, bool(hierarchy))

    @app.post(LOGIN_PATH)
    async def authenticate(request: Request) -> dict[str, str]:
        return tokens.exchange(await _json_body(request))

    @app.get("/bim/rpc/user/current")
    def user() -> dict[str, Any]:
        return current_user()

    @app.get("/dataSource")
    def list_datasources(request: Request) -> dict[str, Any]:
        query = request.query_params
        size, offset = page_params(query.get("size"), query.get("offset"))
        return sources.search(query.get("searchText"), query.get("schema"), size, offset)

    @app.get("/dataSource/name/{name}")
    def datasource_by_name(name: str) -> dict[str, Any]:
        return sources.by_name(name)

    @app.get("/dataSource/{datasource_id}")
    def datasource(datasource_id: str) -> dict[str, Any]:
        return sources.get(datasource_id)

    @app.get("/dictionary/{datasource_id}")
    def dictionary(datasource_id: str) -> dict[str, Any]:
        with store.tx() as db:
            return sources.dictionary(db, datasource_id)

    @app.put("/dictionary/{datasource_id}")
    async def put_dictionary(datasource_id: str, request: Request) -> dict[str, Any]:
        # fh-immuta-utils sends the body as a string without a JSON content type.
        payload = await _json_body(request)
        return await run_in_threadpool(
            _in_tx, store, sources.put_dictionary, datasource_id, payload
        )

    @app.get("/dataSource/{datasource_id}/tags")
    def datasource_tags(datasource_id: str) -> list[dict[str, Any]]:
        models.check("datasource", datasource_id)
        with store.tx() as db:
            found = tags.model_tags(db, "datasource", datasource_id)
        return [{k: v for k, v in t.items() if k != "context"} for t in found]

    return app


def _in_tx(store: Store, fn: Any, *args: Any) -> Any:
    with store.tx() as db:
        return fn(db, *args)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise ImmutaError(400, "Invalid request payload JSON format") from None


def _bool_param(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ImmutaError(400, f'"{name}" must be a boolean')


def _limit_param(value: str | None) -> int | None:
    if value is None:
        return None
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise ImmutaError(400, '"limit" must be a positive integer')


def _list_param(value: str) -> list[str]:
    """`a`, `a,b` or a JSON array `["a","b"]`: clients send arrays all three ways."""
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ImmutaError(400, '"excludedHierarchies" must be an array') from None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            return parsed
        raise ImmutaError(400, '"excludedHierarchies" must be an array')
    return value.split(",")
