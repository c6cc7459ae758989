"""Load a file into pandas: CSV/TSV/Parquet/JSON/JSONL/Excel, ids read as text.

Usage::

    from tagging.datasets import load_dataset

    df = load_dataset("papers.csv")                 # a path: CSV/TSV/Parquet/JSON/JSONL/Excel
    df = load_dataset(uploaded_file)                # Streamlit UploadedFile (.name + .getvalue())
    df = load_dataset(io.BytesIO(raw), name="x.parquet", id_column="id")
    df.attrs["notes"]                               # e.g. ["decoded as Windows-1252 ..."]
    data = open_dataset("events/")                  # a folder, a glob or a Parquet file over
                                                    # TAGGING_DUCKDB_OVER_MB: a LargeDataset
                                                    # read through DuckDB (large_dataset.py)

What the columns are for (id column suggestions and checks, tag columns) is in columns.py;
how a format is told from a file's name and first bytes is in dataset_formats.py, and the
reader of each format in dataset_readers.py.

Every failure is a :class:`tagging.errors.DatasetError` whose message is one line saying what
is wrong and what to do.

Text encodings: UTF-8 (with or without BOM) is tried first; UTF-16 is used when the file starts
with a UTF-16 BOM (Excel's "Unicode text"); otherwise the file is read as Windows-1252, which
accepts any byte, and ``df.attrs["notes"]`` says so, because a wrong guess shows up as odd
accented letters rather than as an error.

Ids are strings: the chosen id column, and any column whose name looks like an id (``id``,
``*_id``, ``*Id``, ``uuid``, ``key``...), is read as text where the format allows it (CSV, TSV,
Excel), so ``007`` stays ``007``; other formats have their id column converted afterwards
without ``.0`` artefacts (``7.0`` -> ``"7"``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from tagging.columns import ID_NAME, to_id_strings
from tagging.dataset_formats import PARQUET_MAGIC, decode_text, detect_format, read_head
from tagging.dataset_readers import read_delimited, read_excel, read_json_text, read_parquet
from tagging.errors import DatasetError

if TYPE_CHECKING:
    from tagging.large_dataset import LargeDataset

Source = str | Path | IO[bytes] | Any  # Any: objects with .name and .getvalue()/.read()
LARGE_MB_ENV = "TAGGING_DUCKDB_OVER_MB"
DEFAULT_LARGE_MB = 512  # a Parquet file over this opens through DuckDB, not into pandas


def load_dataset(
    source: Source, name: str | None = None, *, id_column: str | None = None
) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet, JSON (records or columns), JSONL or Excel file into pandas.

    source: a path, or a file-like object (bytes) such as Streamlit's UploadedFile.
    name:   the file name used to pick the format and in messages; defaults to the path or the
            object's ``.name``. The extension decides the format; unknown or missing
            extensions are sniffed from the first bytes.
    id_column: read this column as strings and check it exists.

    Returns the frame with ``attrs`` {"source": name, "format": fmt, "notes": [str, ...]}.
    Raises DatasetError with a one-line message for every unreadable input.
    """
    label, path, data = _open(source, name)
    head = read_head(path, data)
    fmt = detect_format(label, head)
    notes: list[str] = []
    target: str | Path | io.BytesIO = path if path is not None else io.BytesIO(data or b"")
    if fmt in ("csv", "tsv"):
        df = read_delimited(target, label, fmt, id_column, notes)
    elif fmt == "parquet":
        df = read_parquet(target, label)
    elif fmt == "excel":
        df = read_excel(target, label, id_column, notes)
    else:
        raw = path.read_bytes() if path is not None else (data or b"")
        text = decode_text(raw, label, notes)
        df = read_json_text(text, label, fmt)
    if df.shape[1] == 0:
        raise DatasetError(f"{label} has no columns: choose a file with a header row")
    if len(df) == 0:
        raise DatasetError(
            f"{label} has a header but no rows: add at least one data row or choose another file"
        )
    df.columns = [str(c) for c in df.columns]
    if id_column is not None:
        if id_column not in df.columns:
            cols = ", ".join(df.columns[:12]) + (", ..." if df.shape[1] > 12 else "")
            raise DatasetError(
                f"id column '{id_column}' is not in {label}; its columns are: {cols}"
            )
        df[id_column] = to_id_strings(df[id_column])
    for col in df.columns:
        if col != id_column and ID_NAME.search(col):
            df[col] = to_id_strings(df[col])
    _contiguous(df)
    df.attrs.update({"source": label, "format": fmt, "notes": notes})
    return df


def _contiguous(df: pd.DataFrame) -> None:
    """Arrow-backed columns as one chunk each, in place. A Parquet file reads as one chunk per
    row group, and every filter of the rows (pyarrow's take) is 3x slower over chunks: the
    Tag page's filtered rows of a million took 38 ms, 12 ms once contiguous."""
    for col in df.columns:
        values = df[col].array
        if not isinstance(values, pd.arrays.ArrowExtensionArray):
            continue
        arrow = pa.array(values)
        if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks > 1:
            df[col] = pd.array(arrow.combine_chunks(), dtype=values.dtype)


def open_dataset(
    source: Source, name: str | None = None, *, id_column: str | None = None
) -> pd.DataFrame | LargeDataset:
    """The dataset in pandas (:func:`load_dataset`), or, for a folder of Parquet files, a
    glob, or a Parquet file over ``TAGGING_DUCKDB_OVER_MB`` (default 512), a LargeDataset
    that DuckDB queries from the files without loading them."""
    if isinstance(source, str | Path) and opens_large(source):
        from tagging.large_dataset import open_parquet

        return open_parquet(source, id_column=id_column)
    return load_dataset(source, name, id_column=id_column)


def opens_large(source: str | Path) -> bool:
    """Whether :func:`open_dataset` reads this path through DuckDB."""
    from tagging.large_dataset import is_parquet_collection

    path = Path(source)
    if is_parquet_collection(source):
        return True
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        parquet = fh.read(4) == PARQUET_MAGIC
    return parquet and path.stat().st_size > large_bytes()


def large_bytes() -> int:
    try:
        mb = float(os.environ.get(LARGE_MB_ENV, "") or DEFAULT_LARGE_MB)
    except ValueError:
        mb = DEFAULT_LARGE_MB
    return int(mb * 1024 * 1024)


def _open(source: Source, name: str | None) -> tuple[str, Path | None, bytes | None]:
    """(label for messages, path or None, bytes or None): exactly one of path/bytes is set."""
    if isinstance(source, str | Path):
        path = Path(source)
        label = name or path.name
        if not path.exists():
            raise DatasetError(f"{path} does not exist: check the path")
        if path.is_dir():
            raise DatasetError(f"{path} is a folder: choose a file inside it")
        if not path.is_file():  # a FIFO or a device: reading would block or never end
            raise DatasetError(
                f"{path} is not a regular file (a pipe or a device): save the data to a file"
            )
        return label, path, None
    label = name or Path(str(getattr(source, "name", "") or "upload")).name
    if hasattr(source, "getvalue"):
        raw = source.getvalue()
    elif hasattr(source, "read"):
        raw = source.read()
    elif isinstance(source, bytes | bytearray):
        raw = bytes(source)
    else:
        raise DatasetError(
            f"cannot read a {type(source).__name__}: pass a file path or an uploaded file"
        )
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    return label, None, bytes(raw)
