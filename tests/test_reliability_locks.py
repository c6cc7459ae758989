"""Principle 1 of the reliability corpus: one job, one runner.

A job being pushed, resumed or undone holds a lease in the journal (both backends): a second
resume, an undo of a running job, or a resume while the original push runs is refused with
one line (exit 2), and counts never exceed sizes. A lease of a process that died, or whose
heartbeat stopped, is taken over. The cross-process cases run real CLI processes against a
slow sandbox, so the first runner is still running when the second one starts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import P, atlas_tagged, cli_args, cli_env
from conftest import KEYS, ROOT, Sandbox
from fault_server import Fault, fault_server

from tagging.config import connect
from tagging.executor import push
from tagging.journal import Journal
from tagging.journal.locks import LEASE_S, JobLocked
from tagging.journal.sqlite import use_wal
from tagging.plan import TagOperation, plan

IDS = [str(i) for i in range(8)]
OP = TagOperation("atlas", "add", ("Locked",), IDS, {"projection_id": P})


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def set_lock(journal: Journal, job_id: str, **columns: object) -> None:
    """Rewrite the job's lease as if another process (or machine) held it."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    with journal.storage._write() as tx:  # type: ignore[attr-defined]
        tx.run(f"UPDATE job_locks SET {sets} WHERE job_id = ?", (*columns.values(), job_id))


def started_job(journal_url: str) -> tuple[Journal, str]:
    first = Journal(journal_url)
    return first, first.start_job(plan(OP, chunk_size=2))


@pytest.mark.parametrize("action", ["resume", "undo"])
def test_a_running_job_refuses_a_second_runner(journal_url: str, action: str) -> None:
    first, job_id = started_job(journal_url)
    second = Journal(journal_url)
    reason = second.holder(job_id)
    assert reason is not None and f"job {job_id} is being pushed by pid {os.getpid()}" in reason
    assert first.holder(job_id) is None  # its own lease does not stop the runner itself
    with pytest.raises(JobLocked, match="is being pushed"):
        if action == "resume":
            second.hold(job_id, "resume")
        else:
            second.undo_plan(job_id)
    first.finish_job(job_id, "interrupted")
    assert second.holder(job_id) is None
    second.hold(job_id, "resume")  # free once the first runner finished
    assert "is being resumed" in (first.holder(job_id) or "")
    second.release(job_id)


def test_the_lease_of_a_dead_process_is_taken_over(journal_url: str) -> None:
    first, job_id = started_job(journal_url)
    set_lock(first, job_id, pid=dead_pid())
    second = Journal(journal_url)
    assert second.holder(job_id) is None
    second.hold(job_id, "resume")
    assert "is being resumed" in (Journal(journal_url).holder(job_id) or "")


def test_another_hosts_lease_holds_while_it_beats_and_expires_after(journal_url: str) -> None:
    first, job_id = started_job(journal_url)
    fresh = int(time.time() * 1000)
    set_lock(first, job_id, host="elsewhere", heartbeat_at=fresh)
    second = Journal(journal_url)
    with pytest.raises(JobLocked, match="on elsewhere"):
        second.hold(job_id, "undo")
    set_lock(first, job_id, heartbeat_at=fresh - int(LEASE_S * 1000) - 1_000)
    second.hold(job_id, "undo")
    assert "is being undone" in (Journal(journal_url).holder(job_id) or "")


def test_a_heartbeat_refreshes_only_its_own_lease(journal_url: str) -> None:
    first, job_id = started_job(journal_url)
    holder, _ = first._leases[job_id]
    set_lock(first, job_id, heartbeat_at=0)
    assert first.storage.beat_lock(holder)
    assert first.storage.lock_holder(job_id) is not None  # beating again: not stale
    set_lock(first, job_id, owner="someone-else")
    assert not first.storage.beat_lock(holder)


