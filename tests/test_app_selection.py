"""Selection bookkeeping behind the Tag page's grid (tagging.selection): a mask over the
dataset rows, closed over equal keys (RowKeys), as ui/session.py holds it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tagging.selection import RowKeys, fingerprint, id_strings, is_selected, key_of, row_keys


def positions_mask(n: int, *positions: int) -> np.ndarray:
    """A bool per dataset row, True at `positions` (the Tag page's `_rows_mask`)."""
    out = np.zeros(n, dtype=bool)
    out[list(positions)] = True
    return out


def grid_ticks(
    rows: RowKeys, before: np.ndarray, shown: list[int], ticked: list[int]
) -> np.ndarray:
    """The grid's ticks replace the selection of exactly the shown rows' keys: subtract the
    shown rows, add the ticked ones (app_pages/tag.py `_grid`)."""
    n = len(rows)
    after = rows.remove(before, positions_mask(n, *shown))
    return rows.add(after, positions_mask(n, *[shown[t] for t in ticked]))


def test_grid_ticks_add_keys_and_keep_keys_outside_the_view() -> None:
    rows = RowKeys.of(pd.Series(["x", "a", "b", "c"]))
    before = positions_mask(4, 0)  # "x", selected under an earlier filter, not shown now
    after = grid_ticks(rows, before, [1, 2, 3], [0, 2])
    assert rows.ids(after) == {"x", "a", "c"}


def test_grid_unticks_remove_only_shown_keys() -> None:
    rows = RowKeys.of(pd.Series(["x", "a", "b", "c"]))
    before = positions_mask(4, 0, 1, 2)
    assert rows.ids(grid_ticks(rows, before, [1, 2, 3], [1])) == {"x", "b"}


def test_selected_positions_are_the_grid_default() -> None:
    rows = RowKeys.of(pd.Series(["a", "b", "c", "zz"]))
    selected = rows.rows_of({"c", "a", "qq"})
    shown = np.array([0, 1, 2])  # "zz" is filtered out
    assert np.flatnonzero(selected[shown]).tolist() == [0, 2]
    assert not rows.rows_of(frozenset()).any()


def test_select_all_and_unselect_work_on_a_whole_column() -> None:
    rows = RowKeys.of(pd.Series(["1", None, "3", "9"], dtype="object"))
    everything = np.ones(4, dtype=bool)
    picked = rows.add(positions_mask(4, 3), everything)
    assert rows.ids(picked) == {"1", "3", "9"} and not picked[1]  # no id: never selected
    assert rows.ids(rows.remove(rows.rows_of({"1", "9"}), positions_mask(4, 0, 1, 2))) == {"9"}


def test_selected_rows_one_per_id_in_dataset_order() -> None:
    frame = pd.DataFrame({"id": [3, 1, 3, 2], "v": ["a", "b", "c", "d"]})
    rows = RowKeys.of(row_keys(frame, "id"))
    picked = rows.rows_of({"3", "2"})
    assert picked.tolist() == [True, False, True, True]
    assert frame[rows.one_per_key(picked)]["v"].tolist() == ["a", "d"]
    assert frame[rows.one_per_key(np.zeros(4, dtype=bool))].empty


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
    rows = RowKeys.of(row_keys(frame, "model_id", "model_type"))
    picked = rows.add(np.zeros(5, dtype=bool), positions_mask(5, 0))
    assert rows.ids(picked) == {key_of("datasource", "6")} and rows.count(picked) == 1
    assert np.flatnonzero(picked).tolist() == [0, 4]  # the repeat at 4 is the same item
    assert np.flatnonzero(rows.one_per_key(picked)).tolist() == [0]
    both = rows.add(picked, positions_mask(5, 2))
    one_each = frame[rows.one_per_key(both)]
    assert list(zip(one_each["model_type"], one_each["model_id"], strict=True)) == [
        ("datasource", "6"),
        ("project", "6"),
    ]


def test_select_all_and_unselect_on_a_million_keyed_rows() -> None:
    n = 1_000_000
    ids = np.arange(n // 2).astype(str)
    frame = pd.DataFrame(
        {
            "id": np.concatenate([ids, ids]),
            "kind": ["datasource"] * (n // 2) + ["project"] * (n // 2),
        }
    )
    rows = RowKeys.of(row_keys(frame, "id", "kind"))
    projects = (frame["kind"] == "project").to_numpy()
    selected = rows.add(np.zeros(n, dtype=bool), projects)
    assert rows.count(selected) == n // 2
    assert selected[n // 2 :].all() and not selected[: n // 2].any()
    assert int(rows.one_per_key(selected).sum()) == n // 2
    assert rows.ids(selected) == frozenset(row_keys(frame, "id", "kind")[projects])
    assert not rows.remove(selected, np.ones(n, dtype=bool)).any()


def test_is_selected_handles_empty_missing_and_object_keys() -> None:
    assert is_selected(pd.Series([], dtype=object), frozenset({"a"})).tolist() == []
    keys = pd.Series(["a", None, "b"], dtype=object)
    assert is_selected(keys, frozenset({"a", "zz"})).tolist() == [True, False, False]
    assert is_selected(keys, frozenset()).tolist() == [False, False, False]


def test_a_changed_kind_column_keeps_the_same_rows_under_their_new_keys() -> None:
    """ui/session.py `_selection`: the stored mask, re-closed over the new keys."""
    frame = immuta_rows()
    by_id = RowKeys.of(row_keys(frame, "model_id"))
    by_kind = RowKeys.of(row_keys(frame, "model_id", "model_type"))
    column = by_id.rows_of({"6_countrycode"})
    assert by_kind.ids(by_kind.close(column)) == {key_of("column", "6_countrycode")}
    assert by_id.ids(by_id.close(by_kind.close(column))) == {"6_countrycode"}
    # Data source 6 keyed by id alone is "6", which project 6 has too: it joins.
    source = by_kind.rows_of({key_of("datasource", "6")})
    joined = by_id.close(source)
    assert np.flatnonzero(joined).tolist() == [0, 2, 4] and by_id.ids(joined) == {"6"}
    assert by_kind.ids(by_kind.close(joined)) == {
        key_of("datasource", "6"),
        key_of("project", "6"),
    }


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


def _combine_modes() -> None:
    import numpy as np
    import pandas as pd
    import streamlit as st

    from ui import session

    frame = pd.DataFrame({"id": ["a", "b", "c", "b", None]}, dtype="object")
    session.set_workset(session.Workset("modes", frame, "id"))
    hit = np.array([False, True, True, False, True])  # a lasso over b, c and a row with no id
    out: dict[str, object] = {}
    for mode in ("replace", "add", "subtract", "intersect"):
        session.set_selected_ids(frozenset({"a", "b"}))
        session.change_selection(hit, mode)
        out[mode] = (sorted(session.selected_ids()), session.selected_mask().tolist())
    try:
        session.change_selection(hit, "xor")
    except ValueError as exc:
        out["xor"] = str(exc)
    st.session_state["out"] = out


def test_a_lasso_combines_with_the_selection_by_key_as_atlas_does() -> None:
    at = AppTest.from_function(_combine_modes).run()
    assert not at.exception, at.exception
    out = at.session_state["out"]
    assert out["replace"] == (["b", "c"], [False, True, True, True, False])
    assert out["add"] == (["a", "b", "c"], [True, True, True, True, False])
    assert out["subtract"] == (["a"], [True, False, False, False, False])
    assert out["intersect"] == (["b"], [False, True, False, True, False])
    assert "unknown selection mode 'xor'" in out["xor"]
