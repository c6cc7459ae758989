"""One reader per format into pandas (CSV/TSV, Parquet, Excel, JSON/JSONL), ids as text,
every failure a one-line DatasetError."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pandas as pd

from tagging.columns import ID_NAME
from tagging.dataset_formats import FORMAT_LABEL, HEAD_BYTES, Format, encoding_for, read_head
from tagging.errors import DatasetError
from tagging.exact_types import MISSING, type_exactly
from tagging.excel_formulas import formulas_without_value


def read_delimited(
    target: str | Path | io.BytesIO,
    label: str,
    fmt: Format,
    id_column: str | None,
    notes: list[str],
) -> pd.DataFrame:
    sep = "\t" if fmt == "tsv" else ","
    head = read_head(target if isinstance(target, Path) else None, _buffer_bytes(target))
    encoding = encoding_for(head)
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
                f"{label} is not a valid {FORMAT_LABEL[fmt]} table ({detail}): "
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
    return target.getvalue()[:HEAD_BYTES] if isinstance(target, io.BytesIO) else None


def _rewind(target: str | Path | io.BytesIO) -> None:
    if isinstance(target, io.BytesIO):
        target.seek(0)


def read_parquet(target: str | Path | io.BytesIO, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(target, engine="pyarrow")
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DatasetError(
            f"{label} is not a valid Parquet file (corrupt or truncated): export it again"
        ) from exc


def read_excel(
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


def read_json_text(text: str, label: str, fmt: Format) -> pd.DataFrame:
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
            return read_json_text(text, label, "jsonl")
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
