"""Key checks as ASGI middleware, so a request without a valid key never reaches a handler."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class RequireKey:
    """Answer `reject(headers)` (a 401) unless `accepts(headers)` holds."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        accepts: Callable[[Headers], bool],
        reject: Callable[[Headers], Response],
    ) -> None:
        self.app = app
        self.accepts = accepts
        self.reject = reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.accepts(headers):
            await self.app(scope, receive, send)
        else:
            await self.reject(headers)(scope, receive, send)


def bearer_token(headers: Headers) -> str | None:
    """The token of `Authorization: Bearer TOKEN`, or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
