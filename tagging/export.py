"""Downloads that are safe to open in a spreadsheet (OWASP CSV/formula injection).

Usage::

    st.download_button("CSV", to_csv_bytes(df), "result.csv", "text/csv")
    st.download_button("Excel", to_excel_bytes(df), "result.xlsx", XLSX_MIME)

A text cell (or column name) starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading apostrophe, so a spreadsheet shows it as text instead of running it.
Numbers are left alone (``-5`` stays a number). CSV is UTF-8 with a BOM so Excel shows
accented letters; pandas and :func:`tagging.datasets.load_dataset` read it back unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tagging.errors import DatasetError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WRITE_BATCH = 262_144  # rows per CSV write: arrow's default 1,024 costs twice the time
EXCEL_MAX_ROWS = 1_048_575  # one row of the sheet's 1,048,576 holds the header
# Told (rows written, rows in all) after each WRITE_BATCH rows: a page's progress message.
WriteProgress = Callable[[int, int], None]


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell and column name that a spreadsheet would run is quoted."""
    out = df.copy()
    out.columns = [_safe_text(str(c)) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype)):
            continue
        if pd.api.types.is_object_dtype(s.dtype):
            # lists/dicts (tags) become their text; other objects keep their type
            nested = s.map(lambda v: isinstance(v, list | tuple | dict | set))
            if nested.any():
                s = s.where(~nested, s[nested].map(str))
        risky = s.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
        if risky.any():
            s = s.where(~risky, "'" + s[risky].astype("str"))
        out[col] = s
    return out


def to_csv_bytes(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """Formula-safe CSV, UTF-8 with BOM, CRLF line ends."""
    # CRLF rows (RFC 4180) also make the writer quote cells holding a bare CR
    return neutralise(df).to_csv(index=index, lineterminator="\r\n").encode("utf-8-sig")


def to_excel_bytes(df: pd.DataFrame, *, sheet_name: str = "data", index: bool = False) -> bytes:
    """Formula-safe .xlsx (openpyxl). Raises DatasetError beyond Excel's row limit."""
    if len(df) > EXCEL_MAX_ROWS:
        raise DatasetError(
            f"{len(df):,} rows do not fit in an Excel sheet (max {EXCEL_MAX_ROWS:,}): "
            f"download CSV instead"
        )
    # openpyxl costs ~60 ms to import: only an Excel download pays it, not the CLI.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    safe = neutralise(df)
    for col in safe.columns:
        s = safe[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):  # Excel has no time zones
            safe[col] = s.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype):
            # control characters make openpyxl refuse the whole file
            text = s.str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True)
            safe[col] = s.where(text.isna(), text)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        safe.to_excel(writer, sheet_name=sheet_name[:31] or "data", index=index)
    return buf.getvalue()


def table_to_csv_bytes(table: pa.Table, progress: WriteProgress | None = None) -> bytes:
    """`to_csv_bytes` for an arrow table, written by arrow's CSV writer: the same formula
    safety, BOM and CRLF rows, in C++ rather than a Python pass per cell (a million ids in
    a fraction of a second). Text cells are quoted where they need it."""
    from pyarrow import csv

    safe = pa.table(
        {_safe_text(name): _safe_column(table.column(name)) for name in table.column_names}
    )
    # Quotes only where a cell needs them, as pandas writes: arrow's "needed" quotes every
    # text cell (a third more bytes for a million ids), "none" refuses cells that need them.
    plain = not any(_needs_quotes(safe.column(name)) for name in safe.column_names)
    plain = plain and not any(ch in name for name in safe.column_names for ch in ',"\r\n')
    style = "none" if plain else "needed"
    buf = io.BytesIO()
    buf.write("\ufeff".encode())
    options = csv.WriteOptions(
        eol="\r\n", quoting_style=style, quoting_header=style, batch_size=WRITE_BATCH
    )
    with csv.CSVWriter(buf, safe.schema, write_options=options) as writer:
        for part in _parts(safe, progress):
            writer.write_table(part)
    return buf.getvalue()


def table_to_parquet_bytes(table: pa.Table, progress: WriteProgress | None = None) -> bytes:
    """An arrow table as Parquet (text stays text: no spreadsheet runs a Parquet cell)."""
    from pyarrow import parquet

    buf = io.BytesIO()
    if progress is None:
        parquet.write_table(table, buf)
        return buf.getvalue()
    with parquet.ParquetWriter(buf, table.schema) as writer:
        for part in _parts(table, progress):
            writer.write_table(part)
    return buf.getvalue()


def _parts(table: pa.Table, progress: WriteProgress | None) -> Iterator[pa.Table]:
    """The table in slices of WRITE_BATCH rows (one when nobody follows the progress),
    telling `progress` the rows written after each."""
    step = WRITE_BATCH if progress is not None else max(table.num_rows, 1)
    for start in range(0, max(table.num_rows, 1), step):
        yield table.slice(start, step)
        if progress is not None:
            progress(min(start + step, table.num_rows), table.num_rows)


def _safe_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text with a leading apostrophe where a spreadsheet would run it (for dictionary-
    encoded text, on its few distinct values); other types as they are."""
    if pa.types.is_dictionary(column.type):
        return pa.chunked_array(
            [
                pa.DictionaryArray.from_arrays(chunk.indices, _safe_text_array(chunk.dictionary))
                for chunk in column.chunks
            ],
            column.type,
        )
    return _safe_text_array(column)


def _safe_text_array(values: Any) -> Any:
    if not _is_text(values.type):
        return values
    risky = pc.fill_null(pc.match_substring_regex(values, _RISKY), False)
    if not pc.any(risky).as_py():
        return values
    return pc.if_else(risky, pc.binary_join_element_wise("'", values, ""), values)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


_RISKY = r"^[=+\-@\t\r]"  # FORMULA_STARTS as a pattern


def _needs_quotes(column: pa.ChunkedArray) -> bool:
    """A text cell holds a comma, quote or line end (checked on a dictionary's values)."""
    if pa.types.is_dictionary(column.type):
        return any(_needs_quotes(pa.chunked_array([c.dictionary])) for c in column.chunks)
    if not _is_text(column.type):
        return False
    return bool(pc.any(pc.match_substring_regex(column, '[,"\r\n]')).as_py())


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
