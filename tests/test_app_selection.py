"""Selection bookkeeping behind the Tag page's grid (tagging.selection): keys, not positions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tagging.selection import (
    RowKeys,
    add_ids,
    fingerprint,
    id_strings,
    is_selected,
    key_of,
    merge_grid_selection,
    rekey,
    remove_ids,
    row_keys,
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


# --- (kind, id) keys: Immuta data source 6 and project 6 are different rows ------------------


def immuta_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_id": ["6", "6_countrycode", "6", "22", "6"],
            "model_type": ["datasource", "column", "project", "datasource", "datasource"],
        }
    )


def test_keys_with_a_kind_column_are_kind_and_id_pairs() -> None:
    frame = immuta_rows()
    keys = row_keys(frame, "model_id", "model_type")
    assert keys.tolist()[:3] == [
        key_of("datasource", "6"),
        key_of("column", "6_countrycode"),
        key_of("project", "6"),
    ]
    assert row_keys(frame, "model_id").tolist() == frame["model_id"].tolist()  # no kinds
    missing = row_keys(pd.DataFrame({"id": [1, None], "k": ["a", "b"]}), "id", "k")
    assert missing.iloc[0] == key_of("a", "1") and pd.isna(missing.iloc[1])


def test_selecting_data_source_6_does_not_select_project_6() -> None:
    frame = immuta_rows()
    keys = row_keys(frame, "model_id", "model_type").tolist()
    picked = merge_grid_selection(frozenset(), keys, [0])
    assert picked == {key_of("datasource", "6")}
    rows = selected_rows(frame, "model_id", picked, "model_type")
    assert rows.index.tolist() == [0]  # one row: the repeat at 4 is the same item
    assert selected_positions(picked, keys) == [0, 4]
    both = merge_grid_selection(picked, keys, [0, 2])
    rows = selected_rows(frame, "model_id", both, "model_type")
    assert list(zip(rows["model_type"], rows["model_id"], strict=True)) == [
        ("datasource", "6"),
        ("project", "6"),
    ]


def test_select_all_and_membership_on_a_million_keyed_rows() -> None:
    n = 1_000_000
    ids = np.arange(n // 2).astype(str)
    frame = pd.DataFrame(
        {
            "id": np.concatenate([ids, ids]),
            "kind": ["datasource"] * (n // 2) + ["project"] * (n // 2),
        }
    )
    keys = row_keys(frame, "id", "kind")
    selected = add_ids(frozenset(), keys[frame["kind"] == "project"])
    assert len(selected) == n // 2
    hit = is_selected(keys, selected)
    assert hit.sum() == n // 2 and not hit[: n // 2].any()
    assert len(selected_rows(frame, "id", selected, "kind", keys=keys)) == n // 2
    assert remove_ids(selected, keys) == frozenset()


def test_is_selected_handles_empty_missing_and_object_keys() -> None:
    assert is_selected(pd.Series([], dtype=object), frozenset({"a"})).tolist() == []
    keys = pd.Series(["a", None, "b"], dtype=object)
    assert is_selected(keys, frozenset({"a", "zz"})).tolist() == [True, False, False]
    assert is_selected(keys, frozenset()).tolist() == [False, False, False]


def test_rekey_keeps_the_same_rows_when_the_kind_column_changes() -> None:
    frame = immuta_rows()
    by_id = frozenset({"6_countrycode"})
    keyed = rekey(frame, by_id, ("model_id", None), ("model_id", "model_type"))
    assert keyed == {key_of("column", "6_countrycode")}
    assert rekey(frame, keyed, ("model_id", "model_type"), ("model_id", None)) == by_id


# --- the app's selection: a mask over the dataset rows, closed over equal keys ---------------


def mask(*on: bool) -> np.ndarray:
    return np.array(on, dtype=bool)


def test_a_row_mask_over_unique_ids_is_the_selection_itself() -> None:
    rows = RowKeys.of(pd.Series(["a", "b", "c"]))
    assert rows.codes is None
    picked = mask(True, False, True)
    assert rows.close(picked) is picked
    assert rows.count(picked) == 2 and rows.ids(picked) == {"a", "c"}
    assert rows.remove(picked, mask(True, True, False)).tolist() == [False, False, True]


def test_keys_known_unique_are_not_hashed_again() -> None:
    rows = RowKeys.of(pd.Series(["a", "b"]), unique=True)
    assert rows.codes is None and rows.count(mask(True, True)) == 2


def test_rows_with_equal_keys_are_selected_and_unselected_together() -> None:
    rows = RowKeys.of(pd.Series(["7", "8", "7", None]))
    assert rows.close(mask(False, False, True, True)).tolist() == [True, False, True, False]
    both = rows.add(mask(False, False, False, False), mask(True, False, False, False))
    assert both.tolist() == [True, False, True, False] and rows.count(both) == 1
    # unselecting one of them drops the key, as removing it from a set of keys would
    assert not rows.remove(both, mask(False, False, True, False)).any()
    assert rows.one_per_key(both).tolist() == [True, False, False, False]
    assert rows.rows_of({"8", "zz"}).tolist() == [False, True, False, False]


def test_intersect_keeps_keys_in_both() -> None:
    rows = RowKeys.of(pd.Series(["a", "b", "a", "c"]))
    current = rows.close(mask(True, True, False, False))
    assert rows.intersect(current, mask(False, False, True, True)).tolist() == [
        True,
        False,
        True,
        False,
    ]
