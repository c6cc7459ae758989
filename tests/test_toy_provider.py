"""A fourth provider, defined only in tests/toy_provider.py and registered through the public
hooks (`tagging.providers.register`, and the `tagging.providers` entry-point group for the CLI
in a subprocess): plan, push, journal, undo and coverage, the CLI and the Tag page all work
with it, and no library file names it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import toy_provider
from app_harness import APP, click_push, metrics, select_rows
from conftest import PROVIDER_VARS, ROOT
from streamlit.testing.v1 import AppTest
from toy_provider import KEY, PROVIDER, ShelfServer, ShelfState

import tagging
from tagging import providers
from ui import session

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def shelf() -> Iterator[ShelfState]:
    providers.register(PROVIDER)
    yield ShelfState()
    providers.unregister(PROVIDER.name)


@pytest.fixture
def server(shelf: ShelfState) -> Iterator[ShelfServer]:
    running = ShelfServer(shelf)
    yield running
    running.close()


def test_prepare_push_undo_and_coverage_over_a_mock_transport(
    shelf: ShelfState, tmp_path: Path
) -> None:
    conn = tagging.connect(
        "shelf", url="https://shelf.example", key=KEY, transport=shelf.transport()
    )
    journal = tagging.Journal(tmp_path / "journal.db")
    target = {"shelf": "s1"}
    first = tagging.TagOperation("shelf", "add", ("keep",), ["1", "2"], target)
    tagging.push(tagging.prepare(first, conn, journal=journal), conn, journal=journal)

    ids = [str(i) for i in range(6)] + ["77"]  # 77 is not on the shelf
    op = tagging.TagOperation("shelf", "add", ("keep",), ids, target)
    plan = tagging.prepare(op, conn, journal=journal)
    # read back from the provider: 1 and 2 carry the label already
    assert (plan.skipped, plan.to_send, plan.state_source) == (2, 5, "provider")
    assert tagging.describe(plan)[0] == "add 'keep' to 5 items of shelf s1"
    result = tagging.push(plan, conn, journal=journal)
    assert (result.applied, result.not_found, result.not_found_ids) == (4, 1, ["77"])
    assert shelf.tagged("s1", "keep") == {"0", "1", "2", "3", "4", "5"}

    frame = pd.DataFrame({"id": [str(i) for i in range(10)], "part": ["a"] * 5 + ["b"] * 5})
    cov = tagging.coverage(frame, "id", journal.state_for("shelf", target), facet="part")
    assert (cov.rows, cov.tagged, cov.tags) == (10, 6, {"keep": 6})

    undone = journal.undo(result.job_id, conn)  # type: ignore[arg-type]
    assert undone.applied == 4
    assert shelf.tagged("s1", "keep") == {"1", "2"}  # the earlier job's tags stay
    jobs = journal.jobs()
    assert [j["provider"] for j in jobs] == ["shelf"] * 3


def _plugin_path(tmp_path: Path) -> str:
    """A site dir holding an installed distribution whose entry point names the toy."""
    dist = tmp_path / "site" / "shelf_tagging-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shelf-tagging\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tagging.providers]\nshelf = toy_provider:PROVIDER\n")
    return os.pathsep.join([str(tmp_path / "site"), str(TESTS), str(ROOT)])


def test_cli_push_jobs_and_undo_with_a_plugin_provider(
    server: ShelfServer, shelf: ShelfState, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env |= {"PYTHONPATH": _plugin_path(tmp_path), "SHELF_API_URL": server.url}
    env["SHELF_API_KEY"] = KEY
    journal = ("--journal", str(tmp_path / "journal.db"))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tagging", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    helped = cli("push", "--help")
    assert "--shelf" in helped.stdout and "shelf" in helped.stdout
    pushed = cli("push", "--provider", "shelf", "--shelf", "s2", "--tag", "hot",
                 "--ids", "3,4,5", *journal, "--json")  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["applied"] == 3
    assert shelf.tagged("s2", "hot") == {"3", "4", "5"}

    bad = cli(
        "push", "--provider", "shelf", "--shelf", "s2", "--tag", "hot", "--ids", "x1", *journal
    )
    assert (bad.returncode, bad.stderr) == (2, "error: Shelf ids are digits: 'x1' is not\n")
    wrong = cli("push", "--provider", "shelf", "--projection-id", "p", "--tag", "t", "--ids", "1")
    assert (
        wrong.returncode == 2
        and "--projection-id does not apply to --provider shelf" in wrong.stderr
    )

    [job] = json.loads(cli("jobs", *journal, "--json").stdout)
    assert (job["provider"], job["target"], job["status"]) == ("shelf", {"shelf": "s2"}, "done")
    undone = cli("undo", job["id"], *journal, "--json")
    assert undone.returncode == 0, undone.stderr
    assert shelf.tagged("s2", "hot") == set()


def test_tag_page_pushes_to_a_plugin_provider(
    server: ShelfServer, shelf: ShelfState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHELF_API_URL", server.url)
    monkeypatch.setenv("SHELF_API_KEY", KEY)
    monkeypatch.setenv("TAGGING_JOURNAL", str(tmp_path / "journal.db"))
    at = AppTest.from_file(APP, default_timeout=60)
    frame = pd.DataFrame({"item": [str(i) for i in range(8)], "title": list("abcdefgh")})
    at.session_state[session.PROVIDER_KEY] = "shelf"
    at.session_state[session.MODE_KEY] = "live"
    at.session_state[session.WORKSET_KEY] = session.Workset("books", frame, "item")
    at.run()
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception, at.exception
    at.text_input(key="tag_shelf").set_value("s3").run()
    select_rows(at, [1, 2, 6])
    at.text_input(key="tag_new").set_value("read").run()
    assert metrics(at)["To send"] == "3"
    click_push(at)
    assert not at.exception, at.exception
    assert metrics(at)["Applied"] == "3"
    assert shelf.tagged("s3", "read") == {"1", "2", "6"}
    assert toy_provider.PROVIDER.name in providers.names()
