"""Count the HTTP requests a connection's client sends (an httpx event hook)."""

from __future__ import annotations

import threading

import httpx


class RequestCounter:
    """Attach to a client; `count` is every request sent, retries and 429s included."""

    def __init__(self, client: httpx.Client) -> None:
        self.count = 0
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        client.event_hooks["request"].append(self._on_request)
        client.event_hooks["response"].append(self._on_response)

    def _on_request(self, _: httpx.Request) -> None:
        with self._lock:
            self.count += 1

    def _on_response(self, response: httpx.Response) -> None:
        with self._lock:
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.statuses = {}
