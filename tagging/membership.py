"""Membership tests of text values (ids, tags) against a lookup of text values.

`Series.isin` on pandas 3's arrow-backed strings is slow at scale (seconds for a million
ids against a million), while `pyarrow.compute.is_in` takes a fraction of a second. Every
"is this id in that set" of the library goes through `isin` here, so the policy is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagging.id_list import is_pandas, numbers

if TYPE_CHECKING:
    import pandas as pd


def isin(values: Iterable[Any], lookup: Iterable[Any]) -> np.ndarray:
    """Boolean array, one per value: the value is in `lookup` (as `Series.isin`, so a
    missing value matches only a missing value in `lookup`).

    values: a Series, Index, array or list of text; lookup: any collection of text.
    Values that are not text fall back to pandas, with the same answer.
    """
    values, lookup = _sequence(values), _sequence(lookup)
    text, wanted = _as_text(values), _as_text(lookup)
    if text is None or wanted is None:
        import pandas as pd

        return np.asarray(pd.Series(values).isin(lookup).to_numpy(), dtype=bool)
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    hits = pc.is_in(text, value_set=wanted.cast(text.type), skip_nulls=False)
    return numbers(hits, fill=False)  # a new, writable array


def positions(values: Iterable[Any], lookup: Iterable[Any]) -> np.ndarray:
    """int64 array, one per value: where the value first occurs in `lookup`, or -1 when it
    does not (a missing value is never found). Equal values get equal positions, so the
    positions work as integer codes of text shared by both sides of a join."""
    values, lookup = _sequence(values), _sequence(lookup)
    text, wanted = _as_text(values), _as_text(lookup)
    if text is None or wanted is None:
        import pandas as pd

        first: dict[Any, int] = {}
        for i, v in enumerate(pd.Series(lookup).tolist()):
            if not pd.isna(v):
                first.setdefault(v, i)
        return np.fromiter((first.get(v, -1) for v in pd.Series(values).tolist()), np.int64)
    if len(text) == 0:
        return np.zeros(0, dtype=np.int64)
    found = pc.index_in(text, value_set=wanted.cast(text.type), skip_nulls=True)
    return numbers(found, fill=-1).astype(np.int64, copy=False)


def release_memory() -> None:
    """Hand arrow's freed memory back to the system: its pool keeps the hash tables of big
    lookups otherwise, hundreds of MB at tens of millions of ids."""
    pa.default_memory_pool().release_unused()


def encode(values: pd.Series | pd.Index | np.ndarray | list[Any]) -> tuple[np.ndarray, pa.Array]:
    """(int32 codes, distinct values): each value's number among the distinct text values
    (first appearance order; -1 for a missing value), in one arrow hash pass."""
    import pandas as pd

    text = _as_text(values)
    if text is None:
        text = pa.array(pd.Series(values).astype("str").tolist(), pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    encoded = pc.dictionary_encode(text)  # nulls stay null: they are no value
    codes = numbers(encoded.indices, fill=-1)
    return np.asarray(codes, dtype=np.int32), encoded.dictionary


def codes_in(values: Iterable[Any], lookup: pa.Array | Iterable[Any]) -> np.ndarray:
    """int32 array, one per value: its position in `lookup` (distinct text), -1 when absent
    or missing. `positions` for big data: half the memory, and no int64 copy of it."""
    wanted = lookup if isinstance(lookup, pa.Array) else _as_text(_sequence(lookup))
    text = _as_text(_sequence(values))
    if text is None or wanted is None:
        plain = lookup.to_pylist() if isinstance(lookup, pa.Array) else lookup
        return positions(values, plain).astype(np.int32)
    if len(text) == 0:
        return np.zeros(0, dtype=np.int32)
    found = pc.index_in(text, value_set=wanted.cast(text.type), skip_nulls=True)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return numbers(found, fill=-1).astype(np.int32, copy=False)


PARTITION_SIZE = 500_000  # lookup values per hash table in `join_codes`


def join_codes(
    lookup: Iterable[Any], values: Iterable[Any], *, partition_size: int = PARTITION_SIZE
) -> tuple[np.ndarray, np.ndarray, int]:
    """(lookup codes, value codes, distinct count): every lookup value numbered among the
    distinct lookup values, and each of `values` by the same numbers (-1: not in `lookup`,
    or missing). The same answer as `encode(lookup)` then `codes_in(values, ...)`, in bounded
    memory: both sides split by a hash of their last bytes, one small hash table per part
    instead of one for tens of millions of ids (arrow's memo tables take ~70 bytes a value).
    """
    wanted, text = _as_text(_sequence(lookup)), _as_text(_sequence(values))
    parts = 1 if wanted is None else -(-len(wanted) // partition_size)
    if parts <= 1 or text is None or wanted is None:
        lookup_codes, uniques = encode(_sequence(lookup))
        return lookup_codes, codes_in(values, uniques), len(uniques)
    wanted, text = _one_chunk(wanted), _one_chunk(text)
    text = text.cast(wanted.type)
    lookup_codes = np.full(len(wanted), -1, dtype=np.int32)
    value_codes = np.full(len(text), -1, dtype=np.int32)
    lookup_part, value_part = _partition(wanted, parts), _partition(text, parts)
    found = 0
    for part in range(parts):
        mine = np.flatnonzero(lookup_part == part).astype(np.int32)
        codes, uniques = encode(wanted.take(pa.array(mine)))
        lookup_codes[mine] = np.where(codes >= 0, codes + found, -1)
        rows = np.flatnonzero(value_part == part).astype(np.int32)
        if len(rows):
            hits = codes_in(text.take(pa.array(rows)), uniques)
            value_codes[rows] = np.where(hits >= 0, hits + found, -1)
        found += len(uniques)
        del mine, codes, uniques, rows
        release_memory()
    return lookup_codes, value_codes, found


def _one_chunk(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(text, pa.ChunkedArray):
        return text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    return text


def _partition(text: pa.Array, parts: int, step: int = 1_000_000) -> np.ndarray:
    """A part number per value from a multiplicative hash of its length and last four
    bytes, read straight from the arrow buffers (no string per value), a million at a
    time; equal text always lands in the same part."""
    wide = pa.types.is_large_string(text.type)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(1, np.uint8)
    out = np.empty(len(text), dtype=np.int16)
    for start in range(0, len(text), step):
        edges = offsets[start : start + step + 1].astype(np.int64)
        length, end = np.diff(edges), edges[1:]
        key = length.astype(np.uint64) << np.uint64(32)
        for back in range(1, 5):  # the last bytes differ most between ids (counters, uuids)
            byte = np.where(length >= back, raw[np.maximum(end - back, 0)], 0)
            key |= byte.astype(np.uint64) << np.uint64(8 * (back - 1))
        key *= np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the high bits mix well
        out[start : start + len(length)] = (key >> np.uint64(40)) % np.uint64(parts)
    return out


def _sequence(
    values: Iterable[Any],
) -> pd.Series | pd.Index | np.ndarray | pa.Array | pa.ChunkedArray | list[Any]:
    """Array-likes as they are; any other iterable (a set, a generator) read once into a list."""
    if isinstance(values, np.ndarray | pa.Array | pa.ChunkedArray) or is_pandas(values):
        return values
    return list(values)


def first_occurrences(values: pd.Series | pd.Index | np.ndarray | list[Any]) -> np.ndarray:
    """Boolean array: True at the first occurrence of each distinct value (as
    `~Series.duplicated(keep="first")`, missing values alike)."""
    text = _as_text(values)
    mixed_missing = text is not None and text.null_count > 0 and not _is_text_dtype(values)
    if text is None or mixed_missing:  # pandas tells None from NaN in object data
        import pandas as pd

        return ~pd.Series(values).duplicated(keep="first").to_numpy()
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    if len(text) > _HASHED_ABOVE and text.null_count == 0:
        return _first_by_hash(text)  # chunk by chunk: no joined copy of 30M ids
    if isinstance(text, pa.ChunkedArray):  # one dictionary for all chunks
        text = text.chunk(0) if text.num_chunks == 1 else text.combine_chunks()
    # Arrow numbers distinct values in order of appearance: a value is new where its code
    # exceeds every code before it. Cheaper than pandas' duplicated on arrow strings.
    codes = numbers(pc.dictionary_encode(text, null_encoding="encode").indices)
    seen = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > seen[:-1]
    return new


# Above this many values, repeats are found by sorting 64-bit hashes: a hash table of strings
# (what `dictionary_encode` and `pc.unique` build) takes GBs at 30M, and at 1M ids read from
# a file it is 2 to 4 times slower than hashing (0.5 s against 0.2 s in a fresh process);
# below about 200,000 the table is the faster.
_HASHED_ABOVE = 200_000
# Text bytes hashed at a time: `_hash64` makes a few uint64 temporaries per byte; kept to
# about half a MB (likely reused by the allocator, not fresh pages each time), repeats of
# 1M 7-byte ids took 0.09 s in a fresh process instead of 0.14-0.20 s, and of 1M uuids
# 0.19 s instead of 0.57 s (262,144 values at a time; 128 KB of text: 0.17 s and 0.85 s).
_HASH_BYTES = 1 << 16
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _first_by_hash(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`first_occurrences` through hashes: sort one uint64 per value, and only the values
    whose hash repeats (true repeats, and the rare collision) are compared as text. Memory is
    two uint64 arrays, not a hash table of strings."""
    hashes = np.empty(len(text), dtype=np.uint64)
    at = 0
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        step = max(256, _HASH_BYTES * len(chunk) // max(1, _text_bytes(chunk)))
        for i in range(0, len(chunk), step):
            part = chunk.slice(i, step)
            hashes[at : at + len(part)] = _hash64(part)
            at += len(part)
    ordered = np.sort(hashes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    new = np.ones(len(text), dtype=bool)
    if len(repeated) == 0:
        return new
    hit = pc.is_in(pa.array(hashes), value_set=pa.array(repeated))
    candidates = np.flatnonzero(numbers(hit, fill=False))
    # Each candidate against the first candidate with its hash: equal text is a repeat.
    _, first, inverse = np.unique(hashes[candidates], return_index=True, return_inverse=True)
    del hashes
    later = first[inverse] != np.arange(len(candidates))
    rows, leaders = candidates[later], candidates[first[inverse][later]]
    same = pc.equal(text.take(pa.array(rows)), text.take(pa.array(leaders)))
    if pc.all(same).as_py():
        new[rows] = False
        return new
    # A collision (different text, one hash): exact among the candidates, in row order.
    codes = numbers(pc.dictionary_encode(text.take(pa.array(candidates))).indices)
    seen = np.maximum.accumulate(codes)
    keep = np.empty(len(codes), dtype=bool)
    keep[0] = True
    keep[1:] = codes[1:] > seen[:-1]
    new[candidates[~keep]] = False
    return new


def _text_bytes(text: pa.Array) -> int:
    """Bytes of text the array's values span (read off its offsets)."""
    if len(text) == 0:
        return 0
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=width)
    return int(offsets[text.offset + len(text)]) - int(offsets[text.offset])


def _hash64(text: pa.Array) -> np.ndarray:
    """A 64-bit hash per string, vectorised over the array's bytes: a polynomial over the
    bytes (wrapping uint64 arithmetic), mixed with the length, then splitmix64's finaliser."""
    offsets_buffer, data_buffer = text.buffers()[1], text.buffers()[2]
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[text.offset : text.offset + len(text) + 1]
    offsets = offsets.astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    if last > first and data_buffer is not None:
        data = np.frombuffer(data_buffer, dtype=np.uint8)[first:last].astype(np.uint64)
        at = np.arange(last - first, dtype=np.int64) - np.repeat(offsets[:-1] - first, lengths)
        powers = np.cumprod(np.full(int(lengths.max()), _MULTIPLIER, dtype=np.uint64))
        sums = np.concatenate([np.zeros(1, np.uint64), np.cumsum(data * powers[at])])
        h = sums[offsets[1:] - first] - sums[offsets[:-1] - first]
    else:
        h = np.zeros(len(text), dtype=np.uint64)
    h ^= lengths.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _is_text_dtype(values: object) -> bool:
    if not is_pandas(values):
        return False
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    return (
        dtype is not None
        and not pd.api.types.is_object_dtype(dtype)
        and pd.api.types.is_string_dtype(dtype)
    )


def _as_text(
    values: pd.Series | pd.Index | np.ndarray | pa.Array | pa.ChunkedArray | list[Any],
) -> pa.Array | pa.ChunkedArray | None:
    """The values as an arrow string array (zero-copy for arrow-backed Series), or None when
    they are not all text (or missing)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        is_text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        return values if is_text else None
    if is_pandas(values):
        import pandas as pd

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
