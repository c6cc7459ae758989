"""Keep-alive connections lent out in O(1): a stack of one-connection httpx transports.

httpcore's connection pool re-examines every connection it holds, under one lock, each time
a request starts or ends, and for every idle one counts the idle ones again: O(connections²)
per request. In a push of small requests (Immuta's one model per request) that bookkeeping
was a fifth of the client's CPU at 32 requests in flight and two fifths at 64.
Here each connection is its own one-connection transport; a request takes the one returned
last (a warm connection) and gives it back when its answer is closed.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator

import httpx


class ConnectionStack(httpx.BaseTransport):
    def __init__(self, max_connections: int) -> None:
        self.max_connections = max(1, max_connections)
        self._idle: list[httpx.HTTPTransport] = []
        self._made: list[httpx.HTTPTransport] = []
        self._ready = threading.Condition()
        self._ssl: ssl.SSLContext | None = None  # the CAs, loaded on the first https request

    @property
    def connections(self) -> int:
        """How many connections are open (idle or lent out)."""
        return len(self._made)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        connection = self._take(timeouts.get("pool"), request)
        try:
            response = connection.handle_request(request)
        except BaseException:
            self._give(connection)
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_GivenBackOnClose(response.stream, lambda: self._give(connection)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._ready:
            made, self._made, self._idle = self._made, [], []
        for connection in made:
            connection.close()

    def _take(self, timeout: float | None, request: httpx.Request) -> httpx.HTTPTransport:
        ends = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._idle and len(self._made) >= self.max_connections:
                left = None if ends is None else ends - time.monotonic()
                if left is not None and left <= 0:
                    raise httpx.PoolTimeout("no connection free in time", request=request)
                self._ready.wait(left)
            if self._idle:
                return self._idle.pop()
            connection = self._new(request.url.scheme == "https")
            self._made.append(connection)
            return connection

    def _give(self, connection: httpx.HTTPTransport) -> None:
        with self._ready:
            if connection in self._made:  # not closed meanwhile
                self._idle.append(connection)
                self._ready.notify()

    def _new(self, tls: bool) -> httpx.HTTPTransport:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.HTTPTransport(verify=self._context(tls), limits=one)

    def _context(self, tls: bool) -> ssl.SSLContext:
        """One context for all https connections (loading the CAs costs 20 to 50 ms, which a
        push to an http:// sandbox never needs: Certifi's CAs, or SSL_CERT_FILE's). A plain
        connection gets a context that trusts no CA: should it ever be lent to an https
        request, the handshake fails rather than going unverified."""
        if self._ssl is None and tls:
            self._ssl = httpx.create_ssl_context()
        return self._ssl or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class _GivenBackOnClose(httpx.SyncByteStream):
    """An answer's body; closing it gives its connection back (once)."""

    def __init__(self, inner: httpx.SyncByteStream, give_back: Callable[[], None]) -> None:
        self._inner = inner
        self._give_back: Callable[[], None] | None = give_back

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        give_back, self._give_back = self._give_back, None
        try:
            self._inner.close()
        finally:
            if give_back is not None:
                give_back()
