"""What the columns of a loaded table are for: which could hold ids (and whether one is fit
to), ids as text, and a column of existing tags as known state.

    col = suggest_id_columns(df)[0]                 # unique, non-null columns first
    report = id_column_report(df, col)              # IdReport(nulls=0, duplicates=0, ...)
    known = parse_tag_column(df["tags"], ids=df["id"])   # long frame ["id", "tag"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tagging.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

# Column names that look like ids: read as text, offered first as the id column.
ID_NAME = re.compile(r"^(id|uuid|guid|key)$|[_\s.-](id|uuid|guid|key)$|[a-z0-9]Id$", re.I)


def to_id_strings(series: pd.Series) -> pd.Series:
    """Ids as strings (``str`` dtype), nulls kept as NA; integral floats lose their ``.0``
    (each value on its own, so a part of a column reads as the whole column does)."""
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("str")
    if pd.api.types.is_float_dtype(series.dtype):
        # Per value, so a subset of a column reads the same: integral floats as integers.
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        integral = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2**63)
        text = series.astype("str").where(series.notna())
        if integral.any():
            whole = pd.Series(values[integral].astype("int64"), copy=False).astype("str")
            text = text.astype(object)
            text[integral] = whole.to_numpy()
            text = text.astype("str").where(series.notna())
        return text
    if pd.api.types.is_object_dtype(series.dtype):
        # Mixed Python objects (JSON ids): integral floats read back as ints first.
        floats = series.map(lambda v: isinstance(v, float) and v.is_integer())
        if floats.any():
            series = series.where(~floats, series[floats].map(lambda v: int(v)))
        return series.astype("str").where(series.notna())
    return series.astype("str")


def suggest_id_columns(df: pd.DataFrame) -> list[str]:
    """Columns that could hold ids, best first: unique and non-null first, id-like names
    before others, then file order. Only text and integer columns are candidates.

    Cheap on a million rows: a 10,000-row sample rules out columns with duplicates before the
    full uniqueness check runs.
    """
    return [col for col, _ in rank_id_columns(df)]


def rank_id_columns(df: pd.DataFrame) -> list[tuple[str, bool]]:
    """`suggest_id_columns` with, for each column, whether its values are unique and
    non-null (so their id strings are too, for text and integer columns)."""
    import pandas as pd

    scored: list[tuple[int, int, int, str]] = []
    for pos, col in enumerate(df.columns):
        s = df[col]
        if not (
            pd.api.types.is_integer_dtype(s.dtype)
            or pd.api.types.is_string_dtype(s.dtype)
            or pd.api.types.is_object_dtype(s.dtype)
        ) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        sample = s.iloc[:10_000]
        unique = bool(
            not sample.isna().any()
            and sample.is_unique
            and not s.isna().any()
            and _safe_is_unique(s)
        )
        scored.append((0 if unique else 1, 0 if ID_NAME.search(str(col)) else 1, pos, col))
    return [(col, rank == 0) for rank, _, _, col in sorted(scored)]


def _safe_is_unique(s: pd.Series) -> bool:
    try:
        return bool(s.is_unique)
    except TypeError:  # unhashable cells (lists from JSON)
        return False


@dataclass(frozen=True)
class IdReport:
    """How usable a column is as the id column."""

    column: str
    rows: int
    nulls: int  # missing or blank ids
    duplicates: int  # rows repeating an id seen earlier
    duplicate_ids: int  # distinct ids that appear more than once
    sample_duplicates: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.nulls == 0 and self.duplicates == 0

    @property
    def message(self) -> str:
        """One line for the page: empty when the column is fine."""
        if self.ok:
            return ""
        parts = []
        if self.nulls:
            parts.append(f"{self.nulls:,} rows have no id")
        if self.duplicates:
            sample = ", ".join(self.sample_duplicates)
            parts.append(
                f"{self.duplicate_ids:,} ids repeat ({self.duplicates:,} extra rows; e.g. {sample})"
            )
        return (
            f"id column '{self.column}': "
            + "; ".join(parts)
            + (": rows without an id are skipped and repeated ids are tagged once")
        )


def id_column_report(df: pd.DataFrame, col: str, sample: int = 5) -> IdReport:
    """Nulls (missing or blank) and duplicates in ``df[col]``, with a few duplicate ids."""
    import pandas as pd

    if col not in df.columns:
        raise DatasetError(f"id column '{col}' is not in the dataset: choose one of its columns")
    ids = to_id_strings(df[col])
    blank = ids.isna() | ids.str.strip().eq("").fillna(True)
    present = ids[~blank]
    # One hash pass: distinct ids and how often each occurs (duplicated() and nunique() were
    # two, half a second at a million rows).
    codes, uniques = pd.factorize(present)
    repeats = np.bincount(codes, minlength=len(uniques)) > 1
    shown: tuple[str, ...] = ()
    if repeats.any():  # the first ids to repeat, in the order they repeat
        dup_values = present[present.duplicated(keep="first").to_numpy()]
        shown = tuple(str(v) for v in dup_values.drop_duplicates().iloc[:sample])
    return IdReport(
        column=col,
        rows=len(df),
        nulls=int(blank.sum()),
        duplicates=len(present) - len(uniques),
        duplicate_ids=int(repeats.sum()),
        sample_duplicates=shown,
    )


# --- existing tags ---------------------------------------------------------------------------


def parse_tag_column(
    series: pd.Series, sep: str | None = None, *, ids: pd.Series | None = None
) -> pd.DataFrame:
    """A column of existing tags -> long frame ["id", "tag"] (the known-state shape).

    Cells may be lists (Parquet/JSON), JSON-style lists as text (``'["a", "b"]'``) or
    delimited text (``"a;b"``, ``"a, b"``, ``"a|b"``). ``sep=None`` picks the first of
    ``;``, ``|``, ``,`` that occurs in the text cells. Ids come from ``ids`` (aligned by
    position) or else from the series index. Blank tags are dropped, pairs de-duplicated.
    Vectorised: split + explode; list-like text assumes tag names contain no separator.
    """
    import pandas as pd

    id_values = (
        to_id_strings(pd.Series(ids).reset_index(drop=True))
        if ids is not None
        else to_id_strings(pd.Series(series.index.astype(str)))
    )
    if len(id_values) != len(series):
        raise DatasetError("the tag column and the id column have different lengths")
    values = series.reset_index(drop=True)
    frame = pd.DataFrame({"id": id_values, "tag": values})
    if pd.api.types.is_object_dtype(values.dtype):
        is_list = values.map(lambda v: isinstance(v, list | tuple | np.ndarray | set))
    else:
        is_list = pd.Series(False, index=values.index)
    listed = frame[is_list].explode("tag")
    text = frame[~is_list].dropna(subset=["tag"])
    text_tags = text["tag"].astype("str").str.strip()
    bracketed = text_tags.str.startswith("[") & text_tags.str.endswith("]")
    text_tags = text_tags.where(~bracketed, text_tags.str.slice(1, -1))
    if sep is None:
        sep = _guess_separator(text_tags, bracketed)
    text = text.assign(tag=text_tags.str.split(sep, regex=False)).explode("tag")
    out = pd.concat([listed, text], ignore_index=True)
    out = out.dropna(subset=["tag", "id"])
    tags = out["tag"].astype("str").str.strip().str.strip("\"'").str.strip()
    out = pd.DataFrame({"id": out["id"].astype("str"), "tag": tags})
    out = out[out["tag"] != ""].drop_duplicates(ignore_index=True)
    return out.astype({"id": "str", "tag": "str"})


def _guess_separator(text: pd.Series, bracketed: pd.Series) -> str:
    if bracketed.any():
        return ","
    for candidate in (";", "|", ","):
        if text.str.contains(candidate, regex=False).any():
            return candidate
    return ";"
