"""Known state for the pages: the dataset's tag column with kinds, merged with the journal."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from tagging.demo import ATLAS_PROJECTION_ID, state_from_sandbox
from tagging.journal import Journal
from tagging.known_state import dataset_tags, known_state, of_kind, sandbox_state
from tests.conftest import KEYS, Sandbox


def test_dataset_tags_keep_each_rows_kind() -> None:
    frame = pd.DataFrame(
        {
            "model_id": ["6", "6", "7"],
            "model_type": ["datasource", "project", "datasource"],
            "tags": ["A;B", "", "A"],
        }
    )
    tags = dataset_tags(frame, "tags", "model_id", frame["model_type"])
    assert tags.to_dict("records") == [
        {"id": "6", "tag": "A", "kind": "datasource"},
        {"id": "6", "tag": "B", "kind": "datasource"},
        {"id": "7", "tag": "A", "kind": "datasource"},
    ]
    assert list(dataset_tags(frame, "tags", "model_id", "column")["kind"]) == ["column"] * 3
    assert list(dataset_tags(frame, "tags", "model_id").columns) == ["id", "tag"]


def test_known_state_merges_journal_and_untyped_tag_column(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    column = pd.DataFrame({"id": ["1"], "tag": ["A"]})
    state = known_state(journal, "immuta", tag_column=column)
    assert state.to_dict("records") == [{"id": "1", "tag": "A", "kind": None}]


def test_of_kind_keeps_that_kind_and_untyped_rows() -> None:
    state = pd.DataFrame(
        {"id": ["6", "6", "7"], "tag": ["A", "B", "C"], "kind": ["datasource", "project", None]}
    )
    assert of_kind(state, "datasource")["tag"].tolist() == ["A", "C"]
    untyped = state.drop(columns="kind")
    assert of_kind(untyped, "datasource") is untyped


def _atlas_tag(sandbox: Sandbox, tag: str, ids: list[str], operation: str = "add") -> None:
    r = httpx.post(
        f"{sandbox.api('atlas')}/v1/query/update/tag/ids",
        headers={"Authorization": f"Bearer {KEYS['atlas']}"},
        json={"projection_id": ATLAS_PROJECTION_ID, "tag_name": tag, "ids": ids,
              "operation": operation},
    )  # fmt: skip
    assert r.status_code == 200, r.text


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return sorted(frame.to_dict("records"), key=lambda r: tuple(map(str, r.values())))


def test_sandbox_state_read_as_arrow_says_what_the_json_state_says(sandbox: Sandbox) -> None:
    _atlas_tag(sandbox, "b", ["0", "10", "9", "295"])
    _atlas_tag(sandbox, "a", ["10", "7"])
    _atlas_tag(sandbox, "emptied", ["3"])
    _atlas_tag(sandbox, "emptied", ["3"], "remove")  # the tag stays, with no points
    target = {"projection_id": ATLAS_PROJECTION_ID}
    arrow = sandbox_state(sandbox.url, "atlas", target)
    assert arrow["id"].tolist() == ["7", "10", "0", "9", "10", "295"]  # by tag, points ascending
    assert arrow["tag"].tolist() == ["a", "a", "b", "b", "b", "b"]
    assert _records(arrow) == _records(state_from_sandbox(sandbox.state(), "atlas", target))
    body = sandbox.state()
    for provider in ("nekt", "immuta"):
        whole = state_from_sandbox(body, provider, kinds=True)
        assert _records(sandbox_state(sandbox.url, provider)) == _records(whole)


def test_known_state_of_the_sandbox_has_each_pair_once(sandbox: Sandbox, tmp_path: Path) -> None:
    """One projection's pairs come as the sandbox holds them; the dataset's tag column and
    a state of every projection are merged without repeats."""
    _atlas_tag(sandbox, "a", ["1", "2"])
    journal = Journal(tmp_path / "journal.db")
    target = {"projection_id": ATLAS_PROJECTION_ID}
    state = known_state(journal, "atlas", target, sandbox_url=sandbox.url)
    assert _records(state) == [{"id": "1", "tag": "a"}, {"id": "2", "tag": "a"}]
    column = pd.DataFrame({"id": ["2", "3", "3"], "tag": ["a", "b", "b"]})
    merged = known_state(journal, "atlas", target, tag_column=column, sandbox_url=sandbox.url)
    assert _records(merged) == [
        {"id": "1", "tag": "a"}, {"id": "2", "tag": "a"}, {"id": "3", "tag": "b"},
    ]  # fmt: skip
    every = known_state(journal, "atlas", tag_column=column, sandbox_url=sandbox.url)
    assert _records(every) == _records(merged)
