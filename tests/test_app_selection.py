"""Selection bookkeeping behind the Tag page's grid (tagging.selection): ids, not positions."""

from __future__ import annotations

import pandas as pd

from tagging.selection import (
    add_ids,
    fingerprint,
    id_strings,
    merge_grid_selection,
    remove_ids,
    selected_positions,
    selected_rows,
)


def test_grid_ticks_add_ids_and_keep_ids_outside_the_view() -> None:
    before = frozenset({"x"})  # selected under an earlier filter, not shown now
    after = merge_grid_selection(before, ["a", "b", "c"], [0, 2])
    assert after == {"x", "a", "c"}


def test_grid_unticks_remove_only_shown_ids() -> None:
    before = frozenset({"x", "a", "b"})
    assert merge_grid_selection(before, ["a", "b", "c"], [1]) == {"x", "b"}


def test_positions_outside_the_shown_rows_are_ignored() -> None:
    assert merge_grid_selection(frozenset(), ["a"], [0, 5, -1]) == {"a"}


def test_selected_positions_are_the_grid_default() -> None:
    assert selected_positions(frozenset({"c", "a", "zz"}), ["a", "b", "c"]) == [0, 2]
    assert selected_positions(frozenset(), ["a"]) == []


def test_select_all_and_unselect_work_on_a_whole_column() -> None:
    ids = pd.Series(["1", None, "3"], dtype="object")
    assert add_ids(frozenset({"9"}), ids) == {"1", "3", "9"}
    assert remove_ids(frozenset({"1", "9"}), ids) == {"9"}


def test_selected_rows_one_per_id_in_dataset_order() -> None:
    frame = pd.DataFrame({"id": [3, 1, 3, 2], "v": ["a", "b", "c", "d"]})
    rows = selected_rows(frame, "id", frozenset({"3", "2"}))
    assert rows["v"].tolist() == ["a", "d"]
    assert selected_rows(frame, "id", frozenset()).empty


def test_id_strings_keep_missing_ids_missing() -> None:
    out = id_strings(pd.DataFrame({"id": [1, None]}), "id")
    assert out.iloc[0] == "1"
    assert pd.isna(out.iloc[1])


def test_fingerprint_is_stable_and_order_free_for_sets() -> None:
    assert fingerprint(1, frozenset({"a", "b"})) == fingerprint(1, frozenset({"b", "a"}))
    assert fingerprint(1, "a") != fingerprint(1, "b")
    assert len(fingerprint("x")) == 12
