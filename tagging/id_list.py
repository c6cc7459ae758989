"""Ids held as one Arrow string array: a batch of a plan is a zero-copy slice of the plan's
column, so 30 million ids are one buffer, not 30 million Python strings.

`IdList` is a read-only `Sequence[str]` (what `Batch.ids` promises): indexing, slicing,
iterating and comparing with a tuple work as they do on the tuple it stands for. The Python
strings exist only while a batch's request body is built (`tolist`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc

if TYPE_CHECKING:
    import pandas as pd


class IdList(Sequence[str]):
    """A read-only sequence of ids over an Arrow string array, optionally through a bool
    mask (the ids a plan sends out of a stretch of the column: a byte per id, not a copy)."""

    __slots__ = ("_base", "_mask", "_n")

    def __init__(self, array: Text, mask: np.ndarray | None = None) -> None:
        self._base = array
        self._mask = None if mask is None or mask.all() else mask
        self._n = len(array) if self._mask is None else int(np.count_nonzero(self._mask))

    @property
    def array(self) -> Text:
        """The ids as one Arrow array (filtered through the mask now, when there is one)."""
        if self._mask is None:
            return self._base
        return self._base.filter(pa.array(self._mask))

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> IdList: ...
    def __getitem__(self, index: int | slice) -> str | IdList:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return IdList(self.array.slice(start, max(0, stop - start)))
            return IdList(self.array.take(pa.array(range(start, stop, step), pa.int64())))
        n = len(self)
        if index < -n or index >= n:
            raise IndexError("IdList index out of range")
        return str(self.array[index % n].as_py())

    def pick(self, positions: Sequence[int]) -> tuple[str, ...]:
        """The ids at these positions, in one array operation."""
        if not len(positions):
            return ()
        return tuple(self.array.take(pa.array(positions, pa.int64())).to_pylist())

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def tolist(self) -> list[str]:
        return list(self.array.to_pylist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdList):
            return len(self) == len(other) and self.array.equals(other.array)
        if isinstance(other, tuple | list):
            return len(other) == len(self) and self.tolist() == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.tolist()))

    def __repr__(self) -> str:
        shown = self.tolist() if len(self) <= 6 else [*self[:3], "...", *self[-2:]]
        return f"IdList({shown!r}, n={len(self):,})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.array.to_numpy(zero_copy_only=False), dtype=dtype or object)


def picked(ids: Sequence[str], positions: Sequence[int]) -> tuple[str, ...]:
    """`tuple(ids[p] for p in positions)`, in one step for an IdList."""
    if isinstance(ids, IdList):
        return ids.pick(positions)
    return tuple(ids[p] for p in positions)


# Arrow text; chunks kept (a Parquet file's row groups).
Text: TypeAlias = pa.Array | pa.ChunkedArray


def numbers(values: pa.Array | pa.ChunkedArray, fill: int | bool | None = None) -> np.ndarray:
    """A numeric or boolean Arrow array as numpy (nulls as `fill`), read off its buffers:
    `Array.to_numpy` goes through pyarrow's pandas conversion, which imports pandas (0.3 s
    of the CLI's start-up). Numbers are a view of the buffer; booleans a new array."""
    if values.null_count and fill is not None:
        values = pc.fill_null(values, pa.scalar(fill, values.type))
    if isinstance(values, pa.ChunkedArray):
        parts = [numbers(c) for c in values.chunks]
        return np.concatenate(parts) if len(parts) != 1 else parts[0]
    kind = values.type
    if values.null_count or not (
        pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)
    ):
        return np.asarray(values.to_numpy(zero_copy_only=False))
    data = values.buffers()[1]
    if pa.types.is_boolean(kind):
        if data is None or len(values) == 0:
            return np.zeros(0, dtype=bool)
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        return bits[values.offset : values.offset + len(values)].astype(bool)
    prefix = (
        "float"
        if pa.types.is_floating(kind)
        else "int"
        if pa.types.is_signed_integer(kind)
        else "uint"
    )
    width = np.dtype(f"{prefix}{kind.bit_width}")
    if data is None or len(values) == 0:
        return np.zeros(0, dtype=width)
    return np.frombuffer(data, dtype=width)[values.offset : values.offset + len(values)]


