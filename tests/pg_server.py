"""A throwaway PostgreSQL server for the test session: initdb into a temp dir, a free port,
the socket in that dir, stopped and removed at the end.

The server refuses to run as root, so as root it runs as the `postgres` OS user (Debian's
package creates it). Durability is switched off: the data dies with the session anyway.
Missing binaries FAIL the journal tests (never skip): `make test` installs them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

INSTALL = "apt-get install -y postgresql (or run `make test`, which installs it)"


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        pytest.fail(f"PostgreSQL binaries not found under /usr/lib/postgresql: {INSTALL}")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


@dataclass
class PgServer:
    root: Path
    port: int
    bin: Path
    created: list[str] = field(default_factory=list)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh, empty database: one per test, so tests never see each other's jobs."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        self.created.append(name)
        return self.url(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def start_pg(port: int) -> PgServer:
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="tagging-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    _run([str(bin_dir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data), "--no-sync"])
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    log = root / "server.log"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"])
    server = PgServer(root, port, bin_dir)
    _run(
        [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tagging"]
    )
    return server


def stop_pg(server: PgServer) -> None:
    subprocess.run(
        _as_postgres(
            [str(server.bin / "pg_ctl"), "-D", str(server.root / "data"), "-m", "immediate", "stop"]
        ),
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(server.root, ignore_errors=True)
