"""Immuta columns read back through the data dictionary (issue 13): a column tag set outside
the workbench survives a push and its undo, and verify reads column pushes back.

Real sandbox; each test asserts the final `/_sandbox/state`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from cli_support import run_cli, run_json
from conftest import KEYS, Sandbox

import tagging
from tagging.journal import Journal

TAG = "Confidential"
COLUMNS = ["6_countrycode", "6_phone", "1_created_at", "1_email"]


def outside(sandbox: Sandbox, column_id: str, tag: str) -> None:
    """A tag set on a column outside the workbench (curl, the Immuta UI)."""
    url = f"{sandbox.api('immuta')}/tag/column/{column_id}"
    body = [{"name": tag, "source": "curated"}]
    headers = {"Authorization": KEYS["immuta"]}
    httpx.post(url, json=body, headers=headers, timeout=30).raise_for_status()


def tagged_columns(sandbox: Sandbox, tag: str) -> set[str]:
    state = sandbox.state()["immuta"]
    return {
        k.removeprefix("column:") for k, v in state.items() if k.startswith("column:") and tag in v
    }


def push_columns(sandbox: Sandbox, j: tuple[str, str], columns: list[str], *more: str) -> dict:
    args = ("push", "--provider", "immuta", "--model-type", "column", "--tag", TAG)
    return run_json(sandbox, *args, "--ids", ",".join(columns), *j, *more)  # type: ignore[no-any-return]


def test_column_tags_set_outside_survive_push_and_undo(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    outside(sandbox, "6_countrycode", TAG)
    outside(sandbox, "1_created_at", TAG)  # a column name with an underscore
    done = push_columns(sandbox, j, COLUMNS)
    assert done["applied"] == 2  # the two tagged outside were read back: not sent again
    assert done["verified"] == {"checked": 2, "mismatched_ids": []}
    assert tagged_columns(sandbox, TAG) == set(COLUMNS)
    undone = run_json(sandbox, "undo", done["job_id"], *j)  # no --force: nothing unknown
    assert undone["applied"] == 2 and undone["verified"]["mismatched_ids"] == []
    assert tagged_columns(sandbox, TAG) == {"6_countrycode", "1_created_at"}


def test_library_plans_columns_from_the_dictionary(sandbox: Sandbox, tmp_path: Path) -> None:
    outside(sandbox, "6_phone", TAG)
    conn = tagging.connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"])
    journal = Journal(tmp_path / "j.db")
    ids = ["6_phone", "6_zip", "6_nosuch", "999999_x"]
    op = tagging.TagOperation("immuta", "remove", (TAG,), ids, kinds="column")
    plan = tagging.prepare(op, conn, journal=journal)
    assert plan.state_source == "provider"
    assert [i for b in plan.batches for i in b.ids] == ["6_phone"]  # only what carries it
    result = tagging.push(plan, conn, journal=journal)
    assert result.applied == 1
    assert result.verified is not None and result.verified.checked == 1
    assert result.verified.mismatched_ids == ()
    assert tagged_columns(sandbox, TAG) == set()


def test_verify_reads_column_pushes_back(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    done = run_cli(
        sandbox, "push", "--provider", "immuta", "--model-type", "column", "--tag", TAG,
        "--ids", "6_zip,6_id", *j,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "verified: 2 ids read back, 0 mismatched" in done.stdout
    assert "prior state from the journal" not in done.stderr
    assert tagged_columns(sandbox, TAG) == {"6_zip", "6_id"}
