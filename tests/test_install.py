"""`pip install .` works: a wheel built from the checkout, installed into a fresh venv outside
the repository, gives a `tagging` command that runs the sandbox and pushes to it.

Offline and fast: the wheel is built with the setuptools already installed
(`--no-build-isolation`), and the new venv sees this interpreter's site-packages through a
.pth file, so pip resolves the wheel's declared dependencies against what is installed
(`--no-index`: a missing or out-of-range dependency fails the install instead of downloading).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import PROVIDER_VARS, ROOT, free_port

from tagging.demo import ATLAS_PROJECTION_ID


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    home: Path  # a working directory outside the repository

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (*PROVIDER_VARS, "PYTHONPATH")}
        return {**env, "PATH": f"{self.bin}:{env.get('PATH', '')}", **extra}

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "tagging"), *args],
            capture_output=True,
            text=True,
            cwd=self.home,
            env=self.env(**extra),
            timeout=120,
        )


def build_wheel(out: Path) -> Path:
    # Build from a copy of what the package needs, so the build leaves nothing in the checkout.
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "tagging", src / "tagging", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, src],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("tagging_workbench-*.whl")
    return wheel


def make_venv(venv: Path, wheel: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    # Appended after the venv's own site-packages: the wheel's copy of tagging comes first.
    (site / "site-packages" / "_base_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python"]
    subprocess.run(
        [*pip, str(venv / "bin" / "python"), "install", "--no-index", "-q", wheel],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    assert not base.is_relative_to(ROOT)
    wheel = build_wheel(base)
    make_venv(base / "venv", wheel)
    home = base / "home"
    home.mkdir()
    return Installed(wheel, base / "venv", home)


@pytest.fixture
def installed_sandbox(installed: Installed) -> Iterator[str]:
    """`tagging sandbox` from the installed command, until it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (installed.home / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [str(installed.bin / "tagging"), "sandbox", "--port", str(port)],
        cwd=installed.home,
        env=installed.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(url):
            assert proc.poll() is None, (installed.home / "sandbox.log").read_text()
            assert time.monotonic() < deadline, "the installed sandbox did not answer in 30 s"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sandbox/world", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_wheel_holds_the_library_and_nothing_else(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("tagging_workbench-")}
    assert tops == {"tagging"}
    assert "tagging/sandbox/server.py" in names and "tagging/providers/atlas.py" in names
    assert "tagging/notebook.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(installed.wheel).read(entry_points).decode()
    assert "tagging = tagging.__main__:main" in text


def test_the_installed_code_comes_from_the_wheel(installed: Installed) -> None:
    code = "import tagging, tagging.sandbox, tagging.providers; print(tagging.__file__)"
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", code],
        capture_output=True,
        text=True,
        cwd=installed.home,
        env=installed.env(),
        check=True,
    )
    where = Path(done.stdout.strip())
    assert where.is_relative_to(installed.venv) and not where.is_relative_to(ROOT)


def test_tagging_help_lists_the_commands(installed: Installed) -> None:
    done = installed.run("--help", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    for command in ("sandbox", "push", "jobs", "resume", "undo", "coverage"):
        assert f" {command} " in done.stdout


def test_installed_push_tags_the_ids_in_the_installed_sandbox(
    installed: Installed, installed_sandbox: str
) -> None:
    done = installed.run(
        "push", "--provider", "atlas", "--projection-id", ATLAS_PROJECTION_ID,
        "--tag", "Installed", "--ids", "0,89,295", "--json",
        TAGGING_SANDBOX_URL=installed_sandbox,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["applied"] == 3
    state = httpx.get(f"{installed_sandbox}/_sandbox/state", timeout=10).json()
    assert state["atlas"][ATLAS_PROJECTION_ID] == {"Installed": ["0", "89", "295"]}
    assert (installed.home / ".tagging" / "journal.db").exists()  # journaled where it ran
