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

What the columns are for (id column suggestions and checks, tag columns) is in columns.py.

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

import csv
import io
import json
import os
import zipfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import pandas as pd

from tagging.columns import ID_NAME, to_id_strings
from tagging.errors import DatasetError
from tagging.exact_types import MISSING, type_exactly
from tagging.excel_formulas import formulas_without_value

if TYPE_CHECKING:
    from tagging.large_dataset import LargeDataset

Format = Literal["csv", "tsv", "parquet", "json", "jsonl", "excel"]
Source = str | Path | IO[bytes] | Any  # Any: objects with .name and .getvalue()/.read()

FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
# Extensions whose content is sniffed instead of trusted.
_SNIFFED = {"", ".txt", ".dat", ".data", ".gz"}
_SUPPORTED = "CSV, TSV, Parquet, JSON, JSONL or Excel (.xlsx)"
_FORMAT_LABEL: dict[Format, str] = {
    "csv": "CSV",
    "tsv": "TSV",
    "parquet": "Parquet",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "excel": "Excel",
}
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_HEAD_BYTES = 64 * 1024
LARGE_MB_ENV = "TAGGING_DUCKDB_OVER_MB"
DEFAULT_LARGE_MB = 512  # a Parquet file over this opens through DuckDB, not into pandas


# --- loading -------------------------------------------------------------------------------


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
    head = _head(path, data)
    fmt = _detect_format(label, head)
    notes: list[str] = []
    target: str | Path | io.BytesIO = path if path is not None else io.BytesIO(data or b"")
    if fmt in ("csv", "tsv"):
        df = _read_delimited(target, label, fmt, id_column, notes)
    elif fmt == "parquet":
        df = _read_parquet(target, label)
    elif fmt == "excel":
        df = _read_excel(target, label, id_column, notes)
    else:
        raw = path.read_bytes() if path is not None else (data or b"")
        text = _decode(raw, label, notes)
        df = _read_json_text(text, label, fmt)
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
    df.attrs.update({"source": label, "format": fmt, "notes": notes})
    return df


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
        parquet = fh.read(4) == _PARQUET_MAGIC
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


def _head(path: Path | None, data: bytes | None) -> bytes:
    if path is not None:
        with path.open("rb") as fh:
            return fh.read(_HEAD_BYTES)
    return (data or b"")[:_HEAD_BYTES]


def _sniff(head: bytes) -> Format | None:
    """The format the first bytes show, when cheap to tell; None for text we cannot place."""
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "excel"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        lines = [ln.strip() for ln in stripped.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].endswith(b"}") and lines[1].startswith(b"{"):
            return "jsonl"
        return "json"
    first = stripped.split(b"\n", 1)[0]
    if b"\t" in first and first.count(b"\t") >= first.count(b","):
        return "tsv"
    if first:
        return "csv"
    return None


def _detect_format(label: str, head: bytes) -> Format:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DatasetError(
            f"{label} is empty: choose a file with a header row and at least one data row"
        )
    suffix = Path(label).suffix.lower()
    sniffed = _sniff(head)
    if head.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise DatasetError(
            f"{label} is a legacy Excel .xls workbook: save it as .xlsx or CSV and load that"
        )
    if suffix in FORMATS:
        fmt = FORMATS[suffix]
        binary = {"parquet", "excel"}
        if sniffed in binary and sniffed != fmt:
            raise DatasetError(
                f"{label} looks like a {_FORMAT_LABEL[sniffed]} file, not {_FORMAT_LABEL[fmt]}: "
                f"rename it with the right extension"
            )
        if fmt in binary and sniffed not in binary:
            if _looks_binary(head):
                what = "Parquet" if fmt == "parquet" else "Excel .xlsx"
                raise DatasetError(
                    f"{label} is not a valid {what} file (corrupt or truncated): export it again"
                )
            raise DatasetError(
                f"{label} contains text, not {_FORMAT_LABEL[fmt]}: "
                f"rename it to .csv, .tsv or .json to match its content"
            )
        if fmt == "json" and sniffed == "jsonl":
            return "jsonl"
        if fmt in ("csv", "tsv", "json", "jsonl") and _looks_binary(head):
            raise DatasetError(
                f"{label} has binary content, not {_FORMAT_LABEL[fmt]} text: "
                f"choose a {_SUPPORTED} file"
            )
        return fmt
    if (
        suffix in _SNIFFED
        and sniffed is not None
        and not (sniffed in ("csv", "tsv") and _looks_binary(head))
    ):
        return sniffed
    raise DatasetError(
        f"{label}: unsupported file type '{suffix or 'no extension'}': choose a {_SUPPORTED} file"
    )


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text has NULs but is text
    return b"\x00" in head[:4096]


