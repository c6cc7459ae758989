"""Loading every format (and broken files) from tmp_path; id checks; tag columns; demos."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tagging.columns import (
    id_column_report,
    parse_tag_column,
    rank_id_columns,
    suggest_id_columns,
    to_id_strings,
)
from tagging.datasets import load_dataset
from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
from tagging.errors import DatasetError

FRAME = pd.DataFrame(
    {
        "id": ["007", "8", "9"],
        "title": ["Graph nets", "Café au lait", "Sparse kernels"],
        "year": [2019, 2020, 2021],
    }
)


class Upload:
    """Streamlit's UploadedFile, as far as the loader cares: .name and .getvalue()."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self._data = data

    def getvalue(self) -> bytes:
        return self._data


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def check_frame(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["id", "title", "year"]
    assert df["id"].tolist() == ["007", "8", "9"]
    assert df["title"].tolist() == ["Graph nets", "Café au lait", "Sparse kernels"]
    assert df["year"].tolist() == [2019, 2020, 2021]


# --- every format, from a path and from an upload -------------------------------------------


def _excel_bytes() -> bytes:
    buf = io.BytesIO()
    FRAME.to_excel(buf, index=False)
    return buf.getvalue()


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    FRAME.to_parquet(buf)
    return buf.getvalue()


FORMATS = {
    "data.csv": "id,title,year\n007,Graph nets,2019\n8,Café au lait,2020\n9,Sparse kernels,2021\n",
    "data.tsv": FRAME.to_csv(sep="\t", index=False),
    "data.json": json.dumps(FRAME.to_dict(orient="records")),
    "columns.json": json.dumps(FRAME.to_dict(orient="list")),
    "pandas.json": FRAME.to_json(),  # pandas' default "columns" orient: {col: {row: v}}
    "data.jsonl": FRAME.to_json(orient="records", lines=True),
    "lines.json": FRAME.to_json(orient="records", lines=True),  # JSON Lines saved as .json
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_text_formats_load_from_path_and_upload(tmp_path: Path, name: str) -> None:
    data = FORMATS[name].encode()
    check_frame(load_dataset(write(tmp_path, name, data)))
    check_frame(load_dataset(Upload(name, data)))


def test_parquet_and_excel_load(tmp_path: Path) -> None:
    for name, data in (("data.parquet", _parquet_bytes()), ("data.xlsx", _excel_bytes())):
        df = load_dataset(write(tmp_path, name, data))
        check_frame(df)
        assert df.attrs["format"] in ("parquet", "excel")
        check_frame(load_dataset(Upload(name, data)))
        check_frame(load_dataset(io.BytesIO(data), name=name))


def test_parquet_row_groups_load_as_one_chunk_per_column(tmp_path: Path) -> None:
    path = tmp_path / "groups.parquet"
    FRAME.to_parquet(path, row_group_size=2)  # one chunk per row group as pyarrow reads it
    df = load_dataset(path)
    pd.testing.assert_frame_equal(df, pd.read_parquet(path))
    text = [c for c in df.columns if isinstance(df[c].array, pd.arrays.ArrowExtensionArray)]
    assert text and all(getattr(pa.array(df[c].array), "num_chunks", 1) == 1 for c in text)


def test_content_is_sniffed_when_extension_is_unknown(tmp_path: Path) -> None:
    assert load_dataset(write(tmp_path, "export", _parquet_bytes())).attrs["format"] == "parquet"
    assert load_dataset(write(tmp_path, "x.txt", FORMATS["data.tsv"])).attrs["format"] == "tsv"
    assert load_dataset(write(tmp_path, "x.dat", FORMATS["data.jsonl"])).attrs["format"] == "jsonl"
    check_frame(load_dataset(write(tmp_path, "noext", _excel_bytes())))


def test_encodings(tmp_path: Path) -> None:
    text = FORMATS["data.csv"]
    bom = load_dataset(write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode()))
    check_frame(bom)
    assert bom.attrs["notes"] == []
    check_frame(load_dataset(write(tmp_path, "u16.txt", text.replace(",", "\t").encode("utf-16"))))
    latin = load_dataset(write(tmp_path, "latin.csv", text.encode("cp1252")))
    check_frame(latin)
    assert latin.attrs["notes"] == [
        "latin.csv is not UTF-8; decoded as Windows-1252 (check accented letters)"
    ]
    js = load_dataset(write(tmp_path, "latin.json", FORMATS["data.json"].encode("utf-8")))
    check_frame(js)


def test_ids_are_strings_without_float_artefacts(tmp_path: Path) -> None:
    path = write(tmp_path, "ids.csv", "key,model_id,n\n1,5,1.5\n2,,2.5\n3,7,\n")
    df = load_dataset(path, id_column="key")
    assert df["key"].tolist() == ["1", "2", "3"]
    assert df["model_id"].iloc[[0, 2]].tolist() == ["5", "7"]  # id-like name: text
    assert df["model_id"].isna().tolist() == [False, True, False]
    js = load_dataset(Upload("x.json", b'[{"pk": 1.0, "v": 1}, {"pk": 2, "v": 2}]'), id_column="pk")
    assert js["pk"].tolist() == ["1", "2"]
    floats = to_id_strings(pd.Series([1.0, np.nan, 3.0]))
    assert floats.iloc[[0, 2]].tolist() == ["1", "3"] and floats.isna().iloc[1]


# --- broken inputs: exact one-line messages --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "empty.csv",
            b"",
            "empty.csv is empty: choose a file with a header row and at least one data row",
        ),
        (
            "blank.json",
            b"  \n\n",
            "blank.json is empty: choose a file with a header row and at least one data row",
        ),
        (
            "header.csv",
            b"id,title\n",
            "header.csv has a header but no rows: add at least one data row or choose another file",
        ),
        (
            "header.xlsx",
            "excel-header-only",
            "header.xlsx has a header but no rows: add at least one data row or choose another "
            "file",
        ),
        (
            "scalar.json",
            b"42",
            "scalar.json is JSON but not a table: use a list of records [{...}, ...] or an object "
            'of columns {"col": [...], ...}',
        ),
        (
            "list.json",
            b'["a", "b"]',
            "list.json is JSON but not a table: use a list of records [{...}, ...] or an object "
            'of columns {"col": [...], ...}',
        ),
        ("emptylist.json", b"[]", "emptylist.json holds an empty list: it has no rows to load"),
        (
            "ragged.json",
            b'{"a": [1, 2], "b": [1]}',
            "ragged.json has columns of different lengths: every column needs one value per row",
        ),
        (
            "broken.json",
            b'[{"a": 1},',
            "broken.json is not valid JSON (Expecting value at line 1 column 11): fix it or "
            "export again",
        ),
        (
            "broken.jsonl",
            b'{"a": 1}\n{"a": \n',
            "broken.jsonl is not valid JSON Lines (one JSON object per line): fix the broken "
            "line or export again",
        ),
        (
            "corrupt.parquet",
            b"PAR1" + b"\x00" * 40,
            "corrupt.parquet is not a valid Parquet file (corrupt or truncated): export it again",
        ),
        (
            "text.parquet",
            b"id,title\n1,a\n",
            "text.parquet contains text, not Parquet: rename it to .csv, .tsv or .json to match "
            "its content",
        ),
        (
            "corrupt.xlsx",
            b"PK\x03\x04" + b"\x00" * 40,
            "corrupt.xlsx is not a valid Excel .xlsx workbook (corrupt or not Excel): open and "
            "save it again in Excel, or export CSV",
        ),
        (
            "binary.xlsx",
            b"\x00\x01\x02garbage",
            "binary.xlsx is not a valid Excel .xlsx file (corrupt or truncated): export it again",
        ),
        (
            "legacy.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40,
            "legacy.xls is a legacy Excel .xls workbook: save it as .xlsx or CSV and load that",
        ),
        (
            "parquet.csv",
            "parquet",
            "parquet.csv looks like a Parquet file, not CSV: rename it with the right extension",
        ),
        (
            "image.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "image.csv has binary content, not CSV text: choose a CSV, TSV, Parquet, JSON, "
            "JSONL or Excel (.xlsx) file",
        ),
        (
            "report.pdf",
            b"%PDF-1.4",
            "report.pdf: unsupported file type '.pdf': choose a CSV, TSV, Parquet, JSON, JSONL "
            "or Excel (.xlsx) file",
        ),
        (
            "ragged.csv",
            b'id,t\n1,"a\n',
            "ragged.csv is not a valid CSV table (Error tokenizing data. C error: EOF inside "
            "string starting at row 1): check quoting and the number of fields per line",
        ),
    ],
)
def test_broken_files_raise_one_line(
    tmp_path: Path, name: str, data: bytes | str, message: str
) -> None:
    if data == "parquet":
        data = _parquet_bytes()
    elif data == "excel-header-only":
        buf = io.BytesIO()
        FRAME.iloc[:0].to_excel(buf, index=False)
        data = buf.getvalue()
    assert isinstance(data, bytes)
    with pytest.raises(DatasetError) as err:
        load_dataset(write(tmp_path, name, data))
    assert str(err.value) == message
    assert "\n" not in str(err.value)
    with pytest.raises(DatasetError) as err2:  # same message for an upload
        load_dataset(Upload(name, data))
    assert str(err2.value) == message


