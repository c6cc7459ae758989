"""Principle 5 of the reliability corpus: the journal is never silently lost.

A job is checkpointed into the main SQLite file as it starts, as batches finish and as it
ends, so losing the `-wal` file loses no job; `jobs` and exports work on a journal we may
only read; a damaged journal takes no new job and says how to recover, and `journal
recover` copies out what is readable. Read-only cases run a subprocess without the
capability that lets root ignore file permissions.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import P, cli_args, cli_env, run_cli
from conftest import ROOT, Sandbox

from tagging.journal import Journal
from tagging.journal.health import check
from tagging.plan import TagOperation, plan
from tagging.values import BatchOutcome

OP = TagOperation("atlas", "add", ("Kept",), [str(i) for i in range(6)], {"projection_id": P})


def applied(index: int, size: int = 2) -> BatchOutcome:
    return BatchOutcome(index=index, status="applied", applied=size, not_found=0)


def jobs_in_new_process(path: Path) -> list[dict]:
    done = run(cli_args("jobs", "--json", "--journal", str(path)))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("stage", ["started", "one-batch", "finished"])
def test_a_lost_wal_file_loses_no_job(stage: str, tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)  # stays open: the process is mid-job when the -wal goes
    job = journal.start_job(plan(OP, chunk_size=2))
    if stage != "started":
        journal.record_batch(job, applied(0))
    if stage == "finished":
        for index in (1, 2):
            journal.record_batch(job, applied(index))
        journal.finish_job(job, "done")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    [seen] = jobs_in_new_process(path)
    assert seen["id"] == job
    expected = {"started": 0, "one-batch": 2, "finished": 6}[stage]
    assert seen["counts"]["applied"] == expected and seen["counts"]["ids"] == 6
    if stage == "finished":
        assert seen["status"] == "done"


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=cli_env(None), capture_output=True, text=True, timeout=60
    )


def unprivileged(args: list[str]) -> list[str]:
    """As root, drop the capabilities that override file permissions; else run as is."""
    if os.geteuid() != 0:
        return args
    if shutil.which("setpriv") is None:
        # util-linux (Essential on Debian) ships it: without it the test would prove nothing
        pytest.fail("setpriv is missing: install util-linux to run this test as root")
    drop = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={drop}", *args]


def read_only_journal(tmp_path: Path, folder_too: bool) -> tuple[Path, str]:
    path = tmp_path / "ro" / "journal.db"
    journal = Journal(path)
    job = journal.start_job(plan(OP, chunk_size=2))
    journal.record_batch(job, applied(0))
    journal.finish_job(job, "interrupted")
    journal.close()
    for extra in path.parent.iterdir():
        if extra != path:
            extra.unlink()
    path.chmod(0o444)
    if folder_too:
        path.parent.chmod(0o555)
    return path, job


READER = """
import sys
from tagging.journal import Journal
j = Journal(sys.argv[1])
[job] = j.jobs()
csv, doc = j.export_job(job["id"]), j.export_job(job["id"], "json")
print(job["counts"]["applied"], len(csv.splitlines()), len(doc) > 0)
"""


@pytest.mark.parametrize("folder_too", [False, True], ids=["file", "file-and-folder"])
def test_jobs_and_exports_work_on_a_read_only_journal(tmp_path: Path, folder_too: bool) -> None:
    path, job = read_only_journal(tmp_path, folder_too)
    try:
        listed = run(unprivileged(cli_args("jobs", "--json", "--journal", str(path))))
        assert listed.returncode == 0, listed.stderr
        assert [j["id"] for j in json.loads(listed.stdout)] == [job]
        read = run(unprivileged([sys.executable, "-c", READER, str(path)]))
        assert read.returncode == 0, read.stderr
        assert read.stdout.split() == ["2", "7", "True"]  # header + 6 ids
        push = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "T", "--ids", "1")
        pushed = run(unprivileged(cli_args(*push, "--journal", str(path))))
        assert pushed.returncode == 2
        assert pushed.stderr.startswith(f"error: the journal at {path} is read-only")
    finally:
        path.parent.chmod(0o755)


def damaged_journal(tmp_path: Path) -> tuple[Path, int]:
    """A journal of 30 jobs with one page overwritten by noise (how many batches it had)."""
    path = tmp_path / "damaged.db"
    journal = Journal(path)
    for n in range(30):
        ids = [f"{n}-{i:05d}" for i in range(300)]
        op = TagOperation("atlas", "add", ("T",), ids, {"projection_id": P})
        journal.finish_job(journal.start_job(plan(op, chunk_size=50)), "interrupted")
    journal.close()
    with path.open("r+b") as fh:
        fh.seek(4096 * 20)
        fh.write(random.Random(1).randbytes(4096))
    return path, 30 * 6


def test_a_damaged_journal_takes_no_new_job_and_says_how_to_recover(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path, _ = damaged_journal(tmp_path)
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
                   "--ids", "1", "--journal", str(path))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"the journal at {path} is damaged" in done.stderr
    assert "journal check" in done.stderr and "journal recover" in done.stderr
    assert sandbox.state()["atlas"].get(P, {}) == {}  # nothing sent


def test_journal_check_and_recover(sandbox: Sandbox, tmp_path: Path) -> None:
    path, batches = damaged_journal(tmp_path)
    checked = run_cli(sandbox, "journal", "check", "--journal", str(path))
    assert checked.returncode == 1
    assert checked.stdout.startswith(f"journal at {path} is damaged: ")
    new = tmp_path / "new.db"
    recovered = run_cli(sandbox, "journal", "recover", "--journal", str(path), "--to", str(new))
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.startswith("copied 30 jobs and ")
    kept = Journal(new)
    assert len(kept.jobs()) == 30
    assert 0 < sum(j["counts"]["ids"] for j in kept.jobs()) < batches * 50  # a page lost
    assert run_cli(sandbox, "journal", "check", "--journal", str(new)).returncode == 0
    again = run_cli(sandbox, "journal", "recover", "--journal", str(path), "--to", str(new))
    assert again.returncode == 2 and "exists: recover into a new file" in again.stderr


def test_check_finds_counts_over_sizes_on_either_backend(journal_url: str) -> None:
    journal = Journal(journal_url)
    job = journal.start_job(plan(OP, chunk_size=2))
    journal.finish_job(job, "interrupted")
    assert check(journal_url) == []
    with journal.storage._write() as tx:  # type: ignore[attr-defined]
        tx.run("UPDATE batches SET applied = size + 5 WHERE job_id = ?", (job,))
    [problem] = check(journal_url)
    assert problem == f"job {job} counts more outcomes than its 6 ids"
