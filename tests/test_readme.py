"""The README is tested: its Python snippet and curl example run, its CLI list is complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Sandbox

README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:20])
    assert "make run" in head and "make test" in head


def test_every_cli_command_is_documented() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tagging", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    commands = re.findall(r"^│ (\w+)\s{2,}", out, flags=re.M)
    assert {"sandbox", "push", "jobs", "resume", "undo", "coverage"} <= set(commands)
    for command in commands:
        assert f"python -m tagging {command}" in README, f"README does not show `{command}`"


def test_python_snippet_tags_the_filtered_rows(sandbox: Sandbox, tmp_path: Path) -> None:
    (snippet,) = [b for b in _blocks("python") if "tagging.push" in b]
    env = {**os.environ, **sandbox.env(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "'applied': " in done.stdout
    import tagging

    df = tagging.demo_datasets()["atlas"].frame()
    expected = sorted(df.loc[df["field"] == "cs.LG", "id"], key=int)
    tagged = sandbox.state()["atlas"]["52fcac24-9ab0-4545-8065-0d2fe8350d09"]["Needs review"]
    assert tagged == expected
    assert (tmp_path / ".tagging" / "journal.db").exists()


def test_curl_example_runs_with_the_host_swapped(sandbox: Sandbox) -> None:
    (curl,) = [b for b in _blocks("bash") if b.lstrip().startswith("curl")]
    command = curl.replace("http://127.0.0.1:8765", sandbox.url)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"points_tagged":3' in done.stdout.replace(" ", "")
    state = sandbox.state()["atlas"]["52fcac24-9ab0-4545-8065-0d2fe8350d09"]
    assert state["New Tag"] == ["0", "89", "295"]
