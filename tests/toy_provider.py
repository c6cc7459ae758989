"""A toy fourth tagging API ("Shelf"), written the way a plugin author would: the proof that a
provider is described in one place and the library, CLI and pages need no change for it.

The API: shelves hold items (ids are digits); a label is added to or removed from many items
of a shelf in one call, and each item's labels can be read back.

    GET  /shelves/{shelf}/labels                      -> ["label", ...]
    POST /shelves/{shelf}/labels/{label}              {"op": "add"|"remove", "items": [...]}
                                                      -> {"changed": n, "unknown": [ids]}
    GET  /shelves/{shelf}/items/{id}/labels           -> ["label", ...]   (404: no such item)
    errors: {"problem": "text"}; 401 without the key in `X-Shelf-Key`.

`ShelfServer` serves it over HTTP on a free port (for the CLI in a subprocess and the app);
`ShelfServer.transport()` answers the same through `httpx.MockTransport`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pandas as pd

from tagging.errors import InputError
from tagging.providers import BaseProvider, Fetch, TargetField
from tagging.providers.base import batch_tags, failure, json_or_none, raise_for_auth
from tagging.values import ApiRequest, Batch, RequestResult, TagOperation

KEY = "shelf-secret-key"
ITEMS = 50  # items "0".."49" on every shelf


class Shelf(BaseProvider):
    name = "shelf"
    label = "Shelf"
    item_noun = "items"
    target_fields = (TargetField("shelf", "Shelf", "The shelf the items are on."),)
    key_env = "SHELF_API_KEY"
    url_env = "SHELF_API_URL"
    default_chunk = 20

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"X-Shelf-Key": key}

    def target_label(self, target: Mapping[str, str], kind: str | None = None) -> str:
        return f"items of shelf {target.get('shelf', '?')}"

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        if not op.target.get("shelf"):
            raise InputError("Shelf needs a shelf: give --shelf")
        bad = ~ids.str.fullmatch(r"\d+").astype(bool)
        if bad.any():
            raise InputError(f"Shelf ids are digits: {ids[bad].iloc[0]!r} is not")

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]:
        for tag in batch_tags(op, batch):
            path = f"/shelves/{quote(op.target['shelf'])}/labels/{quote(tag, safe='')}"
            body = {"op": op.action, "items": list(batch.ids)}
            yield ApiRequest("POST", path, body, batch.ids)

    def request_count(self, op: TagOperation, batch: Batch) -> int:
        return len(batch_tags(op, batch))

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult:
        raise_for_auth(self.name, response, self.key_env)
        data = json_or_none(response)
        if response.status_code >= 400:
            return failure(request, response, self.error_reason(data))
        unknown = tuple(str(i) for i in data["unknown"])
        return RequestResult(request.ids, not_found=len(unknown), not_found_ids=unknown)

    def error_reason(self, data: object) -> str:
        return str(data.get("problem", "")) if isinstance(data, dict) else ""

    def list_tags(self, fetch: Fetch, target: Mapping[str, str]) -> list[str]:
        response = fetch(
            ApiRequest("GET", f"/shelves/{quote(target.get('shelf', ''))}/labels", None)
        )
        self.ensure_ok(response)
        return [str(t) for t in response.json()]

    def reads_state(self, kind: str | None) -> bool:
        return True

    def read_state(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> pd.DataFrame:
        rows = []
        for i in ids:
            response = fetch(
                ApiRequest("GET", f"/shelves/{target['shelf']}/items/{i}/labels", None)
            )
            if response.status_code == 404:
                continue
            self.ensure_ok(response)
            rows.extend((i, str(t)) for t in response.json())
        return pd.DataFrame(rows, columns=["id", "tag"], dtype=object)


PROVIDER = Shelf()


class ShelfState:
    """The API's state: {shelf: {item: set of labels}}, shared by both transports."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, set[str]]] = {}
        self.lock = threading.Lock()
        self.requests = 0

    def tagged(self, shelf: str, label: str) -> set[str]:
        return {i for i, labels in self.labels.get(shelf, {}).items() if label in labels}

    def answer(self, method: str, path: str, key: str | None, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.requests += 1
            if key != KEY:
                return 401, {"problem": "bad key"}
            parts = [unquote(p) for p in path.strip("/").split("/")]
            if len(parts) < 3 or parts[0] != "shelves":
                return 404, {"problem": "no such route"}
            shelf = self.labels.setdefault(parts[1], {})
            if method == "GET" and parts[2:] == ["labels"]:
                return 200, sorted({t for labels in shelf.values() for t in labels})
            if method == "GET" and len(parts) == 5 and parts[2] == "items":
                if not re.fullmatch(r"\d+", parts[3]) or int(parts[3]) >= ITEMS:
                    return 404, {"problem": "no such item"}
                return 200, sorted(shelf.get(parts[3], set()))
            if method == "POST" and len(parts) == 4 and parts[2] == "labels":
                known = [i for i in body["items"] if int(i) < ITEMS]
                for i in known:
                    labels = shelf.setdefault(i, set())
                    (labels.add if body["op"] == "add" else labels.discard)(parts[3])
                unknown = [i for i in body["items"] if int(i) >= ITEMS]
                return 200, {"changed": len(known), "unknown": unknown}
            return 404, {"problem": "no such route"}

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content) if request.content else None
            key = request.headers.get("X-Shelf-Key")
            status, data = self.answer(request.method, request.url.path, key, body)
            return httpx.Response(status, json=data)

        return httpx.MockTransport(handle)


class ShelfServer:
    """The same API over real HTTP on 127.0.0.1, in a thread."""

    def __init__(self, state: ShelfState) -> None:
        owner = state

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                key = self.headers.get("X-Shelf-Key")
                status, data = owner.answer(method, self.path.split("?")[0], key, body)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
