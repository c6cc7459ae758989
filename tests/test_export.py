"""Downloads: formula cells are neutralised in CSV and Excel; everything else round-trips."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from tagging.datasets import load_dataset
from tagging.errors import DatasetError
from tagging.export import EXCEL_MAX_ROWS, neutralise, to_csv_bytes, to_excel_bytes

DF = pd.DataFrame(
    {
        "id": ["0", "=1+1", "@SUM(A1)", "+cmd", "-2", "\tx", "\rline"],
        "n": [1, -5, 3, 4, 5, 6, 7],
        "note": ["ok", None, "a=b", "Café", '=HYPERLINK("http://x")', "", "fine"],
        "tags": pd.Series([["a", "b"], [], None, ["=x"], "t", "u", "v"], dtype=object),
    }
)


def test_neutralise_quotes_only_risky_text_cells() -> None:
    out = neutralise(DF)
    assert out["id"].tolist() == ["0", "'=1+1", "'@SUM(A1)", "'+cmd", "'-2", "'\tx", "'\rline"]
    assert out["n"].tolist() == [1, -5, 3, 4, 5, 6, 7]  # numbers untouched
    assert out["note"].tolist()[2:5] == ["a=b", "Café", '\'=HYPERLINK("http://x")']
    assert out["note"].isna().tolist()[1]
    assert out["tags"].tolist()[:4] == ["['a', 'b']", "[]", None, "['=x']"]
    assert DF["id"].iloc[1] == "=1+1"  # the input is not modified
    assert list(neutralise(pd.DataFrame({"=evil": [1]})).columns) == ["'=evil"]


def test_csv_bytes() -> None:
    data = to_csv_bytes(DF)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back["id"].tolist() == ["0", "'=1+1", "'@SUM(A1)", "'+cmd", "'-2", "'\tx", "'\rline"]
    assert back["n"].tolist() == ["1", "-5", "3", "4", "5", "6", "7"]
    assert back["note"].tolist()[3] == "Café"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in back["id"])


def test_csv_round_trips_through_the_loader() -> None:
    df = pd.DataFrame({"id": ["007", "8"], "tag": ["x", "y"]})
    back = load_dataset(io.BytesIO(to_csv_bytes(df)), name="r.csv")
    assert back["id"].tolist() == ["007", "8"] and back["tag"].tolist() == ["x", "y"]


def test_excel_bytes_store_text_not_formulas() -> None:
    df = DF.assign(
        when=pd.to_datetime(["2024-01-01"] * 7).tz_localize("Europe/Paris"),
        ctrl=["a\x01b"] * 7,
    )
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(df, sheet_name="result")))
    sheet = book["result"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["id", "n", "note", "tags"]
    ids = [r[0] for r in rows[1:]]
    # XML stores a bare CR as a line feed
    assert ids == ["0", "'=1+1", "'@SUM(A1)", "'+cmd", "'-2", "'\tx", "'\nline"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [r[1] for r in rows[1:]] == [1, -5, 3, 4, 5, 6, 7]
    assert rows[1][header.index("ctrl")] == "ab"
    assert str(rows[1][header.index("when")]) == "2023-12-31 23:00:00"


def test_excel_row_limit() -> None:
    big = pd.DataFrame({"id": range(EXCEL_MAX_ROWS + 1)})
    with pytest.raises(DatasetError) as err:
        to_excel_bytes(big)
    assert str(err.value) == (
        "1,048,576 rows do not fit in an Excel sheet (max 1,048,575): download CSV instead"
    )