def test_missing_path_and_missing_id_column(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"does not exist: check the path$"):
        load_dataset(tmp_path / "nope.csv")
    with pytest.raises(DatasetError) as err:
        load_dataset(write(tmp_path, "d.csv", FORMATS["data.csv"]), id_column="uuid")
    assert str(err.value) == "id column 'uuid' is not in d.csv; its columns are: id, title, year"


def test_excel_with_several_sheets_loads_the_first_with_a_note(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf) as writer:
        FRAME.to_excel(writer, sheet_name="papers", index=False)
        FRAME.head(1).to_excel(writer, sheet_name="other", index=False)
    df = load_dataset(write(tmp_path, "book.xlsx", buf.getvalue()))
    check_frame(df)
    assert df.attrs["notes"] == ["book.xlsx has 2 sheets; loaded the first, 'papers'"]


# --- id columns -------------------------------------------------------------------------------


def test_suggest_id_columns_orders_unique_non_null_first() -> None:
    df = pd.DataFrame(
        {
            "category": ["a", "a", "b", "c"],
            "score": [0.1, 0.2, 0.3, 0.4],  # float: never an id
            "name": ["w", "x", "y", "z"],
            "row_id": [1, 2, 3, 4],
            "ref_id": ["1", None, "3", "4"],
            "flag": [True, False, True, False],
        }
    )
    assert suggest_id_columns(df) == ["row_id", "name", "ref_id", "category"]
    assert rank_id_columns(df) == [
        ("row_id", True),
        ("name", True),
        ("ref_id", False),
        ("category", False),
    ]


