"""Large Parquet datasets through DuckDB: SQL filters agree with the pandas masks, values and
names cannot inject SQL, pages and samples are deterministic, ids stream exactly."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tagging.datasets import load_dataset, open_dataset
from tagging.errors import DatasetError, InputError
from tagging.filters import Condition, apply_filters, operators_for
from tagging.large_dataset import LargeDataset, open_parquet
from tagging.sql_filters import WHITESPACE

ROWS = 600
WORDS = ["Graph", "graph", "GRAPH nets", "Sparse a.b", "ünïcode Straße", "x'); DROP", "%_", ""]


def _frame(rows: int = ROWS, seed: int = 3) -> pd.DataFrame:
    """Every kind of column the masks treat differently, with missing and blank values."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(WORDS), rows)
    title = pd.Series(np.array(WORDS, dtype=object)[pick], dtype=object)
    title[rng.random(rows) < 0.1] = None
    title[rng.random(rows) < 0.05] = " \t\u3000"
    score = rng.normal(5, 2, rows).round(2)
    score[rng.random(rows) < 0.1] = np.nan
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="h")
    published = pd.Series(stamps).where(rng.random(rows) > 0.1)
    return pd.DataFrame(
        {
            "id": np.arange(rows).astype(str),
            "title": title.astype("str").where(title.notna()),
            "field": pd.Categorical(np.array(["cs.LG", "cs.CL", "stat.ML"])[pick % 3]),
            "year": rng.integers(2015, 2025, rows),
            "citations": pd.array(
                np.where(rng.random(rows) < 0.1, None, rng.integers(0, 50, rows)), dtype="Int64"
            ),
            "score": score,
            "flag": rng.random(rows) < 0.5,
            "published": published,
            "source_id": rng.integers(1, 40, rows).astype(float),  # id-like: read as text
        }
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frame split over three Parquet files in a folder (one in a sub-folder)."""
    root = tmp_path_factory.mktemp("large")
    frame = _frame()
    (root / "more").mkdir()
    for i, part in enumerate(np.array_split(np.arange(ROWS), 3)):
        where = root / ("more" if i == 2 else "") / f"part-{i}.parquet"
        frame.iloc[part].to_parquet(where, index=False)
    return root


@pytest.fixture(scope="module")
def truth(folder: Path) -> pd.DataFrame:
    """What pandas holds: each file through load_dataset, in the folder's file order."""
    files = sorted(folder.rglob("*.parquet"))
    return pd.concat([load_dataset(f) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def ds(folder: Path) -> LargeDataset:
    return open_parquet(folder)


def _conditions(frame: pd.DataFrame, seed: int) -> list[Condition]:
    """Conditions for every column and every operator its menu offers, with values drawn from
    the data (and some from nowhere)."""
    rng = np.random.default_rng(seed)
    out = []
    for col in frame.columns:
        values = frame[col].dropna().astype(str).unique().tolist()
        text = "contains" in operators_for(frame[col])
        values += ["zzz-none"] if text else []  # a value no row holds
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            values = ["2020-01-05", "2020-01-20 06:00", "2020-02-01"]
        for op in operators_for(frame[col]):
            one = values[int(rng.integers(0, len(values)))]
            if op == "in":
                value: object = [values[int(i)] for i in rng.integers(0, len(values), 3)]
            elif op == "between":
                low, high = sorted(rng.choice(values, 2), key=_sort_key)
                value = (low, None) if rng.random() < 0.3 else (low, high)
            elif op == "contains":
                value = one[: max(1, len(one) // 2)].upper()
            elif op == "regex":
                value = "^[Gg]raph" if rng.random() < 0.5 else r"a\.b|Stra"
            else:
                value = one
            out.append(Condition(col, op, value))  # type: ignore[arg-type]
    return out


def _sort_key(value: str) -> object:
    try:
        return float(value)
    except ValueError:
        return pd.Timestamp(value)


def _sql_ids(ds: LargeDataset, conds: list[Condition], search: str | None = None) -> list[str]:
    return ds.page(conds, search, limit=ROWS + 1, columns=["id"])["id"].tolist()


def _pandas_ids(truth: pd.DataFrame, conds: list[Condition], search: str | None = None) -> list:
    return truth.loc[apply_filters(truth, conds, search), "id"].tolist()


def test_open_reads_columns_types_and_rows_from_the_files(ds: LargeDataset) -> None:
    assert ds.rows == ROWS
    assert len(ds.files) == 3
    assert ds.columns == list(_frame().columns)
    empty = ds.empty
    assert isinstance(empty["field"].dtype, pd.CategoricalDtype)
    assert str(empty["citations"].dtype) == "Int64"
    assert pd.api.types.is_string_dtype(empty["source_id"].dtype)  # id-like: text
    assert ds.operators_for("year") == operators_for(pd.Series([1]))


@pytest.mark.parametrize("seed", range(6))
def test_every_operator_matches_the_pandas_mask(
    ds: LargeDataset, truth: pd.DataFrame, seed: int
) -> None:
    conds = _conditions(truth, seed)
    for cond in conds:
        assert _sql_ids(ds, [cond]) == _pandas_ids(truth, [cond]), str(cond)
    rng = np.random.default_rng(seed)
    for _ in range(10):  # AND of a few, in file order
        combo = [conds[int(i)] for i in rng.choice(len(conds), 3, replace=False)]
        assert _sql_ids(ds, combo) == _pandas_ids(truth, combo), " & ".join(map(str, combo))
        assert ds.count(combo) == len(_pandas_ids(truth, combo))


def test_fixed_edge_cases_match_pandas(ds: LargeDataset, truth: pd.DataFrame) -> None:
    cases = [
        Condition("title", "is_null"),  # None and whitespace-only (incl. U+3000)
        Condition("title", "not_null"),
        Condition("title", "equals", ""),
        Condition("title", "not_equals", "Graph"),  # keeps missing values
        Condition("title", "contains", "straSSe"),  # literal, case-insensitive
        Condition("title", "contains", "%_"),  # LIKE wildcards are plain text
        Condition("title", "contains", ""),
        Condition("title", "regex", "(?i)graph"),
        Condition("title", "in", []),
        Condition("score", "between", ("4", "6.5")),  # NaN never in range
        Condition("score", "is_null"),
        Condition("score", "equals", "5.5"),
        Condition("citations", "is_null"),
        Condition("citations", "between", (10, None)),
        Condition("published", "between", ("2020-01-05", "2020-01-05")),  # the whole day
        Condition("published", "between", (None, "2020-01-03 12:30")),
        Condition("published", "equals", "2020-01-02 03:00"),
        Condition("flag", "equals", "yes"),
        Condition("flag", "not_equals", True),
        Condition("field", "in", ["cs.LG", "stat.ML"]),
        Condition("field", "contains", "CS."),
        Condition("source_id", "equals", "7"),  # 7.0 read as the id "7"
        Condition("source_id", "in", ["1", "2.0"]),
        Condition("year", "contains", "02"),
    ]
    for cond in cases:
        assert _sql_ids(ds, [cond]) == _pandas_ids(truth, [cond]), str(cond)
    for search in ("graph", "CS.", "(", "'", "zzz"):
        assert _sql_ids(ds, [], search) == _pandas_ids(truth, [], search), search


def test_whitespace_is_pythons() -> None:
    assert set(WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


@pytest.mark.parametrize(
    "cond",
    [
        Condition("year", "equals", "twenty"),
        Condition("flag", "equals", "maybe"),
        Condition("title", "between", ("a", "b")),
        Condition("year", "between", ("2020", "2010")),
        Condition("title", "regex", "(unclosed"),
        Condition("nope", "equals", "1"),
    ],
)
def test_bad_values_are_the_masks_one_line_errors(
    ds: LargeDataset, truth: pd.DataFrame, cond: Condition
) -> None:
    with pytest.raises(InputError) as pandas_err:
        apply_filters(truth, [cond])
    with pytest.raises(InputError) as sql_err:
        ds.count([cond])
    assert str(sql_err.value) == str(pandas_err.value)


def test_a_pattern_re2_cannot_run_is_one_line(ds: LargeDataset) -> None:
    with pytest.raises(InputError) as err:
        ds.count([Condition("title", "regex", r"(G)raph\1")])
    line = str(err.value)
    assert line.startswith(r"filter on 'title': regular expression '(G)raph\1' cannot be used")
    assert "\n" not in line


INJECTIONS = [
    "x' OR '1'='1",
    "'; DROP TABLE t; --",
    "x') OR TRUE OR ('",
    '" OR 1=1 --',
    "x'); DROP",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_values_are_bound_parameters_not_sql(
    ds: LargeDataset, truth: pd.DataFrame, value: str
) -> None:
    for op in ("equals", "contains", "in", "regex"):
        cond = Condition("title", op, [value] if op == "in" else value)  # type: ignore[arg-type]
        if op == "regex":
            cond = Condition("title", "regex", value.replace("(", "").replace(")", ""))
        assert _sql_ids(ds, [cond]) == _pandas_ids(truth, [cond]), str(cond)
    assert (
        ds.count([Condition("title", "equals", "x'); DROP")])
        == (truth["title"] == "x'); DROP").sum()
    )
    assert ds.count([Condition("title", "not_equals", value)]) == ROWS - ds.count(
        [Condition("title", "equals", value)]
    )
    assert ds.count(search=value) == len(_pandas_ids(truth, [], value))
    assert ds.rows == ROWS


@pytest.mark.parametrize("name", ['title" OR 1=1 --', "id) OR (TRUE", "*", 'x"; DROP TABLE t'])
def test_unknown_column_names_are_refused_before_sql(ds: LargeDataset, name: str) -> None:
    with pytest.raises(InputError, match="is not in the dataset"):
        ds.count([Condition(name, "equals", "1")])
    with pytest.raises(InputError, match="is not in large"):
        ds.facet(name)
    with pytest.raises(InputError, match="id column"):
        next(ds.iter_ids([], name))


def test_odd_column_names_are_quoted_identifiers(tmp_path: Path) -> None:
    odd = {'a "quoted" name': ["x", "y", "z"], "select": [1, 2, 3], "id": ["1", "2", "3"]}
    pd.DataFrame(odd).to_parquet(tmp_path / "odd.parquet")
    small = open_parquet(tmp_path / "odd.parquet")
    assert small.count([Condition('a "quoted" name', "equals", "y")]) == 1
    assert small.count([Condition("select", "between", (2, None))]) == 2
    assert small.page(offset=1, limit=1).to_dict("records") == [
        {'a "quoted" name': "y", "select": 2, "id": "2"}
    ]


def test_pages_are_the_filtered_rows_in_file_order(ds: LargeDataset, truth: pd.DataFrame) -> None:
    conds = [Condition("year", "between", ("2017", "2022"))]
    expected = truth.loc[apply_filters(truth, conds)].reset_index(drop=True)
    pages = [ds.page(conds, offset=o, limit=50) for o in range(0, len(expected) + 50, 50)]
    assert [len(p) for p in pages[:-1]] == [50] * (len(pages) - 1) or len(pages[-1]) == 0
    whole = pd.concat(pages)
    assert whole.index.tolist() == list(range(len(expected)))
    assert whole["id"].tolist() == expected["id"].tolist()
    assert whole["source_id"].tolist() == expected["source_id"].tolist()  # "7", not "7.0"
    assert ds.page(conds, offset=50, limit=50).equals(pages[1])  # the same on every call
    assert ds.page(conds, offset=10_000).empty


def test_samples_are_deterministic_spread_and_filtered(
    ds: LargeDataset, truth: pd.DataFrame
) -> None:
    conds = [Condition("flag", "equals", "true")]
    allowed = set(_pandas_ids(truth, conds))
    first = ds.sample(conds, rows=100, seed=1)
    assert first.equals(ds.sample(conds, rows=100, seed=1))
    assert 60 <= len(first) <= 100
    assert set(first["id"]) <= allowed
    place = {row_id: pos for pos, row_id in enumerate(truth["id"])}
    positions = [place[i] for i in first["id"]]
    assert positions == sorted(positions)  # file order
    assert positions[0] < ROWS // 4 and positions[-1] > 3 * ROWS // 4  # spread over the files
    other = ds.sample(conds, rows=100, seed=2)
    assert set(other["id"]) != set(first["id"])
    assert set(ds.sample(conds, rows=10_000)["id"]) == allowed  # fewer rows than asked: all


def test_facets_count_the_filtered_rows(ds: LargeDataset, truth: pd.DataFrame) -> None:
    conds = [Condition("year", "between", ("2018", None))]
    got = ds.facet("field", conds, top=2)
    counts = truth.loc[apply_filters(truth, conds), "field"].astype(str).value_counts()
    expected = counts.sort_index().sort_values(ascending=False, kind="stable").head(2)
    assert list(zip(got["value"], got["rows"], strict=True)) == list(expected.items())
    title = ds.facet("title", top=100)
    assert title["rows"].sum() == ROWS and title["value"].isna().sum() == 1  # missing: a value


def test_iter_ids_streams_exactly_the_filtered_ids(ds: LargeDataset, truth: pd.DataFrame) -> None:
    conds = [Condition("title", "not_null"), Condition("score", "between", ("3", None))]
    chunks = list(ds.iter_ids(conds, "id", chunk=37))
    assert all(isinstance(c, pa.Array) and c.type == pa.large_string() for c in chunks)
    assert all(len(c) <= 37 for c in chunks) and len(chunks) > 2
    streamed = list(itertools.chain.from_iterable(c.to_pylist() for c in chunks))
    assert streamed == _pandas_ids(truth, conds)


def test_iter_ids_reads_float_ids_as_text_and_skips_missing(tmp_path: Path) -> None:
    pd.DataFrame({"key": [7.0, None, 8.5, 9.0], "n": [1, 2, 3, 4]}).to_parquet(tmp_path / "k.pq")
    pd.DataFrame({"key": [" 10 ", "  ", None], "n": [5, 6, 7]}).to_parquet(tmp_path / "s.pq")
    floats = open_parquet(tmp_path / "k.pq", id_column="key")
    assert [a.to_pylist() for a in floats.iter_ids([], "key")] == [["7", "8.5", "9"]]
    text = open_parquet(tmp_path / "s.pq")
    assert [a.to_pylist() for a in text.iter_ids([], "key")] == [["10"]]


def test_a_glob_and_a_single_file_open_too(folder: Path) -> None:
    by_glob = open_parquet(str(folder / "part-*.parquet"))
    assert len(by_glob.files) == 2 and by_glob.rows == 400
    one = open_parquet(folder / "part-0.parquet")
    assert one.rows == 200
    assert one.page(limit=500)["id"].tolist() == load_dataset(one.files[0])["id"].tolist()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.parquet", "missing.parquet does not exist: check the path"),
        (lambda p: p, "holds no .parquet files: choose a folder of Parquet files"),
        (lambda p: str(p / "nope-*.parquet"), "no file matches"),
    ],
)
def test_what_cannot_be_opened_is_one_line(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(DatasetError, match=message.replace(".", r"\.")):
        open_parquet(make(tmp_path))  # type: ignore[operator]


def test_a_corrupt_file_or_missing_id_column_is_one_line(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DatasetError) as err:
        open_parquet(tmp_path / "bad.parquet")
    assert str(err.value).startswith("bad.parquet cannot be read as Parquet:")
    with pytest.raises(DatasetError, match="id column 'uuid' is not in large"):
        open_parquet(folder, id_column="uuid")


def test_open_dataset_sends_folders_globs_and_big_parquet_to_duckdb(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = folder / "part-0.parquet"
    assert isinstance(open_dataset(one), pd.DataFrame)  # under the threshold: pandas
    assert isinstance(open_dataset(folder), LargeDataset)
    assert isinstance(open_dataset(str(folder / "*.parquet")), LargeDataset)
    monkeypatch.setenv("TAGGING_DUCKDB_OVER_MB", "0.001")
    big = open_dataset(one, id_column="id")
    assert isinstance(big, LargeDataset) and big.rows == 200
    csv = folder.parent / "small.csv"
    csv.write_text("id,x\n1,2\n")
    assert isinstance(open_dataset(csv), pd.DataFrame)  # only Parquet goes to DuckDB


def test_a_hive_partitioned_folder_reads_its_partitions_as_a_column(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    frame = _frame(90)
    table = pa.Table.from_pandas(frame[["id", "year", "flag"]].assign(part=frame["year"] % 3))
    pq.write_to_dataset(table, tmp_path / "hive", partition_cols=["part"])
    ds = open_parquet(tmp_path / "hive")
    assert set(ds.columns) == {"id", "year", "flag", "part"} and ds.rows == 90
    expected = set(frame.loc[frame["year"] % 3 == 1, "id"])
    got = {
        i
        for chunk in ds.iter_ids([Condition("part", "equals", "1")], "id")
        for i in chunk.to_pylist()
    }
    assert got == expected


def test_the_readme_snippet_runs(tmp_path: Path) -> None:
    import re
    import subprocess

    from tagging.demo import atlas_frame

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (snippet,) = [
        b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "open_parquet" in b
    ]
    (tmp_path / "events").mkdir()
    frame = atlas_frame(2_000)
    frame.iloc[:1_000].to_parquet(tmp_path / "events" / "a.parquet")
    frame.iloc[1_000:].to_parquet(tmp_path / "events" / "b.parquet")
    code = snippet + "\nprint(len(ids), len(first), op.action)\n"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    conds = [Condition("field", "in", ["cs.LG"]), Condition("year", "between", (2019, None))]
    n = int(apply_filters(frame, conds).sum())
    assert done.stdout.split() == ["2000", str(n), str(n), "20", "add"]
