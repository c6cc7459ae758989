"""Reading an ids file: a text file (one id a line) streamed into compact arrow text, or a
table whose id column is read as text; every skipped row counted.

Only regular files are read (a FIFO or a device would block or never end), and a file over
the size limit is refused at once: the ids of a push are planned and journaled in memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagging.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

MAX_MB_ENV = "TAGGING_MAX_IDS_FILE_MB"
DEFAULT_MAX_MB = 256
MAX_LINE_BYTES = 4 * 1024 * 1024  # one id a line: a longer line is not an id
_CHUNK_LINES = 100_000  # ids turned into one arrow array at a time (bounded Python objects)


@dataclass(frozen=True)
class IdsRead:
    """Ids as text (and their kinds), with how many rows had no id. Text files give Arrow
    text (the CLI's push never imports pandas); tables a text Series."""

    ids: pa.ChunkedArray | pd.Series
    kinds: pd.Series | None
    rows: int  # rows (lines) read, the header aside
    dropped: int  # rows without an id (empty cells or blank lines)

    def note(self, unique: int | None = None) -> str:
        """One phrase for the job line ("" when every row was sent as read): rows without an
        id, and with `unique` (the plan's distinct ids) the repeats sent once."""
        parts = []
        if self.dropped:
            parts.append(f"{self.dropped:,} of {self.rows:,} rows without an id skipped")
        repeats = len(self.ids) - unique if unique is not None else 0
        if repeats > 0:
            parts.append(f"{repeats:,} repeated id{'s' if repeats != 1 else ''} sent once")
        return "; ".join(parts)


def check_readable(path: Path, flag: str) -> int:
    """The file's size; InputError for a missing or non-regular file or one over the limit."""
    try:
        info = path.stat()
    except OSError:
        raise InputError(f"{flag}: no file {str(path)!r}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{flag}: no file {str(path)!r} (it is a folder)")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"{flag}: {path.name} is not a regular file (a pipe or a device): save the ids "
            "to a file and pass that"
        )
    limit = max_bytes()
    if info.st_size > limit:
        raise InputError(
            f"{flag}: {path.name} is {_size(info.st_size)}, over the {_size(limit)} limit: split "
            f"it into several files (or raise {MAX_MB_ENV})"
        )
    return info.st_size


def max_bytes() -> int:
    try:
        mb = float(os.environ.get(MAX_MB_ENV, "") or DEFAULT_MAX_MB)
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(mb * 1024 * 1024)


def read_lines(path: Path, flag: str = "--ids-file") -> IdsRead:
    """One id a line, stripped; blank lines counted as rows without an id. UTF-8 only.

    pyarrow's CSV reader does it in C++ (several times faster than a Python loop at a
    million lines); anything it refuses (bad UTF-8, an over-long line, an empty file) is read
    again line by line, which says what is wrong."""
    fast = _arrow_lines(path)
    if fast is not None:
        return fast
    return _python_lines(path, flag)


def _arrow_lines(path: Path) -> IdsRead | None:
    from pyarrow import csv

    read = csv.ReadOptions(column_names=["id"], block_size=MAX_LINE_BYTES // 4)
    # A delimiter no id line holds (a line with one has two columns: read line by line).
    parse = csv.ParseOptions(
        delimiter="\x1f", quote_char=False, escape_char=False, ignore_empty_lines=False
    )
    convert = csv.ConvertOptions(column_types={"id": pa.string()}, strings_can_be_null=False)
    try:
        table = csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, OSError):
        return None
    column = table.column("id")
    del table
    if len(column) and str(column[0].as_py()).startswith("\ufeff"):
        return None  # a BOM the reader kept: the line reader strips it
    return _kept(column)


def _python_lines(path: Path, flag: str) -> IdsRead:
    chunks: list[pa.Array] = []
    pending: list[str] = []
    rows = dropped = 0
    with path.open("rb") as fh:
        while line := fh.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES:
                raise InputError(
                    f"{flag}: line {rows + 1:,} of {path.name} is over "
                    f"{_size(MAX_LINE_BYTES)}: give one id a line"
                )
            if rows == 0:
                line = line.removeprefix(b"\xef\xbb\xbf")
            rows += 1
            try:
                text = line.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise InputError(
                    f"{flag}: {path.name} is not UTF-8 text: save it as UTF-8, one id a line"
                ) from None
            if not text:
                dropped += 1
                continue
            pending.append(text)
            if len(pending) >= _CHUNK_LINES:
                chunks.append(pa.array(pending, type=pa.large_string()))
                pending = []
    chunks.append(pa.array(pending, type=pa.large_string()))
    return IdsRead(pa.chunked_array(chunks), None, rows, dropped)


