"""Every answer bounded: an overall deadline per request and a cap on the body it reads.

httpx's timeouts bound each network operation (a read may wait `read` seconds, and then the
next one again), so a server dripping one byte a second, or sending an endless chunked body,
is never stopped by them. `BoundedTransport` wraps any transport (the network's, or a test's
MockTransport): the wait for the headers is cut to what is left of the deadline, the body is
read in chunks while the deadline and the size cap are checked, and the caller gets an
ordinary, fully read response.
"""

from __future__ import annotations

import os
import time

import httpx

DEADLINE_ENV = "TAGGING_DEADLINE_S"  # overall seconds per request (one attempt)
MAX_ANSWER_ENV = "TAGGING_MAX_ANSWER_MB"
DEFAULT_MAX_ANSWER_MB = 64  # Atlas tiles of a large map are a few MB; JSON answers far less


class AnswerTooLarge(Exception):
    """The body went past the cap: a final answer (resending gets the same), not a retry."""

    def __init__(self, limit: int) -> None:
        size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit:,} bytes"
        super().__init__(f"the answer is larger than {size}: not read")


class DeadlineExceeded(httpx.ReadTimeout):
    """No complete answer within the deadline: a timeout (retried like one)."""


class BoundedTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, *, deadline: float, max_bytes: int) -> None:
        self.inner = inner
        self.deadline = deadline
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ends = time.monotonic() + self.deadline
        timeouts = dict(request.extensions.get("timeout") or {})
        for phase in ("connect", "read", "write", "pool"):
            given = timeouts.get(phase)
            timeouts[phase] = self.deadline if given is None else min(given, self.deadline)
        request.extensions = {**request.extensions, "timeout": timeouts}
        response = self.inner.handle_request(request)
        try:
            body = self._read(response, request, ends)
        finally:
            response.close()
        return httpx.Response(
            response.status_code,
            headers=_without_framing(response.headers),
            content=body,
            request=request,
            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
        )

    def _read(self, response: httpx.Response, request: httpx.Request, ends: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded: the cap holds for a gzip bomb too
            size += len(chunk)
            if size > self.max_bytes:
                raise AnswerTooLarge(self.max_bytes)
            chunks.append(chunk)
            if time.monotonic() > ends:
                raise DeadlineExceeded(
                    f"no complete answer within {self.deadline:g} s", request=request
                )
        return b"".join(chunks)

    def close(self) -> None:
        self.inner.close()


def misshapen(exc: Exception) -> str:
    """The reason for an answer that parsed but is not in the documented shape."""
    detail = " ".join(str(exc).split())[:120]
    return "the answer is not in the documented shape" + (f" ({detail})" if detail else "")


def _without_framing(headers: httpx.Headers) -> httpx.Headers:
    """The body is already decoded and whole: drop the headers that described its framing."""
    kept = httpx.Headers(headers)
    for name in ("transfer-encoding", "content-length", "content-encoding"):
        if name in kept:
            del kept[name]
    return kept


def deadline_from_env(default: float) -> float:
    return _positive(os.environ.get(DEADLINE_ENV), default)


def max_answer_bytes() -> int:
    return int(_positive(os.environ.get(MAX_ANSWER_ENV), DEFAULT_MAX_ANSWER_MB) * 1024 * 1024)


def _positive(text: str | None, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default
