"""Known state for the pages: the dataset's tag column with kinds, merged with the journal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tagging.journal import Journal
from tagging.known_state import dataset_tags, known_state, of_kind


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