def read_table(path: Path, id_column: str | None, type_column: str | None) -> IdsRead:
    """The id (and kind) column of a table file, as text; rows with an empty id counted."""
    if type_column is None and path.suffix.lower() in _PARQUET:
        fast = _parquet_ids(path, id_column)
        if fast is not None:
            return fast
    from tagging.datasets import load_dataset  # the table, its id column read as text

    frame = load_dataset(path, id_column=id_column)
    column = id_column or ("id" if "id" in frame.columns else str(frame.columns[0]))
    for option, col in (("--id-column", column), ("--type-column", type_column)):
        if col is not None and col not in frame.columns:
            raise InputError(f"{option}: no column {col!r} in {path.name}")
    from tagging.columns import to_id_strings

    values = to_id_strings(frame[column]).str.strip()
    present = values.notna() & values.ne("")
    ids = values[present].reset_index(drop=True)
    kinds = None
    if type_column is not None:
        kinds = frame.loc[present.to_numpy(), type_column].astype(str).str.strip()
        kinds = kinds.reset_index(drop=True)
    return IdsRead(ids, kinds, len(frame), int((~present).sum()))


_PARQUET = (".parquet", ".pq")


def _parquet_ids(path: Path, id_column: str | None) -> IdsRead | None:
    """The id column alone, read by pyarrow (text or integers): 30M ids without pandas
    reading the whole table. None for anything else (then the dataset loader reads it)."""
    from pyarrow import parquet

    try:
        names = parquet.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError):
        return None
    column = id_column or ("id" if "id" in names else (names[0] if names else None))
    if column is None:
        return None
    if column not in names:
        raise InputError(f"--id-column: no column {column!r} in {path.name}")
    try:
        values = parquet.read_table(path, columns=[column]).column(column)
    except (pa.ArrowException, OSError):
        return None
    if pa.types.is_integer(values.type):
        values = values.cast(pa.string())
    elif not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None  # floats, dates...: the dataset loader's rules for ids
    return _kept(values)


# Leading or trailing white space (Unicode's, as str.strip and utf8_trim_whitespace see it).
_PADDED = r"^[\s\v\x{85}\p{Z}]|[\s\v\x{85}\p{Z}]$"


# Bytes an id may start or end with only if padded: ASCII white space (as `\s\v` above),
# or any byte of a non-ASCII character (which might be Unicode white space).
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[[9, 10, 11, 12, 13, 32]] = True
_EDGE_BYTES[0x80:] = True


def _maybe_padded(text: pa.ChunkedArray) -> bool:
    """False when no id starts or ends with a byte padding could start or end with: each
    id's first and last byte read off the Arrow buffers, a few ms for a million ids where
    the regex takes a fifth of a second. True sends the ids to the exact regex."""
    for chunk in text.chunks:
        if chunk.null_count or not (
            pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)
        ):
            return True
        _, offsets_buffer, data_buffer = chunk.buffers()
        if data_buffer is None or len(chunk) == 0:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        raw = np.frombuffer(offsets_buffer, dtype=width)
        offsets = raw[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64, copy=False)
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        if _EDGE_BYTES[data[starts[filled]]].any() or _EDGE_BYTES[data[ends[filled] - 1]].any():
            return True
    return False


def _kept(values: pa.ChunkedArray) -> IdsRead:
    """Ids stripped, empty and missing ones counted and dropped, as Arrow text (which pandas
    wraps without a copy). Each step copies only when it must: a file's
    30M ids are a few hundred MB, and every copy of them counts in the peak."""
    text = values  # chunks kept: joining them would copy every id once more
    del values
    if _maybe_padded(text) and pc.any(pc.match_substring_regex(text, _PADDED)).as_py():
        text = pc.utf8_trim_whitespace(text)
    text = text.cast(pa.large_string())  # pandas' text: new offsets, the same bytes
    rows = len(text)
    blank = pa.scalar("", text.type)
    present = pc.fill_null(pc.not_equal(text, blank), pa.scalar(False, pa.bool_()))  # a bitmap
    if not pc.all(present).as_py():
        text = text.filter(present)
    del present
    pa.default_memory_pool().release_unused()  # the copies above: back to the OS, off the peak
    return IdsRead(text, None, rows, rows - len(text))


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
