"""Principle 2 of the reliability corpus: ids are text exactly as written.

Any column may be the id column, whatever its name; only an empty cell is missing (pandas'
NA strings are ids too); every row dropped is counted and reported. Each case reads an ids
file the way the CLI does; two run the CLI end to end against the sandbox.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from cli_support import P, atlas_tagged, journal_arg, run_cli
from conftest import Sandbox

from tagging import providers
from tagging.cli_input import ids_and_kinds
from tagging.columns import to_id_strings
from tagging.datasets import load_dataset

NA_STRINGS = ["NA", "N/A", "null", "NULL", "nan", "NaN", "None", "#N/A", "n/a", "-nan", "<NA>"]


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    data: bytes
    column: str | None  # --id-column
    ids: list[str]  # sent, in order
    dropped: int = 0  # rows reported as without an id


# fmt: off
CASES = [
    Case("leading-zeros-any-column-name", "p.csv", b"point\n007\n010\n", "point", ["007", "010"]),
    Case("leading-zeros-unnamed-first-column", "p.csv", b"code,x\n007,1\n8,2\n", None,
         ["007", "8"]),
    Case("integral-float-text-kept", "f.csv", b"n\n15\n15.0\n", "n", ["15", "15.0"]),
    Case("integers-with-a-gap-no-dot-zero", "g.csv", b"n,x\n15,a\n,b\n16,c\n", "n",
         ["15", "16"], 1),
    Case("exponent-and-signs", "e.csv", b"n\n1e3\n+5\n-0\n0x1F\n", "n",
         ["1e3", "+5", "-0", "0x1F"]),
    Case("pandas-na-strings-are-ids", "na.csv", ("v\n" + "\n".join(NA_STRINGS) + "\n").encode(),
         "v", NA_STRINGS),
    Case("only-empty-cells-missing", "m.csv", b"id,x\n1,a\n,b\n  ,c\nNA,d\n", "id",
         ["1", "NA"], 2),
    Case("tsv-text-kept", "t.tsv", b"ref\tn\n0012\t1\n12\t2\n", "ref", ["0012", "12"]),
    Case("beyond-64-bits", "b.csv", b"n\n123456789012345678901234567890\n1\n", "n",
         ["123456789012345678901234567890", "1"]),
    Case("text-file-lines-and-blanks", "ids.txt", b"007\n\nNA\n  \n010\n", None,
         ["007", "NA", "010"], 2),
    Case("text-file-bom", "ids.txt", b"\xef\xbb\xbf007\n8\n", None, ["007", "8"]),
    Case("text-file-padding-stripped", "ids.txt",
         "\t007\n8 \n\u00a09\n10\u2003\n\u00e9t\u00e9\n11\n".encode(), None,
         ["007", "8", "9", "10", "\u00e9t\u00e9", "11"]),
    Case("text-file-inner-space-and-accents-kept", "ids.txt",
         "a b\n\u00e9\nx\u00a0y\n".encode(), None, ["a b", "\u00e9", "x\u00a0y"]),
    Case("json-strings-kept-null-dropped", "j.json",
         b'[{"id": "007"}, {"id": "NA"}, {"id": null}, {"id": 7}]', "id", ["007", "NA", "7"], 1),
    Case("excel-text-cells-kept", "x.xlsx",
         workbook([["point"], ["007"], ["NA"], [7], [None], ["010"]]), "point",
         ["007", "NA", "7", "010"], 1),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ids_file_keeps_each_id_as_written(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.file
    path.write_bytes(case.data)
    read = ids_and_kinds(providers.get("atlas"), None, path, case.column, None, None)
    # A text file reads into Arrow text, a table into a text Series.
    ids = read.ids.to_pylist() if isinstance(read.ids, pa.ChunkedArray) else read.ids.tolist()
    assert ids == case.ids
    assert read.dropped == case.dropped
    if case.dropped:
        assert f"{case.dropped} of" in read.note() and "without an id skipped" in read.note()


@pytest.mark.parametrize("case", [c for c in CASES if c.file.endswith((".csv", ".xlsx"))],
                         ids=lambda c: c.name)  # fmt: skip
def test_uploaded_dataset_keeps_each_id_as_written(case: Case) -> None:
    frame = load_dataset(io.BytesIO(case.data), name=case.file)
    column = case.column or str(frame.columns[0])
    ids = to_id_strings(frame[column]).str.strip()
    assert ids[ids.notna() & ids.ne("")].tolist() == case.ids
    # a part of the column reads the same as the whole (the app tags selected rows)
    assert to_id_strings(frame[column].iloc[-1:]).str.strip().tolist() == ids.iloc[-1:].tolist()


def test_excel_formula_cells_use_the_cached_value_and_count_those_without() -> None:
    data = workbook([["id", "n"], ["007", "=1+1"], ["008", "=A2"], ["009", 3]])
    frame = load_dataset(io.BytesIO(data), name="f.xlsx")
    assert frame["id"].tolist() == ["007", "008", "009"]
    [note] = frame.attrs["notes"]
    assert "2 formula cells have no saved value" in note


def test_cli_tags_the_ids_as_written_and_reports_skipped_rows(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "p.csv").write_bytes(b"point,x\n007,a\n010,b\n,c\n3,d\n3,e\n")
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "Z",
                   "--ids-file", str(tmp_path / "p.csv"), "--id-column", "point",
                   *journal_arg(tmp_path))  # fmt: skip
    assert done.returncode == 1, done.stderr  # "007" and "010" are no points of the map
    assert "1 of 5 rows without an id skipped; 1 repeated id sent once" in done.stderr
    assert "applied 1, not found 2" in done.stdout
    assert atlas_tagged(sandbox, "Z") == {"3"}  # not points 7 and 10


def test_cli_text_ids_file_keeps_na_strings(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_text("NA\nnull\n\n4\n")
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "Y",
                   "--ids-file", str(tmp_path / "ids.txt"), *journal_arg(tmp_path))  # fmt: skip
    assert "1 of 4 rows without an id skipped" in done.stderr
    assert "applied 1, not found 2" in done.stdout
    assert atlas_tagged(sandbox, "Y") == {"4"}
