"""A distinctive key goes through a whole flow and is then looked for in every artefact.

CLI push (default journal under .tagging/), jobs --json, CSV/JSON/Excel exports, a push with a
wrong key, connection errors and reprs, and the app in live mode via AppTest (page text,
errors, copy-as-curl); then the journal's bytes, every file under .tagging/, stdout and
stderr, the exports, the messages and the screenshots' names must not contain either key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from app_harness import app_env, click_push, open_app, select_rows  # noqa: F401
from cli_support import PROVIDER_VARS
from conftest import ROOT, Sandbox
from streamlit.testing.v1 import AppTest

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.errors import TaggingError
from tagging.export import to_excel_bytes
from tagging.journal import Journal

KEY = "tw-SECRET-5f3a9c1e-7d2b-4e8f-b6a0-9c4d2e1f8a7b"
WRONG = "tw-WRONG-0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
NEEDLES = (KEY, WRONG, KEY[3:20], WRONG[3:20])  # fragments too: no partial leak either


@pytest.fixture
def secret_sandbox(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    """A sandbox whose Atlas and Nekt keys are the distinctive KEY."""
    monkeypatch.setenv("TAGGING_SANDBOX_ATLAS_KEY", KEY)
    monkeypatch.setenv("TAGGING_SANDBOX_NEKT_KEY", KEY)
    return sandbox_factory()


def leaks(blob: bytes | str) -> list[str]:
    data = blob if isinstance(blob, bytes) else blob.encode()
    return [n for n in NEEDLES if n.encode() in data]


def cli(sb: Sandbox, cwd: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update({"ATLAS_API_URL": sb.api("atlas"), "NOMIC_API_KEY": key, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "tagging", *args], cwd=cwd, env=env, capture_output=True,
        timeout=120,
    )  # fmt: skip


def test_the_key_appears_in_no_artefact(secret_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = secret_sandbox
    outputs: list[bytes] = []
    push = ("push", "--provider", "atlas", "--projection-id", ATLAS_PROJECTION_ID, "--tag", "S")
    done = cli(sb, tmp_path, *push, "--ids", "1,2,3,999999")
    assert done.returncode == 1, done.stderr
    outputs += [done.stdout, done.stderr]
    done = cli(sb, tmp_path, *push, "--ids", "4,5", "--json")
    assert done.returncode == 0, done.stderr
    job_id = json.loads(done.stdout)["job_id"]
    outputs += [done.stdout, done.stderr]
    done = cli(sb, tmp_path, "jobs", "--json")
    assert len(json.loads(done.stdout)) == 2
    outputs += [done.stdout, done.stderr]
    done = cli(sb, tmp_path, "jobs")
    outputs += [done.stdout, done.stderr]
    wrong = cli(sb, tmp_path, *push, "--ids", "6", key=WRONG)
    assert wrong.returncode == 2 and b"rejected the key" in wrong.stderr
    outputs += [wrong.stdout, wrong.stderr]
    assert sorted(sb.state()["atlas"][ATLAS_PROJECTION_ID]["S"]) == ["1", "2", "3", "4", "5"]

    # exports of the journal
    book = Journal(tmp_path / ".tagging" / "journal.db")
    outputs += [
        book.export_job(job_id, "csv"),
        book.export_job(job_id, "json"),
        to_excel_bytes(book.job_frame(job_id)),
    ]

    # exception messages and reprs of connections that hold the key
    messages: list[str] = []
    for url in ("ftp://host", "http://user:" + KEY + "@host/x", "http://127.0.0.1:9/x?k=" + KEY):
        with pytest.raises(TaggingError) as caught:
            connect("atlas", url=url, key=KEY)
        messages.append(str(caught.value))
    for key in (KEY[:10] + "\n" + KEY[10:], KEY + " extra"):
        with pytest.raises(TaggingError) as caught:
            connect("atlas", url=sb.api("atlas"), key=key)
        messages.append(str(caught.value))
    conn = connect("atlas", url=sb.api("atlas"), key=WRONG)
    with pytest.raises(TaggingError) as caught:
        conn.check({"projection_id": ATLAS_PROJECTION_ID})
    messages += [str(caught.value), repr(conn), str(conn), repr(caught.value.args)]
    assert not leaks("\n".join(messages)), messages

    # every file the flow left behind, and every output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "journal.db" for p in files)
    for path in files:
        assert not leaks(path.read_bytes()), path
        assert not leaks(str(path)), path
    for blob in outputs:
        assert not leaks(blob), blob[-500:]
    # the repository's own run files and screenshots
    for folder in (ROOT / ".tagging", ROOT / "docs"):
        for path in folder.glob("*") if folder.exists() else []:
            assert not leaks(path.name), path
            if path.suffix in (".log", ".txt", ".json"):
                assert not leaks(path.read_bytes()), path


@pytest.fixture
def live_app(
    request: pytest.FixtureRequest,
    secret_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """app_env's setup, then pointed at the secret sandbox (the shared one has default keys)."""
    request.getfixturevalue("app_env")
    for name, value in secret_sandbox.env().items():
        monkeypatch.setenv(name, value)
    for name in ("NOMIC_API_KEY", "NEKT_API_KEY"):
        monkeypatch.delenv(name)
    journal = tmp_path / "journal.db"
    monkeypatch.setenv("TAGGING_JOURNAL", str(journal))
    yield journal


def page_text(at: AppTest) -> str:
    """Everything the page shows, except the password field's own value."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "code",
                 "metric", "exception", "toast", "title", "subheader", "text", "json"):  # fmt: skip
        for element in at.get(kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(element.proto))
    for box in at.text_input:
        if box.proto.type != box.proto.PASSWORD:
            parts.append(str(box.value))
    return "\n".join(parts)


def test_the_key_stays_out_of_the_app(
    secret_sandbox: Sandbox, live_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = secret_sandbox
    at = open_app("nekt")
    at.sidebar.radio(key="mode").set_value("live").run()
    at.sidebar.text_input(key="live_url_nekt").set_value(sb.api("nekt"))
    at.sidebar.text_input(key="live_key_nekt").set_value(WRONG).run()
    at.sidebar.button(key="test_connection").click().run()
    assert "rejected the key" in at.sidebar.error[0].value
    shown = page_text(at)
    at.sidebar.text_input(key="live_key_nekt").set_value(KEY).run()
    at.sidebar.button(key="test_connection").click().run()
    assert at.sidebar.success[0].value.startswith("Connected")

    at.switch_page("app_pages/tag.py").run()
    select_rows(at, [0, 1])
    at.text_input(key="tag_new").set_value("secure").run()
    click_push(at)
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Applied"][-1] == "2"
    shown += page_text(at)
    assert "$NEKT_API_KEY" in shown  # copy as curl shows the placeholder
    at.switch_page("app_pages/history.py").run()
    assert not at.exception, at.exception
    shown += page_text(at)
    assert not leaks(shown)
    assert not leaks(live_app.read_bytes())
    wal = live_app.with_name(live_app.name + "-wal")
    assert not (wal.exists() and leaks(wal.read_bytes()))
    tagged = {k for k, v in sb.state()["nekt"].items() if "secure" in v}
    assert len(tagged) == 2
    assert httpx.get(f"{sb.url}/_sandbox/state").status_code == 200
