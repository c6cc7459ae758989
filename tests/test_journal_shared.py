"""One PostgreSQL journal shared by many writers: CLI pushes at once, a killed push resumed
from another process, library pushes from threads (as app sessions do). Nothing is lost or
written twice, and the sandbox ends in exactly the expected state."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable

import psycopg
from cli_support import P, cli_args, cli_env, run_json
from conftest import KEYS, ROOT, Sandbox
from pg_server import PgServer

from tagging.errors import JournalError
from tagging.journal import Journal

PUSHES = 6
KILLED = [str(i) for i in range(1000, 1060)]  # 60 batches of 1, one at a time


def ids_of(n: int) -> list[str]:
    """Push n's ids: 30 of them, overlapping the next push's by 10."""
    return [str(i) for i in range(n * 20, n * 20 + 30)]


def push_args(url: str, tags: tuple[str, ...], ids: list[str], *flags: str) -> list[str]:
    tag_flags = [f for t in tags for f in ("--tag", t)]
    return cli_args(
        "push", "--provider", "atlas", "--projection-id", P, *tag_flags,
        "--ids", ",".join(ids), "--journal", url, "--json", *flags,
    )  # fmt: skip


def wait_for(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_many_writers_share_one_postgresql_journal(
    sandbox_factory: Callable[..., Sandbox], pg_server: PgServer
) -> None:
    from tagging.config import connect
    from tagging.executor import push
    from tagging.plan import TagOperation, plan

    slow = sandbox_factory("--latency-ms", "100")
    url = pg_server.new_database()
    Journal(url).close()  # tables in place: the race is on jobs and batches
    before = {t: set(ids) for t, ids in slow.state()["atlas"].get(P, {}).items()}

    killed = subprocess.Popen(
        push_args(url, ("Killed",), KILLED, "--chunk-size", "1", "--concurrency", "1"),
        cwd=ROOT, env=cli_env(slow, TAGGING_USER="killed"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pushes = [
        subprocess.Popen(
            push_args(url, ("Shared", f"T{n}"), ids_of(n), "--chunk-size", "5"),
            cwd=ROOT,
            env=cli_env(slow, TAGGING_USER=f"user{n}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for n in range(PUSHES)
    ]

    # Two app sessions: library pushes from threads, each with its own handle and actor.
    errors: list[BaseException] = []

    def session(n: int) -> None:
        try:
            conn = connect("atlas", url=slow.api("atlas"), key=KEYS["atlas"])
            op = TagOperation("atlas", "add", (f"App{n}",), ids_of(n), {"projection_id": P})
            with Journal(url, actor=f"app{n}@example.org") as journal:
                result = push(plan(op, chunk_size=4), conn, journal=journal, concurrency=2)
            assert result.applied == 30 and result.failed == 0
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    sessions = [threading.Thread(target=session, args=(n,)) for n in range(2)]
    for t in sessions:
        t.start()

    def killed_half_way() -> bool:
        try:
            with Journal(url) as journal:
                job = next(j for j in journal.jobs() if j["tags"] == ["Killed"])
        except (JournalError, StopIteration):
            return False
        return job["counts"]["applied"] >= 10

    try:
        wait_for(killed_half_way, "the push to be killed to apply a few batches")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    for proc in pushes:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    for t in sessions:
        t.join(180)
    assert not errors, errors

    jobs = run_json(slow, "jobs", "--journal", url)
    [victim] = [j for j in jobs if j["tags"] == ["Killed"]]
    assert victim["status"] == "interrupted" and 0 < victim["counts"]["pending"] < 60
    # Resumed from another process (a fresh CLI), as another person.
    done = subprocess.run(
        cli_args("resume", victim["id"], "--journal", url, "--json"),
        cwd=ROOT, env=cli_env(slow, TAGGING_USER="rescuer"), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    jobs = run_json(slow, "jobs", "--journal", url)
    assert len(jobs) == PUSHES + 3
    assert {j["status"] for j in jobs} == {"done"}
    assert sorted(j["actor"] for j in jobs) == sorted(
        ["killed", "app0@example.org", "app1@example.org", *(f"user{n}" for n in range(PUSHES))]
    )
    for job in jobs:
        # A CLI push skips ids another push tagged first (known state): at most 30 sent.
        counts = job["counts"]
        assert counts["ids"] == counts["applied"] and counts["pending"] == counts["failed"] == 0
        assert counts["ids"] == (len(KILLED) if job["tags"] == ["Killed"] else 30) or (
            job["tags"][0] == "Shared" and counts["ids"] <= 30
        )

    with psycopg.connect(url) as db:
        # Every job's batches numbered 0..n-1 once each, every one applied: none lost or twice.
        rows = db.execute(
            "SELECT job_id, COUNT(*), COUNT(DISTINCT idx), MIN(idx), MAX(idx), "
            "SUM(CASE WHEN status = 'applied' THEN 1 ELSE 0 END) FROM batches GROUP BY job_id"
        ).fetchall()
        seqs = [r[0] for r in db.execute("SELECT seq FROM jobs").fetchall()]
    assert len(rows) == len(jobs)
    for _, count, distinct, low, high, applied in rows:
        assert count == distinct == applied == high - low + 1 and low == 0
    assert len(set(seqs)) == len(seqs) == len(jobs)

    expected = {tag: set(ids) for tag, ids in before.items()}
    for n in range(PUSHES):
        expected.setdefault("Shared", set()).update(ids_of(n))
        expected.setdefault(f"T{n}", set()).update(ids_of(n))
    for n in range(2):
        expected.setdefault(f"App{n}", set()).update(ids_of(n))
    expected.setdefault("Killed", set()).update(KILLED)
    after = {t: set(ids) for t, ids in slow.state()["atlas"].get(P, {}).items() if ids}
    assert after == {t: ids for t, ids in expected.items() if ids}
    with Journal(url) as journal:
        state = journal.state_for("atlas", {"projection_id": P})
    replayed: dict[str, set[str]] = {}
    for id_, tag in state[["id", "tag"]].itertuples(index=False):
        replayed.setdefault(tag, set()).add(id_)
    added = {t: ids - before.get(t, set()) for t, ids in expected.items()}
    assert replayed == {t: ids for t, ids in added.items() if ids}  # the journal agrees
