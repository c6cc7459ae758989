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

import pandas as pd

from tagging.errors import DatasetError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_MAX_ROWS = 1_048_575  # one row of the sheet's 1,048,576 holds the header


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


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
