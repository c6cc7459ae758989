"""A misbehaving HTTP server of our own on 127.0.0.1, for answers no real API should give:
hanging, dripping, endless, oversized, slow or misshapen. GETs (tag lists) answer `[]` unless
the mode is for every method; POSTs get the fault."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Fault:
    mode: str  # hang | drip | endless | huge | slow | json | text | gate
    body: Any = None  # for "json" / "text"
    every_method: bool = False  # also GETs get the fault
    delay: float = 0.0  # for "slow"
    stop: threading.Event = field(default_factory=threading.Event)
    posted: threading.Event = field(default_factory=threading.Event)  # a POST arrived
    requests: int = 0
    upstream: str = ""  # for "gate": where requests are forwarded
    hang_paths: tuple[str, ...] = ()  # requests whose path holds one of these hang
    gate: threading.Event = field(default_factory=threading.Event)  # "gate": POSTs wait for it


def _handler(fault: Fault) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(fault.every_method)

        def do_POST(self) -> None:
            self._answer(True)

        def do_DELETE(self) -> None:
            self._answer(True)

        def _answer(self, faulty: bool) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            fault.requests += 1
            if self.command == "POST":
                fault.posted.set()
            if any(part in self.path for part in fault.hang_paths):
                return self._hang()
            if fault.mode == "gate":
                return self._forward(body)
            if not faulty:
                return self._send(200, b"[]")
            try:
                getattr(self, f"_{fault.mode}")()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, body: bytes) -> None:
            """To the upstream sandbox; a write waits until the test opens the gate."""
            if self.command != "GET":
                fault.gate.wait()
            keep = ("authorization", "x-api-key", "content-type")
            headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
            answer = httpx.request(
                self.command, fault.upstream + self.path, content=body, headers=headers
            )
            self._send(answer.status_code, answer.content)

        def _hang(self) -> None:
            fault.stop.wait()

        def _slow(self) -> None:
            fault.stop.wait(fault.delay)
            self._send(200, b"[]")

        def _drip(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            while not fault.stop.wait(0.05):
                self.wfile.write(b" ")
                self.wfile.flush()

        def _endless(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"[" + b"1," * 32_000
            while not fault.stop.is_set():
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

        def _huge(self) -> None:
            self._send(200, b"[" + b"0," * 600_000 + b"0]")

        def _json(self) -> None:
            self._send(200, json.dumps(fault.body).encode())

        def _text(self) -> None:
            self._send(200, str(fault.body).encode(), "text/plain")

    return Handler


@contextmanager
def fault_server(fault: Fault) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fault))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        fault.stop.set()
        time.sleep(0.05)
        server.shutdown()
        server.server_close()