def test_suggest_id_columns_on_a_million_rows() -> None:
    n = 1_000_000
    df = pd.DataFrame({"group": np.arange(n) % 7, "id": np.arange(n).astype(str)})
    assert suggest_id_columns(df) == ["id", "group"]


def test_id_column_report_counts_nulls_and_duplicates() -> None:
    df = pd.DataFrame({"k": ["1", "1", " ", None, "2", "2", "2", "3"]})
    report = id_column_report(df, "k")
    assert (report.rows, report.nulls, report.duplicates, report.duplicate_ids) == (8, 2, 3, 2)
    assert report.sample_duplicates == ("1", "2")
    assert not report.ok
    assert report.message == (
        "id column 'k': 2 rows have no id; 2 ids repeat (3 extra rows; e.g. 1, 2): rows without "
        "an id are skipped and repeated ids are tagged once"
    )
    clean = id_column_report(pd.DataFrame({"k": [1, 2, 3]}), "k")
    assert clean.ok and clean.message == ""


# --- existing tags ----------------------------------------------------------------------------


def test_parse_tag_column_delimited_text() -> None:
    tags = pd.Series(["a; b", None, "", "c", "a;a"], index=["1", "2", "3", "4", "5"])
    out = parse_tag_column(tags)
    assert out.to_dict("records") == [
        {"id": "1", "tag": "a"},
        {"id": "1", "tag": "b"},
        {"id": "4", "tag": "c"},
        {"id": "5", "tag": "a"},
    ]
    commas = parse_tag_column(pd.Series(["x, y", "z"]), ids=pd.Series([10, 11]))
    assert commas.values.tolist() == [["10", "x"], ["10", "y"], ["11", "z"]]
    pipes = parse_tag_column(pd.Series(["x|y"]), sep="|", ids=pd.Series(["a"]))
    assert pipes.values.tolist() == [["a", "x"], ["a", "y"]]


def test_parse_tag_column_lists_and_json_text() -> None:
    cells = pd.Series([["A.B", "C"], '["D", "E.F"]', "['G']", np.array(["H"]), []], dtype=object)
    out = parse_tag_column(cells, ids=pd.Series(["1", "2", "3", "4", "5"]))
    assert sorted(map(tuple, out.values.tolist())) == [
        ("1", "A.B"),
        ("1", "C"),
        ("2", "D"),
        ("2", "E.F"),
        ("3", "G"),
        ("4", "H"),
    ]
    assert list(out.columns) == ["id", "tag"]


# --- demo datasets ----------------------------------------------------------------------------


def test_demo_datasets_match_the_sandbox_world() -> None:
    demos = demo_datasets(atlas_points=50)
    assert set(demos) == {"atlas", "nekt", "immuta"}
    atlas = demos["atlas"]
    frame = atlas.frame()
    assert atlas.target == {"projection_id": ATLAS_PROJECTION_ID}
    assert frame[atlas.id_column].tolist() == [str(i) for i in range(50)]
    nekt = demos["nekt"].frame()
    assert nekt["resource_type"].nunique() == 8 and demos["nekt"].kind_column == "resource_type"
    assert "Facebook Ads" in set(nekt["name"])
    immuta = demos["immuta"]
    iframe = immuta.frame()
    assert immuta.kind_column == "model_type" and immuta.id_column == "model_id"
    assert {"6", "22", "523", "6_countrycode"} <= set(iframe["model_id"])
    assert set(iframe["model_type"]) == {"datasource", "column", "project"}
    for demo in demos.values():
        assert demo.facet in demo.frame().columns
