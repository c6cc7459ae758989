"""Key checks as ASGI middleware, so a request without a valid key never reaches a handler."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class RequireKey:
    """Answer `reject(headers)` (a 401) unless `accepts(headers)` holds or the path is open.

    `open_paths` are paths within the app (after its mount prefix) that need no key, such as
    the login that hands out a token.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        accepts: Callable[[Headers], bool],
        reject: Callable[[Headers], Response],
        open_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.accepts = accepts
        self.reject = reject
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if route_path(scope) in self.open_paths or self.accepts(headers):
            await self.app(scope, receive, send)
        else:
            await self.reject(headers)(scope, receive, send)


def bearer_token(headers: Headers) -> str | None:
    """The token of `Authorization: Bearer TOKEN`, or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def route_path(scope: Scope) -> str:
    """The request path within a mounted app (Starlette keeps the prefix in `root_path`)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
