"""A sandbox (`python -m tagging sandbox`) as a subprocess on a free port, for one scenario."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
_PROVIDER_VARS = (
    "ATLAS_API_URL",
    "NEKT_API_URL",
    "IMMUTA_API_URL",
    "NOMIC_API_KEY",
    "NEKT_API_KEY",
    "IMMUTA_API_KEY",
)


@dataclass
class SandboxProcess:
    url: str
    proc: subprocess.Popen[bytes]

    def api(self, provider: str) -> str:
        return f"{self.url}/{provider}"

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset", timeout=120).raise_for_status()

    def state(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/_sandbox/state", timeout=300)
        response.raise_for_status()
        return dict(response.json())

    def env(self) -> dict[str, str]:
        """The environment for a CLI run against this sandbox (live settings removed)."""
        env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_VARS}
        env["TAGGING_SANDBOX_URL"] = self.url
        return env

    def connect(self, provider: str) -> Any:
        from tagging.config import SANDBOX_KEYS, connect

        return connect(provider, url=self.api(provider), key=SANDBOX_KEYS[provider], timeout=120.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox(*flags: str, timeout: float = 60.0) -> Iterator[SandboxProcess]:
    """Start a sandbox with `flags`, wait until it answers, stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "tagging", "sandbox", "--port", str(port), *flags]
    # stderr to a file, not a pipe: a pipe nobody reads would block a chatty server.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    sb = SandboxProcess(f"http://127.0.0.1:{port}", proc)
    try:
        _wait(sb, timeout, log)
        yield sb
    finally:
        log.close()
        stop(proc)


def _wait(sb: SandboxProcess, timeout: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sb.proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"sandbox exited early: {err.strip()[-500:]}")
        try:
            if httpx.get(f"{sb.url}/_sandbox/world", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sandbox did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen[Any], wait_s: float = 10) -> None:
    """Terminate a child server, killing it if it has not exited within `wait_s`."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
