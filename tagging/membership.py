"""Membership tests of text values (ids, tags) against a lookup of text values.

`Series.isin` on pandas 3's arrow-backed strings is slow at scale (seconds for a million
ids against a million), while `pyarrow.compute.is_in` takes a fraction of a second. Every
"is this id in that set" of the library goes through `isin` here, so the policy is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(values: Iterable[Any], lookup: Iterable[Any]) -> np.ndarray:
    """Boolean array, one per value: the value is in `lookup` (as `Series.isin`, so a
    missing value matches only a missing value in `lookup`).

    values: a Series, Index, array or list of text; lookup: any collection of text.
    Values that are not text fall back to pandas, with the same answer.
    """
    values, lookup = _sequence(values), _sequence(lookup)
    text, wanted = _as_text(values), _as_text(lookup)
    if text is None or wanted is None:
        return np.asarray(pd.Series(values).isin(lookup).to_numpy(), dtype=bool)
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    hits = pc.is_in(text, value_set=wanted.cast(text.type), skip_nulls=False)
    return np.array(hits.to_numpy(zero_copy_only=False), dtype=bool)  # a new, writable array


def positions(values: Iterable[Any], lookup: Iterable[Any]) -> np.ndarray:
    """int64 array, one per value: where the value first occurs in `lookup`, or -1 when it
    does not (a missing value is never found). Equal values get equal positions, so the
    positions work as integer codes of text shared by both sides of a join."""
    values, lookup = _sequence(values), _sequence(lookup)
    text, wanted = _as_text(values), _as_text(lookup)
    if text is None or wanted is None:
        first: dict[Any, int] = {}
        for i, v in enumerate(pd.Series(lookup).tolist()):
            if not pd.isna(v):
                first.setdefault(v, i)
        return np.fromiter((first.get(v, -1) for v in pd.Series(values).tolist()), np.int64)
    if len(text) == 0:
        return np.zeros(0, dtype=np.int64)
    found = pc.index_in(text, value_set=wanted.cast(text.type), skip_nulls=True)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _sequence(values: Iterable[Any]) -> pd.Series | pd.Index | np.ndarray | list[Any]:
    """Array-likes as they are; any other iterable (a set, a generator) read once into a list."""
    if isinstance(values, pd.Series | pd.Index | np.ndarray):
        return values
    return list(values)


def first_occurrences(values: pd.Series | pd.Index | np.ndarray | list[Any]) -> np.ndarray:
    """Boolean array: True at the first occurrence of each distinct value (as
    `~Series.duplicated(keep="first")`, missing values alike)."""
    text = _as_text(values)
    mixed_missing = text is not None and text.null_count > 0 and not _is_text_dtype(values)
    if text is None or mixed_missing:  # pandas tells None from NaN in object data
        return ~pd.Series(values).duplicated(keep="first").to_numpy()
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    if isinstance(text, pa.ChunkedArray):  # one dictionary for all chunks
        text = text.combine_chunks()
    # Arrow numbers distinct values in order of appearance: a value is new where its code
    # exceeds every code before it. Cheaper than pandas' duplicated on arrow strings.
    codes = pc.dictionary_encode(text, null_encoding="encode").indices.to_numpy()
    seen = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > seen[:-1]
    return new


def _is_text_dtype(values: object) -> bool:
    dtype = getattr(values, "dtype", None)
    return (
        dtype is not None
        and not pd.api.types.is_object_dtype(dtype)
        and pd.api.types.is_string_dtype(dtype)
    )


def _as_text(
    values: pd.Series | pd.Index | np.ndarray | list[Any],
) -> pa.Array | pa.ChunkedArray | None:
    """The values as an arrow string array (zero-copy for arrow-backed Series), or None when
    they are not all text (or missing)."""
    if isinstance(values, pd.Series | pd.Index):
        if values.dtype == object:
            values = values.to_numpy()
        elif pd.api.types.is_string_dtype(values.dtype):
            values = values.array
        else:
            return None
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if pa.types.is_null(array.type):  # empty, or nothing but missing values
        return array.cast(pa.large_string())
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    return array
