"""Columns read as text, typed only where the type gives the text back exactly.

Any column may turn out to be the id column (a column named `point` holds ids as much as one
named `id`), so a table is read with every cell as its text, and a column becomes numbers
only when `to_id_strings` of those numbers is exactly the text that was read: "7" and "10"
become 7 and 10, but a column holding "007", "15.0", "1e3", "+5" or "nan" stays text. Only an
empty cell is missing; "NA", "null" and "None" are values like any other.
"""

from __future__ import annotations

import pandas as pd

from tagging.columns import to_id_strings

MISSING = [""]  # the only text read as a missing cell (pandas' defaults also take "NA"...)


def type_exactly(frame: pd.DataFrame, keep_text: set[str]) -> pd.DataFrame:
    """Each text column as numbers where that loses nothing; `keep_text` stays text."""
    for column in frame.columns:
        if column in keep_text:
            continue
        typed = exact_numbers(frame[column])
        if typed is not None:
            frame[column] = typed
    return frame


def exact_numbers(text: pd.Series) -> pd.Series | None:
    """The column as numbers when each value's id text is its own text, else None."""
    present = text.dropna()
    if present.empty or not _looks_numeric(present.iloc[:100]):
        return None
    try:
        numbers = pd.to_numeric(present, errors="raise")
    except (ValueError, TypeError, OverflowError):
        return None
    if not (pd.api.types.is_integer_dtype(numbers) or pd.api.types.is_float_dtype(numbers)):
        return None  # beyond 64 bits: Python ints in an object column, no gain over text
    back = to_id_strings(numbers)
    if not back.eq(present.astype("str")).fillna(False).all():
        return None
    if pd.api.types.is_integer_dtype(numbers.dtype) and len(present) < len(text):
        return pd.to_numeric(text, errors="raise").astype("Int64")
    return pd.to_numeric(text, errors="raise")


def _looks_numeric(sample: pd.Series) -> bool:
    """A cheap first look, so text columns skip the full conversion."""
    chars = set("".join(sample.astype("str").tolist()))
    return chars <= set("0123456789.-")
