"""Injected faults for the provider APIs: latency, 5xx failures and a rate limit.

Only paths under the provider prefixes are affected, never `/_sandbox/*`; on a provider's
own port (`--atlas-port` ...) every path is that provider's. Every decision is made before
the request reaches its handler, so a failed request has changed nothing. The dice and the
rate limit's window are shared by all ports of one process (`FaultState`).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from http import HTTPStatus

from starlette.types import ASGIApp, Receive, Scope, Send

PROVIDERS = ("atlas", "nekt", "immuta")
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    fail_rate: float = 0.0  # share of requests answered 500/502/503
    rate_limit: int = 0  # requests per second before 429; 0 means no limit
    seed: int = 0


def provider_of(path: str) -> str | None:
    head = path.lstrip("/").split("/", 1)[0]
    return head if head in PROVIDERS else None


def error_json(provider: str, status: int, message: str) -> bytes:
    """An error body in the provider's own style."""
    if provider == "immuta":
        body: dict[str, object] = {
            "statusCode": status,
            "error": HTTPStatus(status).phrase,
            "message": message,
        }
    else:
        body = {"detail": message}
    return json.dumps(body).encode()


_HTML = (
    "<html><head><title>{code} {phrase}</title></head><body><center><h1>{code} {phrase}"
    "</h1></center><hr><center>nginx</center></body></html>"
)


class FaultState:
    """The dice and the rate limit's current one-second window."""

    def __init__(self, seed: int) -> None:
        self.dice = random.Random(seed)
        self.window = -1
        self.count = 0
        self.override: Faults | None = None  # set at run time by POST /_sandbox/faults


class FaultMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        state: FaultState | None = None,
        provider: str | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.state = state or FaultState(faults.seed)
        self.provider = provider  # set: every path is this provider's (its own port)

    @property
    def current(self) -> Faults:
        """The faults in force: those set at run time, else the start flags'."""
        return self.state.override or self.faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider = None
        if scope["type"] == "http":
            provider = self.provider or provider_of(scope.get("path", ""))
        if provider is None:
            await self.app(scope, receive, send)
            return
        if self._over_rate_limit():
            await _drain(receive)
            body = error_json(provider, 429, "Request was throttled. Try again in 1 second.")
            headers = {"retry-after": str(RETRY_AFTER_SECONDS)}
            await _respond(send, 429, body, "application/json", headers)
            return
        faults = self.current
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.fail_rate > 0 and self.state.dice.random() < faults.fail_rate:
            await _drain(receive)
            await self._fail(send, provider)
            return
        await self.app(scope, receive, send)

    def _over_rate_limit(self) -> bool:
        if self.current.rate_limit <= 0:
            return False
        state = self.state
        window = int(time.monotonic())
        if window != state.window:
            state.window, state.count = window, 0
        state.count += 1
        return state.count > self.current.rate_limit

    async def _fail(self, send: Send, provider: str) -> None:
        # One in three a JSON error in the provider's style, otherwise a proxy's HTML page.
        status = self.state.dice.choice((500, 502, 503))
        if status == 500:
            body = error_json(provider, 500, "Internal server error")
            await _respond(send, 500, body, "application/json")
        else:
            page = _HTML.format(code=status, phrase=HTTPStatus(status).phrase)
            await _respond(send, status, page.encode(), "text/html")


async def _drain(receive: Receive) -> None:
    """Read the request body we are not going to use, so the connection stays usable."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
