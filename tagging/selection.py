"""Selection bookkeeping for a table that shows a slice of a filtered dataset.

The selection is a set of ids, never grid positions: positions change with every filter,
ids do not. A grid shows `shown_ids` (a prefix of the filtered rows); what the grid reports
as selected positions replaces the selection of exactly those ids, nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import pandas as pd

from tagging.datasets import to_id_strings


def id_strings(frame: pd.DataFrame, id_column: str) -> pd.Series:
    """A frame's ids as text (missing ids stay missing, 7.0 is "7"), aligned to its index."""
    return to_id_strings(frame[id_column])


def merge_grid_selection(
    selected: frozenset[str], shown_ids: Sequence[str], rows: Iterable[int]
) -> frozenset[str]:
    """The selection after a grid showing `shown_ids` reports `rows` as selected."""
    picked = {shown_ids[r] for r in rows if 0 <= r < len(shown_ids)}
    shown = set(shown_ids)
    if not (selected & shown) and not picked:
        return selected
    return frozenset((selected - shown) | picked)


def selected_positions(selected: frozenset[str], shown_ids: Sequence[str]) -> list[int]:
    """Grid positions of the shown ids that are selected (for a grid's default selection)."""
    if not selected:
        return []
    return [i for i, v in enumerate(shown_ids) if v in selected]


def add_ids(selected: frozenset[str], ids: pd.Series) -> frozenset[str]:
    """The selection plus every non-missing id of `ids` ("select all filtered rows")."""
    return selected | frozenset(ids.dropna().astype("str").tolist())


def remove_ids(selected: frozenset[str], ids: pd.Series) -> frozenset[str]:
    return selected - frozenset(ids.dropna().astype("str").tolist())


def selected_rows(frame: pd.DataFrame, id_column: str, selected: frozenset[str]) -> pd.DataFrame:
    """The rows whose id is selected, one per id (first occurrence), in dataset order."""
    if not selected:
        return frame.iloc[0:0]
    ids = id_strings(frame, id_column)
    rows = frame[ids.isin(selected).to_numpy()]
    return rows[~id_strings(rows, id_column).duplicated(keep="first").to_numpy()]


def fingerprint(*parts: object) -> str:
    """A short stable digest of some values, for widget keys and staleness checks."""
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        if isinstance(part, frozenset | set):
            part = sorted(part)
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