def test_undo_of_a_job_another_runner_holds_sends_nothing(sandbox: Sandbox, tmp_path) -> None:
    path = tmp_path / "j.db"
    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    done = push(plan(OP), conn, journal=Journal(path))
    other = Journal(path)
    other.hold(done.job_id, "resume")
    with pytest.raises(JobLocked, match="is being resumed"):
        Journal(path).undo(done.job_id, conn)
    assert atlas_tagged(sandbox, "Locked") == set(IDS)
    assert len(Journal(path).jobs()) == 1  # no undo job was started


# --- real processes, held mid-push by a gate in front of the sandbox --------------------------


def cli(gate_url: str, sb: Sandbox, journal: Path, *args: str) -> subprocess.Popen[str]:
    env = cli_env(sb, ATLAS_API_URL=f"{gate_url}/atlas", NOMIC_API_KEY=KEYS["atlas"])
    return subprocess.Popen(
        cli_args(*args, "--journal", str(journal)),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def refused(gate_url: str, sb: Sandbox, journal: Path, *args: str) -> str:
    """The one error line of a command that must be refused."""
    _, err = (proc := cli(gate_url, sb, journal, *args)).communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def wait_for_lease(journal: Path, proc: subprocess.Popen[str], fault: Fault) -> str:
    """The job id once the process holds its lease and its first write waits at the gate."""
    assert fault.posted.wait(60), proc.communicate()
    book = Journal(journal)
    [job_id] = [job["id"] for job in book.jobs() if book.holder(job["id"])]
    return str(job_id)


PUSH = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Locked",
        "--ids", ",".join(IDS), "--chunk-size", "1", "--concurrency", "1")  # fmt: skip


def test_resume_and_undo_while_the_push_runs_are_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    fault = Fault("gate", upstream=sandbox.url)
    with fault_server(fault) as gate:
        proc = cli(gate, sandbox, journal, *PUSH)
        job_id = wait_for_lease(journal, proc, fault)
        for command in ("resume", "undo"):
            err = refused(gate, sandbox, journal, command, job_id)
            assert err.startswith(f"error: job {job_id} is being pushed by pid {proc.pid}")
        fault.gate.set()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    [job] = Journal(journal).jobs()
    assert job["counts"]["applied"] == len(IDS) == job["counts"]["ids"]
    assert atlas_tagged(sandbox, "Locked") == set(IDS)


def test_two_resumes_at_once_take_over_a_dead_push_once(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    fault = Fault("gate", upstream=sandbox.url)
    with fault_server(fault) as gate:
        killed = cli(gate, sandbox, journal, *PUSH)
        job_id = wait_for_lease(journal, killed, fault)
        killed.send_signal(signal.SIGKILL)  # dies holding its lease
        killed.communicate(timeout=10)
        fault.posted.clear()
        first = cli(gate, sandbox, journal, "resume", job_id)
        assert wait_for_lease(journal, first, fault) == job_id  # the dead lease taken over
        for command in ("resume", "undo"):
            err = refused(gate, sandbox, journal, command, job_id)
            assert err.startswith(f"error: job {job_id} is being resumed by pid {first.pid}")
        fault.gate.set()
        first.communicate(timeout=60)
    assert first.returncode == 0
    [job] = Journal(journal).jobs()
    counts = job["counts"]
    assert counts["applied"] == counts["ids"] == len(IDS) and counts["pending"] == 0
    for batch in Journal(journal).batches(job_id):
        assert batch["applied"] + batch["not_found"] + batch["failed"] <= len(batch["ids"])
    assert Journal(journal).holder(job_id) is None  # released at the end


class _LockedTwice:
    """A connection whose `PRAGMA journal_mode=WAL` answers "database is locked" twice, as
    SQLite does (without its busy wait) when another process is creating the same file."""

    def __init__(self, error: str = "database is locked") -> None:
        self.calls, self.error = 0, error

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise sqlite3.OperationalError(self.error)


def test_a_journal_opened_by_two_processes_at_once_waits_for_the_other() -> None:
    db = _LockedTwice()
    use_wal(db)  # type: ignore[arg-type]
    assert db.calls == 3


def test_a_journal_file_that_fails_otherwise_is_not_retried() -> None:
    db = _LockedTwice("disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        use_wal(db)  # type: ignore[arg-type]
    assert db.calls == 1
