"""Jobs through the CLI: list, kill and resume, undo, two pushes sharing one journal."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from cli_support import P, atlas_tagged, cli_args, cli_env, run_cli, run_json
from conftest import KEYS, ROOT, Sandbox

import tagging
from tagging.errors import JournalError
from tagging.journal import Journal


def test_jobs_json_shape(sandbox: Sandbox, journal_url: str) -> None:
    j = ("--journal", journal_url)
    assert run_json(sandbox, "jobs", *j) == []
    push = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Shape")
    first = run_json(sandbox, *push, "--ids", "1,2,3", "--chunk-size", "2", *j)
    second = run_json(sandbox, *push, "--ids", "4,999999", *j, code=1)
    jobs = run_json(sandbox, "jobs", *j)
    assert [job["id"] for job in jobs] == [second["job_id"], first["job_id"]]  # newest first
    newest = jobs[0]
    assert set(newest) == {
        "id", "created_at", "provider", "target", "action", "tags", "status", "counts", "actor",
    }  # fmt: skip
    assert newest["provider"] == "atlas" and newest["action"] == "add"
    assert newest["target"] == {"projection_id": P} and newest["tags"] == ["Shape"]
    assert newest["status"] == "partial"
    assert newest["counts"] == {"ids": 2, "applied": 1, "not_found": 1, "failed": 0, "pending": 0}
    assert jobs[1]["status"] == "done" and jobs[1]["counts"]["applied"] == 3
    table = run_cli(sandbox, "jobs", *j)
    assert table.returncode == 0 and first["job_id"] in table.stdout


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_killed_push_resumes_to_the_exact_state(
    sandbox_factory: Callable[..., Sandbox], journal_url: str
) -> None:
    slow = sandbox_factory("--latency-ms", "100")
    ids = [str(i) for i in range(0, 300, 3)]  # 100 ids, 50 batches of 2, one at a time
    j = ("--journal", journal_url)
    args = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Resumed",
            "--ids", ",".join(ids), "--chunk-size", "2", "--concurrency", "1", *j)  # fmt: skip
    proc = subprocess.Popen(
        cli_args(*args), cwd=ROOT, env=cli_env(slow),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def some_applied() -> bool:
        try:  # the push creates the journal: until it has, there is nothing to read
            with Journal(journal_url) as journal:
                jobs = journal.jobs()
        except JournalError:
            return False
        return bool(jobs) and jobs[0]["counts"]["applied"] >= 6

    try:
        wait_for(some_applied, "the push to apply a few batches")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    [job] = run_json(slow, "jobs", *j)
    assert job["status"] == "interrupted"
    assert 0 < job["counts"]["pending"] < 100
    assert atlas_tagged(slow, "Resumed") < set(ids)

    done = run_json(slow, "resume", job["id"], *j)
    assert done["job_id"] == job["id"] and done["failed"] == 0
    assert atlas_tagged(slow, "Resumed") == set(ids)
    [job] = run_json(slow, "jobs", *j)
    assert job["status"] == "done"
    assert job["counts"] == {"ids": 100, "applied": 100, "not_found": 0, "failed": 0, "pending": 0}
    again = run_json(slow, "resume", job["id"], *j)  # nothing left: a no-op
    assert again["applied"] == 0


def test_undo_restores_the_prior_state(sandbox: Sandbox, journal_url: str) -> None:
    j = ("--journal", journal_url)
    push = ("push", "--provider", "immuta", "--tag", "Confidential", "--model-type",
            "datasource", "--chunk-size", "2", *j)  # fmt: skip
    run_json(sandbox, *push, "--ids", "100")
    before = sandbox.state()
    # Immuta data sources can be read back, so the plan skips 100 and undo is exact.
    done = run_json(sandbox, *push, "--ids", "100,101,102")
    assert done["applied"] == 2
    assert "Confidential" in sandbox.state()["immuta"]["datasource:101"]
    undone = run_cli(sandbox, "undo", done["job_id"], *j, "--json")
    assert undone.returncode == 0, undone.stderr
    assert undone.stderr == ""  # no warning: the prior state was known
    assert sandbox.state() == before
    assert "Confidential" in before["immuta"]["datasource:100"]
    jobs = run_json(sandbox, "jobs", *j)
    assert jobs[0]["action"] == "remove" and jobs[0]["counts"]["applied"] == 2
    again = run_cli(sandbox, "undo", done["job_id"], *j)
    assert again.returncode == 2 and "already undone" in again.stderr


def test_undo_of_two_tags_keeps_the_one_a_data_source_had(
    sandbox: Sandbox, journal_url: str
) -> None:
    j = ("--journal", journal_url)
    push = ("push", "--provider", "immuta", "--model-type", "datasource", *j)
    run_json(sandbox, *push, "--tag", "Confidential", "--ids", "100")
    run_json(sandbox, *push, "--tag", "Discovered.Passport", "--ids", "101")
    before = sandbox.state()
    both = ("--tag", "Confidential", "--tag", "Discovered.Passport")
    done = run_json(sandbox, *push, *both, "--ids", "100,101,102")
    assert done["applied"] == 3
    after = sandbox.state()["immuta"]
    assert all(
        sorted(after[f"datasource:{i}"]) == ["Confidential", "Discovered.Passport"]
        for i in (100, 101, 102)
    )
    # Each batch applied only the tags that were missing, so undo removes only those.
    tags = [b["tags"] for b in Journal(journal_url).batches(done["job_id"])]
    assert tags == [["Discovered.Passport"], ["Confidential"], None]
    undone = run_cli(sandbox, "undo", done["job_id"], *j, "--json")
    assert undone.returncode == 0, undone.stderr
    assert sandbox.state() == before


def test_nekt_undo_with_one_resource_type(sandbox: Sandbox, journal_url: str) -> None:
    j = ("--journal", journal_url)
    tables = [t["id"] for t in sandbox.world()["nekt"]["tables"][2:5]]
    before = sandbox.state()
    done = run_json(
        sandbox, "push", "--provider", "nekt", "--tag", "finance", "--resource-type", "tables",
        "--ids", ",".join(tables), "--chunk-size", "2", *j,
    )  # fmt: skip
    assert all("finance" in sandbox.state()["nekt"][t] for t in tables)
    assert done["verified"] is None  # Nekt cannot be read back
    # Nekt cannot say what a resource carried before: the undo says so and sends nothing...
    refused = run_cli(sandbox, "undo", done["job_id"], *j, "--json")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"3 items' prior state is unknown: undo --force {done['job_id']} reverses them anyway\n"
    )
    assert all("finance" in sandbox.state()["nekt"][t] for t in tables)
    # ...until forced.
    undone = run_cli(sandbox, "undo", "--force", done["job_id"], *j, "--json")
    assert undone.returncode == 0, undone.stderr
    assert sandbox.state() == before


def test_undo_without_known_state_warns(sandbox: Sandbox, journal_url: str) -> None:
    # A job a script journaled with a plan made without any known state (plan(op) alone):
    # the CLI always plans against what it knows, so it cannot make one itself.
    j = ("--journal", journal_url)
    before = sandbox.state()
    op = tagging.TagOperation("atlas", "add", ("Undo me",), ["1", "2", "3"], {"projection_id": P})
    conn = tagging.connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    job = tagging.push(tagging.plan(op), conn, journal=Journal(j[1])).job_id
    assert job is not None and atlas_tagged(sandbox, "Undo me") == {"1", "2", "3"}
    refused = run_cli(sandbox, "undo", job, *j)
    assert refused.returncode == 2 and refused.stdout == ""
    assert (
        refused.stderr
        == f"3 items' prior state is unknown: undo --force {job} reverses them anyway\n"
    )
    assert atlas_tagged(sandbox, "Undo me") == {"1", "2", "3"}  # nothing was sent
    undone = run_cli(sandbox, "undo", "--force", job, *j, "--json")
    assert undone.returncode == 0, undone.stderr
    assert undone.stderr.startswith("warning: ") and "prior state is unknown" in undone.stderr
    assert undone.stderr.count("\n") == 1
    assert atlas_tagged(sandbox, "Undo me") == set()
    assert sandbox.state() == before


def test_coverage_from_the_journal(sandbox: Sandbox, journal_url: str, tmp_path: Path) -> None:
    j = ("--journal", journal_url)
    data = tmp_path / "papers.csv"
    data.write_text("id,field\n1,cs.LG\n2,cs.LG\n3,cs.CV\n4,cs.CV\n")
    push = ("push", "--provider", "atlas", "--projection-id", P, *j)
    run_json(sandbox, *push, "--tag", "A", "--ids", "1,3")
    run_json(sandbox, *push, "--tag", "B", "--ids", "3,99")
    args = ("coverage", "--provider", "atlas", "--projection-id", P, "--dataset", str(data),
            "--id-column", "id", *j)  # fmt: skip
    doc = run_json(sandbox, *args, "--facet", "field")
    assert doc == {
        "rows": 4, "tagged": 2, "untagged": 2, "tags": {"A": 2, "B": 1},
        "facets": {
            "cs.LG": {"rows": 2, "tagged": 1, "untagged": 1, "tags": {"A": 1, "B": 0}},
            "cs.CV": {"rows": 2, "tagged": 1, "untagged": 1, "tags": {"A": 1, "B": 1}},
        },
    }  # fmt: skip
    assert set(run_json(sandbox, *args)) == {"rows", "tagged", "untagged", "tags"}
    table = run_cli(sandbox, *args)
    assert table.returncode == 0 and "untagged" in table.stdout


def test_two_concurrent_pushes_share_one_journal(sandbox: Sandbox, journal_url: str) -> None:
    j = ("--journal", journal_url)
    procs = [
        subprocess.Popen(
            cli_args(
                "push",
                "--provider",
                "atlas",
                "--projection-id",
                P,
                "--tag",
                tag,
                "--ids",
                ",".join(str(i) for i in range(200)),
                "--chunk-size",
                "1",
                "--concurrency",
                "4",
                *j,
            ),
            cwd=ROOT,
            env=cli_env(sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for tag in ("Left", "Right")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    jobs = run_json(sandbox, "jobs", *j)
    assert sorted(job["tags"][0] for job in jobs) == ["Left", "Right"]
    for job in jobs:
        assert job["status"] == "done"
        assert job["counts"]["applied"] == 200 and job["counts"]["pending"] == 0
    assert (
        atlas_tagged(sandbox, "Left")
        == atlas_tagged(sandbox, "Right")
        == {str(i) for i in range(200)}
    )
    if "://" not in journal_url:
        check = sqlite3.connect(journal_url).execute("PRAGMA integrity_check")
        assert check.fetchone() == ("ok",)
