"""Start the file-backed sandbox for the app when none is running.

The sandbox runs detached (its own session), so it outlives the Streamlit process that
started it and the CLI sees the same state.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_DB = ".tagging/sandbox.db"
# `python -m tagging` must run from the project root, whatever the caller's directory.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20.0


def is_running(url: str = DEFAULT_URL) -> bool:
    """True when a sandbox answers `GET {url}/_sandbox/world`."""
    try:
        return httpx.get(f"{url.rstrip('/')}/_sandbox/world", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_running(url: str = DEFAULT_URL, db: str = DEFAULT_DB) -> bool:
    """Start a sandbox at `url` unless one answers there. True if this call started one.

    Output goes to `sandbox.log` and the process id to `sandbox.pid`, beside the database.
    Raises RuntimeError when the started process exits or does not answer within 20 s.
    """
    if is_running(url):
        return False
    parts = urlsplit(url)
    port = parts.port or 8765
    host = parts.hostname or "127.0.0.1"
    if db != ":memory:":
        db = str(Path(db).resolve())
    log_dir = Path(db).parent if db != ":memory:" else Path(DEFAULT_DB).resolve().parent
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "sandbox.log", "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tagging",
                "sandbox",
                "--host",
                host,
                "--port",
                str(port),
                "--db",
                db,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=_PROJECT_ROOT,
            start_new_session=True,
        )
    (log_dir / "sandbox.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if is_running(url):
            return True
        if proc.poll() is not None:
            raise RuntimeError(
                f"the sandbox exited with code {proc.returncode}; see {log_dir / 'sandbox.log'}"
            )
        time.sleep(0.2)
    raise RuntimeError(f"the sandbox did not answer at {url} within {START_TIMEOUT_S:.0f} s")


def reset(url: str = DEFAULT_URL) -> None:
    """Put the sandbox's state back to the demo world's start (every tag assignment gone)."""
    httpx.post(f"{url.rstrip('/')}/_sandbox/reset", timeout=10.0).raise_for_status()


def set_faults(url: str = DEFAULT_URL, *, fail_rate: float = 0.0, latency_ms: int = 0) -> None:
    """Turn the sandbox's injected faults on (a flaky API for demos) or off (zeros)."""
    body = {"fail_rate": fail_rate, "latency_ms": latency_ms}
    httpx.post(f"{url.rstrip('/')}/_sandbox/faults", json=body, timeout=10.0).raise_for_status()


def faults(url: str = DEFAULT_URL) -> dict[str, float]:
    """The faults in force now."""
    response = httpx.get(f"{url.rstrip('/')}/_sandbox/faults", timeout=5.0)
    response.raise_for_status()
    return {k: float(v) for k, v in response.json().items()}
