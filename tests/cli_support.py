"""Running `python -m tagging` as a subprocess against a sandbox (shared by the CLI tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import PROVIDER_VARS, ROOT, Sandbox

P = "52fcac24-9ab0-4545-8065-0d2fe8350d09"


def cli_env(sandbox: Sandbox | None, **overrides: str | None) -> dict[str, str]:
    """os.environ without provider settings, plus the sandbox's, plus overrides (None drops)."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    if sandbox is not None:
        env.update(sandbox.env())
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["COLUMNS"] = "200"
    return env


def cli_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "tagging", *args]


def run_cli(
    sandbox: Sandbox | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_args(*args),
        cwd=ROOT,
        env=env if env is not None else cli_env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_json(sandbox: Sandbox | None, *args: str, code: int = 0) -> Any:
    done = run_cli(sandbox, *args, "--json")
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def atlas_tagged(sandbox: Sandbox, tag: str) -> set[str]:
    return set(sandbox.state()["atlas"].get(P, {}).get(tag, []))


def journal_arg(tmp_path: Path) -> tuple[str, str]:
    return ("--journal", str(tmp_path / "journal.db"))
