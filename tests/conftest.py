"""Shared fixtures: a real sandbox process on a free port, talked to over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pg_server import PgServer, start_pg, stop_pg
from playwright.sync_api import expect

# Debian's Chromium as Playwright drives it here (no downloads, no calls home).
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the browser tests')

ROOT = Path(__file__).resolve().parent.parent
# Every variable that points the library at an API; tests clear them for a clean slate.
PROVIDER_VARS = (
    "TAGGING_SANDBOX_URL",
    "ATLAS_API_URL",
    "NEKT_API_URL",
    "IMMUTA_API_URL",
    "NOMIC_API_KEY",
    "NEKT_API_KEY",
    "IMMUTA_API_KEY",
)
# A web-first assertion waits this long unless it says otherwise: on a loaded 2-core machine a
# Streamlit rerun can take longer than Playwright's 5 s default (the checks stay the same).
expect.set_options(timeout=30_000)
KEYS = {
    "atlas": "sandbox-atlas-key",
    "nekt": "sandbox-nekt-key",
    "immuta": "dea464c07bd07300095caa8",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sandbox:
    """A running `python -m tagging sandbox` process."""

    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen[bytes]

    def api(self, provider: str) -> str:
        return f"{self.url}/{provider}"

    def state(self) -> dict:
        return httpx.get(f"{self.url}/_sandbox/state", timeout=30).json()

    def world(self) -> dict:
        return httpx.get(f"{self.url}/_sandbox/world", timeout=30).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset", timeout=30).raise_for_status()

    def env(self) -> dict[str, str]:
        """Environment that points the library and CLI at this sandbox."""
        return {
            "TAGGING_SANDBOX_URL": self.url,
            "ATLAS_API_URL": self.api("atlas"),
            "NEKT_API_URL": self.api("nekt"),
            "IMMUTA_API_URL": self.api("immuta"),
            "NOMIC_API_KEY": KEYS["atlas"],
            "NEKT_API_KEY": KEYS["nekt"],
            "IMMUTA_API_KEY": KEYS["immuta"],
        }


def start_sandbox(*flags: str, port: int | None = None, timeout: float = 30) -> Sandbox:
    port = port or free_port()
    cmd = [sys.executable, "-m", "tagging", "sandbox", "--port", str(port), *flags]
    # stderr goes to a file, not a pipe nobody reads (a chatty server would block on it).
    log = tempfile.NamedTemporaryFile(prefix="sandbox-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=os.environ.copy()
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = Path(log.name).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sandbox exited early: {err}")
        try:
            if httpx.get(f"{url}/_sandbox/world", timeout=1).status_code == 200:
                return Sandbox(url, proc)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sandbox did not answer within 30 s")


def stop_sandbox(sb: Sandbox) -> None:
    sb.proc.terminate()
    try:
        sb.proc.wait(10)
    except subprocess.TimeoutExpired:
        sb.proc.kill()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One fault-free sandbox for the whole session (reset per test by `sandbox`)."""
    sb = start_sandbox()
    yield sb
    stop_sandbox(sb)


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The shared sandbox, reset to the demo world before the test."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start extra sandboxes with their own flags (faults, sizes); stopped after the test."""
    started: list[Sandbox] = []

    def make(*flags: str) -> Sandbox:
        sb = start_sandbox(*flags)
        started.append(sb)
        return sb

    yield make
    for sb in started:
        stop_sandbox(sb)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the session (see pg_server.py); fails if not installed."""
    server = start_pg(free_port())
    yield server
    stop_pg(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's journal lives, once per backend: a SQLite file that does not exist yet,
    or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "j" / "journal.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()
