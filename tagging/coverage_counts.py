"""Coverage counted on integer codes, a few million values at a time: the known state joined
to the dataset's rows, then rows per tag, per (facet value, tag) and per dotted path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tagging.membership import codes_in, join_codes


@dataclass(frozen=True, eq=False)
class CodeIndex:
    """The state as integer codes, and the dataset's rows that carry any of it.

    Known ids are numbered 0..U-1; each distinct (id, tag) pair is a key, grouped by id
    (`first_key[u]`, `tags_per_id[u]`); `hit_rows` are the positions of rows whose id is
    known and `hit_codes` that id's number. Everything is counted per id code and weighted by
    the rows holding it, so no array has one entry per (row, tag): a 30M-row dataset costs
    a few int32 arrays, not copies of its ids.
    """

    key_ids: np.ndarray
    key_tags: np.ndarray
    tags_per_id: np.ndarray
    first_key: np.ndarray
    hit_rows: np.ndarray
    hit_codes: np.ndarray
    rows_per_id: np.ndarray  # dataset rows holding each known id (0 for ids it lacks)

    def rows_per_tag(self, width: int) -> np.ndarray:
        return count(self.key_tags, width, weights=(self.rows_per_id, self.key_ids))


def build_index(
    ids: pd.Series, known_ids: pd.Series, known_tags: pd.Series, names: list[str]
) -> CodeIndex:
    """Rows joined to their tags on integer codes (arrow hash lookups), not by merging text."""
    empty = np.zeros(0, dtype="int64")
    if not names or known_ids.empty:
        return CodeIndex(empty, empty, empty, empty, empty, empty, empty)
    tag_codes = codes_in(known_tags, names)
    id_codes, row_codes, n_ids = join_codes(known_ids, ids)
    # The rows first: their int32 codes (one per row) go before the keys are built.
    hit_rows = np.flatnonzero(row_codes >= 0).astype(small_int(len(ids)))
    hit_codes = row_codes[hit_rows]
    del row_codes
    rows_per_id = count(hit_codes, n_ids).astype(small_int(len(ids)))
    width = len(names)
    keys = id_codes.astype("int64")
    del id_codes
    keys *= width
    keys += tag_codes
    del tag_codes
    keys = sorted_unique(keys)  # each (id, tag) once, grouped by id
    small = small_int(n_ids, width)
    key_tags = (keys % width).astype(np.int16 if width < 2**15 else small)
    keys //= width  # in place: no second int64 array
    key_ids = keys.astype(small)
    del keys
    tags_per_id = count(key_ids, n_ids).astype(small)
    first_key = (np.cumsum(tags_per_id, dtype="int64") - tags_per_id).astype(
        small_int(len(key_ids))
    )
    return CodeIndex(key_ids, key_tags, tags_per_id, first_key, hit_rows, hit_codes, rows_per_id)


def small_int(*sizes: int) -> type[np.signedinteger[Any]]:
    """int32 when every value fits (half of int64's memory at 30M rows), else int64."""
    return np.int32 if max(sizes, default=0) < 2**31 - 1 else np.int64


COUNT_STEP = 4_000_000  # values counted at a time: np.bincount copies its input to int64


def count(
    values: np.ndarray,
    minlength: int,
    *,
    at: np.ndarray | None = None,
    weights: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """np.bincount(values[at], weights=w[i]) as int64, a few million values at a time, so
    a 30M-row count costs no 240 MB int64 copy. weights: (w, i), the weight of value j is
    w[i[j]] (rows per id, looked up by the id of each key)."""
    total = len(values) if at is None else len(at)
    out = np.zeros(minlength, dtype="int64")
    for start in range(0, total, COUNT_STEP):
        part = slice(start, start + COUNT_STEP)
        chunk = values[part] if at is None else values[at[part]]
        w = None if weights is None else weights[0][weights[1][part]]
        out += np.bincount(chunk, weights=w, minlength=minlength).astype("int64")
    return out


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (np.unique's hashing is several times slower on millions);
    sorts `values` in place."""
    values.sort()
    ordered = values
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _fan_out(
    groups: np.ndarray, sizes: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each element of `groups` (group numbers), one entry per member of its group:
    (the element's position, the member's position), members at starts[g]..+sizes[g]."""
    counts = sizes[groups]
    which = np.repeat(np.arange(len(groups)), counts)
    offsets = np.cumsum(counts) - counts
    flat = np.repeat(starts[groups] - offsets, counts) + np.arange(int(counts.sum()))
    return which, flat


FAN_OUT_ROWS = 1_000_000  # rows fanned out to their tags at a time (bounds the memory)


def facet_cells(index: CodeIndex, codes: np.ndarray, k: int, width: int) -> np.ndarray:
    """Rows per (facet value, tag), flat (value code * width + tag code), from each row's
    facet code: the tagged rows fanned out to their tags a million at a time."""
    grid = np.zeros(k * width, dtype="int64")
    for start in range(0, len(index.hit_rows), FAN_OUT_ROWS):
        part = slice(start, start + FAN_OUT_ROWS)
        which, flat = _fan_out(index.hit_codes[part], index.tags_per_id, index.first_key)
        cells = codes[index.hit_rows[part]][which].astype("int64") * width + index.key_tags[flat]
        grid += np.bincount(cells, minlength=k * width)
    return grid


def rows_per_path(
    index: CodeIndex, link_tag: np.ndarray, link_path: np.ndarray, width: int, n_paths: int
) -> np.ndarray:
    """Rows carrying any tag under each path, counting an id once per path. Keys are grouped
    by id, so chunks cut at id boundaries keep each id's (id, path) pairs within one chunk."""
    links_per_tag = np.bincount(link_tag, minlength=width)
    starts = np.cumsum(links_per_tag) - links_per_tag
    rows = np.zeros(n_paths, dtype="float64")
    start, total = 0, len(index.key_ids)
    while start < total:
        last_id = index.key_ids[min(start + FAN_OUT_ROWS, total) - 1]
        stop = int(np.searchsorted(index.key_ids, last_id, side="right"))
        part = slice(start, stop)
        which, flat = _fan_out(index.key_tags[part], links_per_tag, starts)
        ids = index.key_ids[part][which].astype("int64")
        keys = sorted_unique(ids * n_paths + link_path[flat])
        weights = index.rows_per_id[keys // n_paths]
        rows += np.bincount(keys % n_paths, weights=weights, minlength=n_paths)
        start = stop
    return rows
