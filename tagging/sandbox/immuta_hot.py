"""The hot path of an Immuta push, `POST /tag/{modelType}/{modelId}`, answered without
FastAPI's routing.

A push sends one such call per model. Profiled at 2,000 calls in process, FastAPI's layers
(route matching over every route, dependency solving, exception and exit-stack middleware)
were three quarters of the sandbox's CPU per call, the handler and its SQLite write the rest;
with client and sandbox on one 2-core machine, that CPU is what holds a concurrent push back.

Only a call that succeeds is answered here. Anything else (a rejected key, a bad body, an
unknown model or tag, a path of another shape) is handed to the full app with its body
replayed, so every error is exactly the full app's: the add is one transaction, rolled back
when it raises, so trying it here first changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tagging.sandbox import immuta_tags as tags
from tagging.sandbox.immuta_tags import ImmutaError, Models
from tagging.sandbox.store import Store

TAG_PREFIX = "/tag/"


class AddTags:
    """Adds the body's tags to one model; None when the full app must answer instead."""

    def __init__(self, store: Store, models: Models, accepts: Callable[[Headers], bool]) -> None:
        self.store = store
        self.models = models
        self.accepts = accepts

    def __call__(self, model_type: str, model_id: str, headers: Headers, body: bytes) -> Any:
        if not self.accepts(headers):
            return None
        try:
            names = tags.parse_add_payload(json.loads(body))
            self.models.check(model_type, model_id)
            with self.store.tx() as db:
                return tags.add_to_model(db, model_type, model_id, names)
        except (ValueError, ImmutaError):
            return None


class HotPath:
    """ASGI wrapper: `POST {prefix}/tag/{type}/{id}` goes to `add`, the rest to `app`."""

    def __init__(self, app: ASGIApp, add: AddTags, prefix: str = "") -> None:
        self.app = app
        self.add = add
        self.start = prefix + TAG_PREFIX

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = self._model(scope)
        if model is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        answer = self.add(*model, Headers(scope=scope), body)
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        await JSONResponse(answer)(scope, receive, send)

    def _model(self, scope: Scope) -> tuple[str, str] | None:
        """(model type, model id) of a path shaped like the route `/tag/{type}/{id}`."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if not path.startswith(self.start):
            return None
        model_type, _, model_id = path[len(self.start) :].partition("/")
        if not model_type or not model_id or "/" in model_id:
            return None
        return model_type, model_id


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that first gives back the body already read, then defers to the server."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
