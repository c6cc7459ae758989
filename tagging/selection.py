"""Selection bookkeeping for a table that shows a slice of a filtered dataset.

The selection is a set of row keys, never grid positions: positions change with every filter,
keys do not. A row's key is its id, or its (kind, id) pair as one string when the dataset has
a kind column (Immuta data source 6 and project 6 are different rows to select). A grid shows
`shown_ids` (keys of a prefix of the filtered rows); what the grid reports as selected
positions replaces the selection of exactly those keys, nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from tagging.datasets import to_id_strings
from tagging.membership import isin

# Joins a row's kind and id into one selection key; a control character no kind name holds.
KEY_SEP = "\x1f"


def id_strings(frame: pd.DataFrame, id_column: str) -> pd.Series:
    """A frame's ids as text (missing ids stay missing, 7.0 is "7"), aligned to its index."""
    return to_id_strings(frame[id_column])


def key_of(kind: str, id_: str) -> str:
    """The selection key of one item with a kind, as `row_keys` builds it."""
    return f"{kind}{KEY_SEP}{id_}"


def row_keys(frame: pd.DataFrame, id_column: str, kind_column: str | None = None) -> pd.Series:
    """Selection keys aligned to the frame's index: the id text, or "kind<US>id" when rows
    have a kind column (kinds as text, as the Tag page sends them). Missing ids stay missing.
    One vectorised concatenation, no per-row Python."""
    ids = id_strings(frame, id_column)
    if kind_column is None:
        return ids
    kinds = frame[kind_column].astype("str")
    return (kinds + KEY_SEP + ids.astype("str")).where(ids.notna().to_numpy())


def is_selected(keys: pd.Series, selected: frozenset[str]) -> np.ndarray:
    """Which keys are in the selection, as a boolean array aligned with `keys` (missing keys:
    False). Arrow's hash lookup: Series.isin takes seconds on a million strings."""
    if not selected:
        return np.zeros(len(keys), dtype=bool)
    return isin(keys, selected)


def rekey(
    frame: pd.DataFrame,
    selected: frozenset[str],
    before: tuple[str, str | None],
    after: tuple[str, str | None],
) -> frozenset[str]:
    """The same rows' keys after the id or kind column changed: (id_column, kind_column)."""
    if not selected or before == after:
        return selected
    old = row_keys(frame, *before)
    new = row_keys(frame, *after)[is_selected(old, selected)]
    return frozenset(new.dropna().astype("str").tolist())


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


def selected_rows(
    frame: pd.DataFrame,
    id_column: str,
    selected: frozenset[str],
    kind_column: str | None = None,
    keys: pd.Series | None = None,
) -> pd.DataFrame:
    """The rows whose key is selected, one per key (first occurrence), in dataset order.
    `keys`: the frame's `row_keys`, when the caller has them already."""
    if not selected:
        return frame.iloc[0:0]
    if keys is None:
        keys = row_keys(frame, id_column, kind_column)
    hit = is_selected(keys, selected)
    first = ~keys[hit].duplicated(keep="first").to_numpy()
    return frame[hit][first]


def fingerprint(*parts: object) -> str:
    """A short stable digest of some values, for widget keys and staleness checks."""
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        if isinstance(part, frozenset | set):
            part = sorted(part)
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