def is_pandas(value: object) -> TypeGuard[pd.Series | pd.Index]:
    """A pandas Series or Index; asked without importing pandas (0.3 s of the CLI's
    start-up), as nothing can be one before pandas is imported."""
    if "pandas" not in sys.modules:
        return False
    import pandas as pd

    return isinstance(value, pd.Series | pd.Index)


def arrow_text(values: Iterable[str]) -> Text:
    """Ids as Arrow text: an IdList's own, an Arrow array as it is (chunks and all: joining
    30M ids' chunks is a copy of them), else built."""
    if isinstance(values, IdList):
        return values.array
    if isinstance(values, pa.Array | pa.ChunkedArray):
        text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        return values if text else values.cast(pa.string())
    listed = values if isinstance(values, Sequence | np.ndarray) else list(values)
    return pa.array(listed, pa.string())


def contiguous(text: Text) -> pa.Array:
    """One Arrow array (a copy only when there are several chunks)."""
    if isinstance(text, pa.Array):
        return text
    if text.num_chunks == 1:
        return text.chunk(0)
    return text.combine_chunks() if text.num_chunks else pa.array([], text.type)


def series_text(values: Any) -> Text:
    """A text pandas Series (or array) as Arrow text, zero-copy when arrow-backed."""
    array = getattr(values, "array", values)
    try:
        found = pa.array(array, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        found = pa.array(np.asarray(array, dtype=object), pa.string(), from_pandas=True)
    return arrow_text(found)


def member(values: Text, lookup: Text) -> np.ndarray:
    """One bool per value: it is in `lookup` (which is hashed: keep it the smaller side)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    lookup = contiguous(lookup).cast(values.type)
    hits = pc.is_in(values, value_set=lookup, skip_nulls=True)
    return numbers(hits, fill=False)


def joined(parts: Iterable[Sequence[str]]) -> Sequence[str]:
    """Several batches' ids as one sequence: one IdList when they all are, else a list."""
    parts = list(parts)
    if parts and all(isinstance(p, IdList) for p in parts):
        chunks = [c for p in parts if isinstance(p, IdList) for c in _chunks(p.array)]
        return IdList(pa.chunked_array(chunks, pa.large_string()))
    return [i for p in parts for i in p]


_TEXT, _IPC = b"\x01", b"\x02"  # the first byte of a packed buffer says its format


def pack(ids: Sequence[str]) -> bytes:
    """Ids as one compressed buffer: newline-joined text under zstd (10,000 seven-digit ids
    in about 6 KB), or, when an id holds a newline, an Arrow IPC stream with zstd buffers.
    Joined and split in C++: no Python string per id either way."""
    array = contiguous(arrow_text(ids))
    if not pc.any(pc.match_substring(array, "\n")).as_py():
        offsets = pa.array([0, len(array)], pa.int32())
        joined = pc.binary_join(
            pa.ListArray.from_arrays(offsets, array), pa.scalar("\n", array.type)
        )
        text = joined[0].as_buffer()
        size = 0 if text is None else text.size
        packed = b"" if text is None else pa.compress(text, "zstd", asbytes=True)
        return _TEXT + size.to_bytes(8, "little") + len(array).to_bytes(8, "little") + packed
    sink = pa.BufferOutputStream()
    table = pa.table({"id": array})
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return _IPC + bytes(sink.getvalue().to_pybytes())


def unpack(blob: bytes) -> IdList:
    if blob[:1] == _IPC:
        table = pa.ipc.open_stream(pa.BufferReader(blob[1:])).read_all()
        return IdList(arrow_text(table.column(0)))
    size, count = int.from_bytes(blob[1:9], "little"), int.from_bytes(blob[9:17], "little")
    if count == 0:
        return IdList(pa.array([], pa.string()))
    text = pa.decompress(blob[17:], size, "zstd", asbytes=True) if size else b""
    parts = pc.split_pattern(pa.array([text], pa.large_string()), "\n")
    return IdList(arrow_text(parts.flatten()))


def _chunks(text: Text) -> list[pa.Array]:
    found = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    return [c.cast(pa.large_string()) for c in found]


def chunks(text: Text) -> list[pa.Array]:
    """The arrays of Arrow text, as large strings (to put several together)."""
    return _chunks(text)


def as_list(ids: Sequence[str]) -> list[str]:
    """A batch's ids as the Python list a JSON body needs (fast for an IdList)."""
    return ids.tolist() if isinstance(ids, IdList) else list(ids)
