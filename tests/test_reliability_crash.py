"""Crashes: a Streamlit server killed mid-push, journals left by killed processes or by an
earlier version of the schema, all ending in the exact expected state after a resume.

(The CLI killed mid-push, and two concurrent CLI pushes, are in tests/test_cli_jobs.py.)
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cli_support import P, atlas_tagged, cli_args, cli_env, journal_arg, run_json
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Sandbox, free_port
from playwright.sync_api import Page, expect, sync_playwright

from tagging.journal import Journal


def wait_for(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def applied_batches(path: Path) -> int:
    """Applied batches of the newest job, read while another process writes."""
    if not path.exists():
        return 0
    with Journal(path) as book:
        jobs = book.jobs()
        batches = book.batches(jobs[0]["id"]) if jobs else []
    return sum(b["status"] == "applied" for b in batches)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


# --- Streamlit killed mid-push --------------------------------------------------------------


def start_streamlit(sandbox: Sandbox, journal: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, **sandbox.env(), "TAGGING_JOURNAL": str(journal)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok"
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, "streamlit to answer /_stcore/health", timeout=60)
    except AssertionError:
        proc.kill()
        raise
    return proc, url


def settle(page: Page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(200)


@pytest.mark.browser
def test_streamlit_killed_mid_push_then_cli_resume_is_exact(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    slow = sandbox_factory("--latency-ms", "250")
    journal = tmp_path / "journal.db"
    proc, url = start_streamlit(slow, journal)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(url)
            settle(page)
            page.get_by_test_id("stSidebarNav").get_by_text("Tag", exact=True).click()
            settle(page)
            page.get_by_role("button", name="Select all 10,000 filtered rows").click()
            settle(page)
            new = page.get_by_role("textbox", name="New tags (comma separated)")
            new.fill("Killed mid-push")
            new.press("Enter")
            settle(page)
            page.get_by_text("Advanced", exact=True).click()
            chunk = page.get_by_label("Ids per batch (0 = provider default)")
            chunk.fill("100")  # 100 batches of 100 ids, 4 in flight, 250 ms each
            chunk.press("Enter")
            settle(page)
            # The preview planned with the new size: a click sent before it would be refused
            # (the widgets it was sent with are not the plan's), and nothing would be pushed.
            batches = page.get_by_test_id("stMetric").filter(has_text="Batches")
            expect(batches.get_by_test_id("stMetricValue")).to_have_text("100")
            page.get_by_role("button", name="Push 10,000 ids").click()
            wait_for(lambda: applied_batches(journal) >= 8, "a few batches to be applied")
            proc.send_signal(signal.SIGKILL)  # while batches are in flight
            proc.wait(10)
            browser.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    assert integrity(journal) == "ok"
    j = journal_arg(tmp_path)
    [job] = run_json(slow, "jobs", *j)
    assert job["status"] == "interrupted"
    assert job["tags"] == ["Killed mid-push"]
    assert 0 < job["counts"]["pending"] < 10_000
    before = atlas_tagged(slow, "Killed mid-push")
    assert 0 < len(before) < 10_000

    done = run_json(slow, "resume", job["id"], *j)
    assert done["failed"] == 0 and done["not_found"] == 0
    assert atlas_tagged(slow, "Killed mid-push") == {str(i) for i in range(10_000)}
    [job] = run_json(slow, "jobs", *j)
    assert job["status"] == "done"
    assert job["counts"] == {
        "ids": 10_000, "applied": 10_000, "not_found": 0, "failed": 0, "pending": 0,
    }  # fmt: skip


# --- journals left behind -------------------------------------------------------------------


def test_journal_of_a_killed_cli_opens_cleanly_and_takes_new_jobs(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    slow = sandbox_factory("--latency-ms", "50")
    j = journal_arg(tmp_path)
    path = tmp_path / "journal.db"
    args = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Crashed",
            "--ids", ",".join(str(i) for i in range(400)), "--chunk-size", "1",
            "--concurrency", "8", *j)  # fmt: skip
    proc = subprocess.Popen(
        cli_args(*args), cwd=ROOT, env=cli_env(slow),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: applied_batches(path) >= 20, "the push to write batches")
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-write: the WAL holds uncheckpointed pages
        proc.wait()
    assert integrity(path) == "ok"
    book = Journal(path)
    [job] = book.jobs()
    assert job["status"] == "interrupted"
    counts = job["counts"]
    assert counts["applied"] + counts["pending"] + counts["failed"] == 400

    # The same journal takes a new job while the old one waits, then the old one resumes.
    other = run_json(slow, "push", "--provider", "atlas", "--projection-id", P, "--tag",
                     "After", "--ids", "1,2", *j)  # fmt: skip
    assert other["applied"] == 2
    done = run_json(slow, "resume", job["id"], *j)
    assert done["failed"] == 0
    assert atlas_tagged(slow, "Crashed") == {str(i) for i in range(400)}
    statuses = {e["id"]: e["status"] for e in run_json(slow, "jobs", *j)}
    assert statuses == {job["id"]: "done", other["job_id"]: "done"}
    assert integrity(path) == "ok"


# The schema as released before jobs carried a `kind` and batches their `tags`.
_EARLIER_SCHEMA = (
    """CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, provider TEXT NOT NULL,
        target TEXT NOT NULL, action TEXT NOT NULL, tags TEXT NOT NULL, status TEXT NOT NULL,
        known_state INTEGER NOT NULL, chunk_size INTEGER, requested INTEGER NOT NULL,
        skipped INTEGER NOT NULL, warnings TEXT NOT NULL, undo_of TEXT, host TEXT, pid INTEGER)""",
    """CREATE TABLE batches (job_id TEXT NOT NULL REFERENCES jobs(id), idx INTEGER NOT NULL,
        size INTEGER NOT NULL, ids TEXT NOT NULL, kinds TEXT, status TEXT NOT NULL,
        applied INTEGER NOT NULL, not_found INTEGER NOT NULL, not_found_ids TEXT NOT NULL,
        failed INTEGER NOT NULL, failed_ids TEXT NOT NULL, reason TEXT NOT NULL,
        attempts INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (job_id, idx))""",
    f"""INSERT INTO jobs VALUES ('oldjob000001', 1, '2025-01-01T00:00:00.000Z',
        '2025-01-01T00:00:01.000Z', 'atlas', '{{"projection_id": "{P}"}}', 'add', '["Old"]',
        'done', 0, 2, 2, 0, '[]', NULL, 'elsewhere', NULL)""",
    """INSERT INTO batches VALUES ('oldjob000001', 0, 2, '5
6', NULL, 'applied', 2, 0, '', 0, '', '', 1, '2025-01-01T00:00:01.000Z')""",
)


def test_journal_of_an_earlier_schema_opens_and_takes_new_jobs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "journal.db"
    with sqlite3.connect(path) as db:
        for statement in _EARLIER_SCHEMA:
            db.execute(statement)
    j = journal_arg(tmp_path)
    [old] = run_json(sandbox, "jobs", *j)
    assert (old["id"], old["status"], old["counts"]["applied"]) == ("oldjob000001", "done", 2)
    new = run_json(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "New",
                   "--ids", "7,8", *j)  # fmt: skip
    assert new["applied"] == 2
    assert [e["id"] for e in run_json(sandbox, "jobs", *j)] == [new["job_id"], "oldjob000001"]
    state = Journal(path).state_for("atlas", {"projection_id": P})
    assert sorted(map(tuple, state.to_numpy().tolist())) == [
        ("5", "Old"), ("6", "Old"), ("7", "New"), ("8", "New"),
    ]  # fmt: skip
    assert integrity(path) == "ok"
