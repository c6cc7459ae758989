"""Principle 4 of the reliability corpus: every answer is bounded and checked.

Fault servers of our own on 127.0.0.1 hang, drip, send endless or oversized bodies, or answer
in a shape the API does not document. Each ends as a failed batch (or one config line) with
a one-line reason, nothing counted as applied; Ctrl-C ends a push whose requests hang and
leaves the job resumable; a slow host is called slow, not absent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import P, cli_args, cli_env
from conftest import ROOT
from fault_server import Fault, fault_server

import tagging.config
from tagging.__main__ import run as cli_run
from tagging.config import connect
from tagging.errors import ConfigError
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan
from tagging.retry import RetryPolicy

ONCE = RetryPolicy(max_attempts=1, base_delay=0.0)
OP = TagOperation("atlas", "add", ("T",), ["1", "2"], {"projection_id": P})


def atlas_at(url: str, **kw: Any) -> tagging.config.Connection:
    kw.setdefault("timeout", 0.5)
    kw.setdefault("retry", ONCE)
    return connect("atlas", url=url, key="k", **kw)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("hang"), "did not answer in time"),
        (Fault("drip"), "did not answer in time"),
        (Fault("endless"), "larger than 64 KB"),
        (Fault("huge"), "larger than 64 KB"),
    ],
    ids=["hang", "drip", "endless-chunked", "huge-body"],
)
def test_unbounded_answers_end_as_failed_batches(fault: Fault, reason: str, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    with fault_server(fault) as url:
        result = push(plan(OP), atlas_at(url, max_answer=65_536), journal=journal, retry=ONCE)
    assert (result.applied, result.failed) == (0, 2)
    [outcome] = result.outcomes
    assert reason.replace("64 KB", "65,536 bytes") in outcome.reason
    assert "\n" not in outcome.reason
    [job] = journal.jobs()
    assert job["counts"]["applied"] == 0


MISSHAPEN = {
    "points-tagged-text": {"success": True, "tag_id": "t", "points_tagged": "lots"},
    "points-tagged-negative": {"success": True, "tag_id": "t", "points_tagged": -1},
    "points-tagged-fraction": {"success": True, "tag_id": "t", "points_tagged": 1.5},
    "points-tagged-bool": {"success": True, "tag_id": "t", "points_tagged": True},
    "points-tagged-null": {"success": True, "tag_id": "t", "points_tagged": None},
    "success-as-text": {"success": "yes", "tag_id": "t", "points_tagged": 2},
    "a-list": [{"success": True}],
    "a-number": 2,
    "null": None,
    "empty-object": {},
}


@pytest.mark.parametrize("body", MISSHAPEN.values(), ids=MISSHAPEN.keys())
def test_misshapen_atlas_answers_fail_the_batch(body: object) -> None:
    with fault_server(Fault("json", body)) as url:
        result = push(plan(OP), atlas_at(url), retry=ONCE)
    assert (result.applied, result.not_found, result.failed) == (0, 0, 2)
    reason = result.outcomes[0].reason
    assert reason.startswith("HTTP 200: Atlas") and "\n" not in reason


@pytest.mark.parametrize("body", [{"detail": "ok"}, "attached", None, 3])
def test_misshapen_nekt_answers_fail_the_batch(body: object) -> None:
    from tagging.demo import nekt_resource_id

    op = TagOperation("nekt", "add", ("T",), [nekt_resource_id("tables", 1)], {}, kinds="tables")
    with fault_server(Fault("json", body)) as url:
        conn = connect("nekt", url=url, key="k", timeout=0.5, retry=ONCE)
        result = push(plan(op), conn, retry=ONCE)
    assert (result.applied, result.failed) == (0, 1)


def test_a_provider_read_that_raises_on_shape_is_a_failed_batch(monkeypatch) -> None:
    from tagging import providers

    api = providers.get("atlas")
    monkeypatch.setattr(type(api), "read", lambda self, r, a: int("lots"))
    with fault_server(Fault("json", {})) as url:
        result = push(plan(OP), atlas_at(url), retry=ONCE)
    assert result.failed == 2
    assert "not in the documented shape" in result.outcomes[0].reason


@pytest.mark.parametrize(
    "fault",
    [
        Fault("json", {"tags": "x"}, every_method=True),
        Fault("json", [1, 2], every_method=True),
        Fault("text", "<html>", every_method=True),
        Fault("endless", every_method=True),
    ],
    ids=["object", "list-of-numbers", "html", "endless"],
)
def test_misshapen_or_endless_tag_lists_are_one_config_line(fault: Fault) -> None:
    with fault_server(fault) as url, pytest.raises(ConfigError) as err:
        atlas_at(url, max_answer=65_536).check({"projection_id": P})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key", ["k\u2013ey", "kéy", "\u200bkey", "ключ"])
def test_a_non_ascii_key_is_a_clear_config_error(key: str) -> None:
    with pytest.raises(ConfigError, match="NOMIC_API_KEY contains"):
        connect("atlas", url="https://api.example.com", key=key)


def test_a_slow_sandbox_is_reported_as_slow(monkeypatch, capfd, tmp_path: Path) -> None:
    with fault_server(Fault("slow", every_method=True, delay=5)) as url:
        for var in ("ATLAS_API_URL", "NOMIC_API_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("TAGGING_SANDBOX_URL", url)
        real = tagging.config.connect
        monkeypatch.setattr(
            tagging.config,
            "connect",
            lambda p, **kw: real(p, **{**kw, "timeout": 0.3, "retry": ONCE}),
        )
        code = cli_run(["push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
                        "--ids", "1", "--journal", str(tmp_path / "j.db")])  # fmt: skip
    err = capfd.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {url}/atlas is slow") and err.count("\n") == 1
    assert "start it" not in err


def test_ctrl_c_ends_a_push_whose_requests_hang(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    fault = Fault("hang")
    with fault_server(fault) as url:
        env = cli_env(None, ATLAS_API_URL=url, NOMIC_API_KEY="k", TAGGING_DEADLINE_S="120")
        proc = subprocess.Popen(
            cli_args("push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
                     "--ids", "1,2,3,4", "--chunk-size", "1", "--journal", str(journal)),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert fault.posted.wait(60), "the push never sent its first request"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)  # a guard: the deadline alone is 120 s
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted: resume with `python -m tagging resume" in err
    [job] = Journal(journal).jobs()
    assert job["status"] == "interrupted"
    assert job["counts"]["applied"] == 0 and job["counts"]["pending"] == 4
    assert Journal(journal).load_plan(job["id"]).to_send == 4  # resumable, all of it


def test_ctrl_c_ends_concurrent_reads_that_hang(tmp_path: Path) -> None:
    """Immuta reads each data source's tags on a pool of threads: none may hold the exit."""
    fault = Fault("json", [{"name": "Confidential", "deleted": False}], every_method=True,
                  hang_paths=("/dataSource/",))  # fmt: skip
    with fault_server(fault) as url:
        env = cli_env(None, IMMUTA_API_URL=url, IMMUTA_API_KEY="k", TAGGING_DEADLINE_S="120")
        proc = subprocess.Popen(
            cli_args("push", "--provider", "immuta", "--model-type", "datasource", "--tag",
                     "Confidential", "--ids", "6,22,523", "--journal", str(tmp_path / "j.db")),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            for _ in range(600):  # until the hanging reads are in flight
                if fault.requests >= 3 or proc.poll() is not None:
                    break
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)  # a guard: the deadline alone is 120 s
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err  # no job was started yet: nothing to resume
    assert "Traceback" not in out + err