def _decode(raw: bytes, label: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{label} is not UTF-8; decoded as Windows-1252 (check accented letters)")
        return raw.decode("cp1252", errors="replace")


def _encoding_for(head: bytes) -> str:
    return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"


def _read_delimited(
    target: str | Path | io.BytesIO,
    label: str,
    fmt: Format,
    id_column: str | None,
    notes: list[str],
) -> pd.DataFrame:
    sep = "\t" if fmt == "tsv" else ","
    head = _head(target if isinstance(target, Path) else None, _buffer_bytes(target))
    encoding = _encoding_for(head)
    _check_header_size(target, label, sep)
    for attempt in (encoding, "cp1252"):
        try:
            _check_first_row(head.decode(attempt, errors="replace"), sep, label)
            _rewind(target)
            # Every cell as its text; columns typed afterwards only where nothing is lost.
            df = pd.read_csv(
                target,
                sep=sep,
                encoding=attempt,
                dtype="str",
                keep_default_na=False,
                na_values=MISSING,
                low_memory=False,
            )
            df = type_exactly(df, _id_like(df.columns, id_column))
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise DatasetError(
                f"{label} is empty: choose a file with a header row and at least one data row"
            ) from exc
        except pd.errors.ParserError as exc:
            detail = " ".join(str(exc).split())
            raise DatasetError(
                f"{label} is not a valid {_FORMAT_LABEL[fmt]} table ({detail}): "
                f"check quoting and the number of fields per line"
            ) from exc
        if attempt == "cp1252":
            notes.append(f"{label} is not UTF-8; decoded as Windows-1252 (check accented letters)")
        return df
    raise DatasetError(f"{label} cannot be decoded as text: save it as UTF-8 and load it again")


MAX_HEADER_BYTES = 1024 * 1024
MAX_COLUMNS = 16_384  # Excel's own limit: more is not a table anyone meant


def _check_header_size(target: str | Path | io.BytesIO, label: str, sep: str) -> None:
    """Refuse a header line over 1 MB or of more columns than Excel allows, before pandas
    builds a frame of millions of columns (a 10 MB single-line file)."""
    if isinstance(target, io.BytesIO):
        target.seek(0)
        first = target.readline(MAX_HEADER_BYTES + 1)
        target.seek(0)
    else:
        with Path(target).open("rb") as fh:
            first = fh.readline(MAX_HEADER_BYTES + 1)
    if len(first) > MAX_HEADER_BYTES:
        raise DatasetError(
            f"{label}: its first line is over 1 MB: a {'TSV' if sep == chr(9) else 'CSV'} file "
            "needs a header line of column names, then one row a line"
        )
    columns = first.count(sep.encode()) + 1
    if columns > MAX_COLUMNS:
        raise DatasetError(
            f"{label} has {columns:,} columns (the limit is {MAX_COLUMNS:,}): is it one row "
            "written as a single line? Put one value a line"
        )


def _check_first_row(head: str, sep: str, label: str) -> None:
    """Refuse a first data row longer than the header.

    pandas would silently use the first column as the index, shifting every value (and id)
    one column to the left. Later ragged rows are already a ParserError.
    """
    rows = csv.reader(io.StringIO(head), delimiter=sep)
    header, first = next(rows, []), next(rows, [])
    if header and len(first) > len(header):
        raise DatasetError(
            f"{label} has rows with more fields than its header: "
            "check quoting and the number of fields per line"
        )


def _buffer_bytes(target: str | Path | io.BytesIO) -> bytes | None:
    return target.getvalue()[:_HEAD_BYTES] if isinstance(target, io.BytesIO) else None


def _rewind(target: str | Path | io.BytesIO) -> None:
    if isinstance(target, io.BytesIO):
        target.seek(0)


def _read_parquet(target: str | Path | io.BytesIO, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(target, engine="pyarrow")
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DatasetError(
            f"{label} is not a valid Parquet file (corrupt or truncated): export it again"
        ) from exc


def _read_excel(
    target: str | Path | io.BytesIO, label: str, id_column: str | None, notes: list[str]
) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(target, engine="openpyxl")
        sheet = book.sheet_names[0]
        header = pd.read_excel(book, sheet_name=sheet, nrows=0)
        text_cols = _id_like(header.columns, id_column)
        # Cells keep Excel's own types (a text cell "007" stays text); "NA" is a value.
        df = pd.read_excel(
            book,
            sheet_name=sheet,
            dtype={c: ("str" if c in text_cols else object) for c in header.columns},
            keep_default_na=False,
            na_values=MISSING,
        ).infer_objects()  # numbers stay numbers, dates dates: only the parsing is skipped
        uncached = formulas_without_value(target, str(sheet))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise DatasetError(
            f"{label} is not a valid Excel .xlsx workbook (corrupt or not Excel): "
            f"open and save it again in Excel, or export CSV"
        ) from exc
    if len(book.sheet_names) > 1:
        notes.append(f"{label} has {len(book.sheet_names)} sheets; loaded the first, '{sheet}'")
    if uncached:
        notes.append(
            f"{label}: {uncached:,} formula cells have no saved value and are empty here: "
            "open and save the workbook in Excel to store their results"
        )
    return df


def _id_like(columns: pd.Index, id_column: str | None) -> set[str]:
    text = {str(c) for c in columns if ID_NAME.search(str(c))}
    return text | ({id_column} if id_column is not None else set())


def _read_json_text(text: str, label: str, fmt: Format) -> pd.DataFrame:
    if fmt == "jsonl":
        try:
            rows = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        except ValueError as exc:
            raise DatasetError(
                f"{label} is not valid JSON Lines (one JSON object per line): "
                f"fix the broken line or export again"
            ) from exc
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several documents: JSON Lines saved as .json
            return _read_json_text(text, label, "jsonl")
        raise DatasetError(
            f"{label} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
            f"fix it or export again"
        ) from exc
    return _json_table(data, label)


def _json_table(data: object, label: str) -> pd.DataFrame:
    not_table = DatasetError(
        f"{label} is JSON but not a table: use a list of records [{{...}}, ...] "
        f'or an object of columns {{"col": [...], ...}}'
    )
    if isinstance(data, list):
        if not data:
            raise DatasetError(f"{label} holds an empty list: it has no rows to load")
        if all(isinstance(r, dict) for r in data):
            return pd.DataFrame.from_records(data)
        raise not_table
    if isinstance(data, dict):
        for key in ("data", "records", "rows", "items", "results"):
            if isinstance(data.get(key), list) and len(data) <= 3:
                return _json_table(data[key], label)
        values = list(data.values())
        if values and all(isinstance(v, list) for v in values):
            lengths = {len(v) for v in values}
            if len(lengths) != 1:
                raise DatasetError(
                    f"{label} has columns of different lengths: every column needs one value "
                    f"per row"
                )
            return pd.DataFrame(data)
        if values and all(isinstance(v, dict) for v in values):
            return pd.DataFrame(data)  # pandas' "columns" orient: {col: {row: value}}
        raise not_table
    raise not_table


# --- id columns ----------------------------------------------------------------------------
