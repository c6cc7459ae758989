"""The workbench's steps on one frame, each beside its bare pandas equivalent.

Shared by the timing scenario and the memory probe so both run exactly the same code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tagging.columns import rank_id_columns
from tagging.coverage import Coverage, coverage
from tagging.datasets import load_dataset
from tagging.demo import atlas_frame
from tagging.filters import Condition, apply_filters
from tagging.selection import RowKeys, row_keys

ID = "id"
FIELDS = ["cs.LG", "cs.CL", "stat.ML"]
YEARS = (2018, 2023)
WORD = "graph"
CONDITIONS = (
    Condition("field", "in", FIELDS),
    Condition("year", "between", YEARS),
    Condition("title", "contains", WORD),
)


def write_parquet(path: Path, rows: int) -> None:
    atlas_frame(rows).to_parquet(path, index=False)


def known_state(rows: int) -> pd.DataFrame:
    """A long ["id", "tag"] state: every 3rd id "Needs review", every 5th "Reviewed.Good",
    plus ids the dataset does not have."""
    ids = np.arange(rows + rows // 10)
    a = ids[ids % 3 == 0].astype(str)
    b = ids[ids % 5 == 0].astype(str)
    return pd.DataFrame(
        {
            "id": np.concatenate([a, b]),
            "tag": np.array(["Needs review"] * len(a) + ["Reviewed.Good"] * len(b)),
        }
    )


# --- the library's way ---------------------------------------------------------------------


def load(path: Path) -> pd.DataFrame:
    return load_dataset(path, id_column=ID)


def filter_mask(df: pd.DataFrame) -> pd.Series:
    return apply_filters(df, CONDITIONS)


def filtered_rows(df: pd.DataFrame, mask: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """The filtered frame the Tag page holds for its grid, and the rows' dataset positions
    (what the selection mask is over), as ui/filter_builder.py `filtered_rows` keeps them."""
    hit = mask.to_numpy()
    return df[hit], np.flatnonzero(hit)


def unique_ids(df: pd.DataFrame) -> bool:
    """Whether an upload of `df` is known to have unique ids (ui/datasets.py
    `upload_workset`, on loading): then the selection's RowKeys skip hashing them."""
    ranked = dict(rank_id_columns(df))
    return ranked.get(ID, False) and not pd.api.types.is_object_dtype(df[ID].dtype)


def select_all(df: pd.DataFrame, positions: np.ndarray, unique: bool) -> tuple[np.ndarray, int]:
    """What the Tag page's "Select all filtered rows" button runs on an empty selection
    (app_pages/tag.py `_select`, ui/session.py `change_selection` and `_store`): the
    dataset's RowKeys, a mask of the filtered positions added and closed over equal keys,
    and the count the page shows."""
    keys = RowKeys.of(row_keys(df, ID), unique=unique)
    rows = np.zeros(len(df), dtype=bool)
    rows[positions] = True
    mask = keys.close(keys.add(np.zeros(len(df), dtype=bool), rows))
    return mask, keys.count(mask)


def cover(df: pd.DataFrame, state: pd.DataFrame) -> Coverage:
    return coverage(df, ID, state)


# --- bare pandas -----------------------------------------------------------------------------


def raw_load(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def raw_mask(df: pd.DataFrame) -> pd.Series:
    return (
        df["field"].isin(FIELDS)
        & df["year"].between(*YEARS)
        & df["title"].str.contains(WORD, case=False, regex=False)
    )


def raw_select(df: pd.DataFrame, mask: pd.Series) -> pd.Series:
    return df.loc[mask, ID]


def raw_cover(df: pd.DataFrame, state: pd.DataFrame) -> tuple[int, pd.Series]:
    """Tagged rows and rows per tag. A merge, not `isin`: with pandas 3's arrow strings,
    `isin` against a million values takes seconds."""
    pairs = df[[ID]].merge(state, on=ID)
    return int(pairs[ID].nunique()), pairs.groupby("tag").size()
