"""A Parquet dataset larger than memory, queried through DuckDB instead of loaded into pandas.

Usage::

    from tagging.large_dataset import open_parquet

    ds = open_parquet("events/")                 # a .parquet file, a folder of them, or a glob
    ds.rows, ds.columns                          # from the files' footers: nothing is loaded
    conds = [Condition("field", "in", ["cs.LG"]), Condition("year", "between", (2019, None))]
    ds.count(conds)                              # filters run as parameterised SQL
    ds.page(conds, offset=0, limit=100)          # a pandas frame of those rows, in file order
    ds.sample(conds, rows=100_000)               # about that many rows, the same every call
    ds.facet("field", conds, top=20)             # [value, rows], most rows first
    for ids in ds.iter_ids(conds, "id"):         # pyarrow large_string arrays of <= chunk ids
        ...

Filters mean what the pandas masks mean (sql_filters.py), and columns read as load_dataset
would give them: id-like columns as id text (``7.0`` -> ``"7"``). Rows come in the files'
order (DuckDB's insertion order), so a page or a sample is the same on every call.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tagging.columns import ID_NAME, to_id_strings
from tagging.errors import DatasetError, InputError
from tagging.filters import Condition, operators_for
from tagging.sql_filters import SqlColumn, quote, sql_where

if TYPE_CHECKING:
    import duckdb

MEMORY_ENV = "TAGGING_DUCKDB_MEMORY_MB"
DEFAULT_MEMORY_MB = 1024
DEFAULT_CHUNK = 100_000
_GLOB = re.compile(r"[*?\[]")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")  # pandas' saved index: not a column


@dataclass(eq=False)
class LargeDataset:
    """Parquet files read through one DuckDB database; every query its own cursor (so
    Streamlit sessions on threads can share it). Build with :func:`open_parquet`."""

    label: str
    files: tuple[str, ...]
    columns: list[str]
    sql_columns: dict[str, SqlColumn]
    _db: duckdb.DuckDBPyConnection = field(repr=False)

    @cached_property
    def rows(self) -> int:
        return self.count()

    @property
    def empty(self) -> pd.DataFrame:
        """No rows, each column of the dtype pandas would load it as (for menus)."""
        return pd.DataFrame({name: col.empty for name, col in self.sql_columns.items()})

    def operators_for(self, column: str) -> tuple[str, ...]:
        return operators_for(self._column(column).empty)

    def count(self, conditions: Iterable[Condition] = (), search: str | None = None) -> int:
        where, params = self._where(conditions, search)
        ((n,),) = self._fetch(f"SELECT count(*) FROM {self._source} WHERE {where}", params)
        return int(n)

    def page(
        self,
        conditions: Iterable[Condition] = (),
        search: str | None = None,
        *,
        offset: int = 0,
        limit: int = 100,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Filtered rows ``offset`` .. ``offset + limit`` in file order, indexed by their
        position among the filtered rows."""
        where, params = self._where(conditions, search)
        sql = f"SELECT {self._select(columns)} FROM {self._source} WHERE {where} LIMIT ? OFFSET ?"
        frame = self._frame(sql, [*params, max(0, int(limit)), max(0, int(offset))])
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        return frame

    def sample(
        self,
        conditions: Iterable[Condition] = (),
        search: str | None = None,
        *,
        rows: int = 100_000,
        seed: int = 0,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """About ``rows`` of the filtered rows (all of them when fewer), spread over the
        dataset, in file order: each row is kept by a hash of its place in the files and the
        seed, so the sample does not depend on DuckDB's threads."""
        conditions = list(conditions)
        matching = self.count(conditions, search)
        if matching <= rows:
            return self.page(conditions, search, limit=rows, columns=columns)
        where, params = self._where(conditions, search)
        below = int(2**64 * rows / matching)  # hash() is a UBIGINT: keep rows/matching of them
        sql = (
            f"SELECT {self._select(columns)} FROM {self._source} WHERE {where} "
            "AND hash(file_index, file_row_number, ?) < ? LIMIT ?"
        )
        return self._frame(sql, [*params, int(seed), below, int(rows)])

    def facet(
        self,
        column: str,
        conditions: Iterable[Condition] = (),
        search: str | None = None,
        *,
        top: int = 20,
    ) -> pd.DataFrame:
        """The ``top`` most frequent values of a column among the filtered rows:
        columns ``value`` and ``rows``, most rows first (ties by value, missing last)."""
        value = self._column(column).value
        where, params = self._where(conditions, search)
        sql = (
            f"SELECT {value} AS value, count(*) AS rows FROM {self._source} WHERE {where} "
            "GROUP BY 1 ORDER BY rows DESC, value NULLS LAST LIMIT ?"
        )
        return self._frame(sql, [*params, int(top)], convert=False)

    def iter_ids(
        self,
        conditions: Iterable[Condition] = (),
        id_column: str = "id",
        chunk: int = DEFAULT_CHUNK,
        search: str | None = None,
    ) -> Iterator[pa.Array]:
        """The filtered rows' ids as text (stripped; rows without an id skipped), in file
        order, streamed as pyarrow ``large_string`` arrays of at most ``chunk`` ids: memory
        stays bounded however many rows match."""
        for ids, _ in self._stream_ids(conditions, id_column, None, chunk, search):
            yield ids

    def iter_ids_and_kinds(
        self,
        conditions: Iterable[Condition],
        id_column: str,
        kind_column: str,
        chunk: int = DEFAULT_CHUNK,
        search: str | None = None,
    ) -> Iterator[tuple[pa.Array, pa.Array]]:
        """As :meth:`iter_ids`, with each id's kind (Nekt resource type, Immuta model type)
        from ``kind_column`` as stripped text beside it."""
        for ids, kinds in self._stream_ids(conditions, id_column, kind_column, chunk, search):
            assert kinds is not None
            yield ids, kinds

    def collect_ids(
        self,
        conditions: Iterable[Condition] = (),
        id_column: str = "id",
        kind_column: str | None = None,
        search: str | None = None,
    ) -> tuple[pd.Series, pd.Series | None]:
        """Every filtered id (and kind) as one text Series over the streamed arrow chunks:
        what a TagOperation takes, with no Python string per id."""
        ids: list[pa.Array] = []
        kinds: list[pa.Array] = []
        for id_chunk, kind_chunk in self._stream_ids(
            conditions, id_column, kind_column, DEFAULT_CHUNK, search
        ):
            ids.append(id_chunk)
            if kind_chunk is not None:
                kinds.append(kind_chunk)
        return _text(ids), (_text(kinds) if kind_column is not None else None)

    def close(self) -> None:
        self._db.close()

    # --- helpers ---------------------------------------------------------------------------

    def _stream_ids(
        self,
        conditions: Iterable[Condition],
        id_column: str,
        kind_column: str | None,
        chunk: int,
        search: str | None,
    ) -> Iterator[tuple[pa.Array, pa.Array | None]]:
        text = self._column(id_column, "id column").text
        kind = self._column(kind_column, "type column").text if kind_column else "NULL"
        where, params = self._where(conditions, search)
        sql = (
            f"SELECT {text} AS id, {kind} AS kind FROM {self._source} "
            f"WHERE {where} AND {text} IS NOT NULL"
        )
        cursor = self._db.cursor()
        try:
            reader = _run(lambda: cursor.sql(sql, params=params).to_arrow_reader(chunk), self.label)
            for batch in reader:
                # Stripped here: DuckDB's trim with Python's whitespace list is far slower.
                ids = pc.utf8_trim_whitespace(batch.column(0).cast(pa.large_string()))
                keep = pc.not_equal(ids, "")
                kinds = None
                if kind_column is not None:
                    kinds = pc.utf8_trim_whitespace(batch.column(1).cast(pa.large_string()))
                    kinds = kinds.filter(keep)
                ids = ids.filter(keep)
                if len(ids):
                    yield ids, kinds
        finally:
            cursor.close()

    @property
    def _source(self) -> str:
        """The FROM clause; the file list is always the first param. Several files are
        matched by column name (their columns may differ in order, or be missing)."""
        return "read_parquet(?, union_by_name = true)" if len(self.files) > 1 else "read_parquet(?)"

    def _column(self, name: str, what: str = "column") -> SqlColumn:
        if name not in self.sql_columns:
            shown = ", ".join(self.columns[:12]) + (", ..." if len(self.columns) > 12 else "")
            raise InputError(f"{what} '{name}' is not in {self.label}; its columns are: {shown}")
        return self.sql_columns[name]

    def _where(self, conditions: Iterable[Condition], search: str | None) -> tuple[str, list[Any]]:
        """The predicate and its params, the file list first; a pattern RE2 cannot run is
        refused here in one line, before the scan."""
        conditions = list(conditions)
        where, params = sql_where(conditions, self.sql_columns, search)
        for cond in conditions:
            if cond.op == "regex":
                self._check_pattern(cond)
        return where, [list(self.files), *params]

    def _check_pattern(self, cond: Condition) -> None:
        import duckdb

        cursor = self._db.cursor()
        try:
            cursor.sql("SELECT regexp_matches('', ?)", params=[str(cond.value)]).fetchall()
        except duckdb.Error as exc:
            raise InputError(
                f"filter on '{cond.column}': regular expression '{cond.value}' cannot be used "
                f"on a large dataset (RE2 syntax: no backreferences or look-around): "
                f"{_first_line(exc)}"
            ) from None
        finally:
            cursor.close()

    def _select(self, columns: Sequence[str] | None) -> str:
        names = self.columns if columns is None else list(columns)
        return ", ".join(f"{self._column(n).value} AS {quote(n)}" for n in names)

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        cursor = self._db.cursor()
        try:
            return _run(lambda: cursor.sql(sql, params=params).fetchall(), self.label)
        finally:
            cursor.close()

    def _frame(self, sql: str, params: list[Any], convert: bool = True) -> pd.DataFrame:
        cursor = self._db.cursor()
        try:
            table = _run(lambda: cursor.sql(sql, params=params).to_arrow_table(), self.label)
        finally:
            cursor.close()
        frame = table.to_pandas()
        if convert:  # the dtypes load_dataset would give (categories, id text)
            for name in frame.columns:
                want = self.sql_columns[name].empty.dtype
                if isinstance(want, pd.CategoricalDtype):
                    frame[name] = frame[name].astype("category")
                elif pd.api.types.is_string_dtype(want) and ID_NAME.search(name):
                    frame[name] = to_id_strings(frame[name])
        return frame


def open_parquet(
    source: str | Path, *, id_column: str | None = None, memory_mb: int | None = None
) -> LargeDataset:
    """Open a Parquet file, a folder of ``*.parquet`` files (searched recursively, Hive
    partitions read as columns) or a glob, without loading rows. Raises DatasetError."""
    import duckdb

    files, label = _files(source)
    db = duckdb.connect(config=_config(memory_mb))
    try:
        scan = "read_parquet(?, union_by_name = true)"
        relation = _run(lambda: db.sql(f"SELECT * FROM {scan} LIMIT 0", params=[list(files)]),
                        label)  # fmt: skip
        names = [str(n) for n in relation.columns]
        types = [str(t).upper() for t in relation.types]
        empty = _empty_frame(files[0], _run(relation.to_arrow_table, label), label)
    except DatasetError:
        db.close()
        raise
    keep = [i for i, n in enumerate(names) if not _PANDAS_INDEX.match(n)]
    columns = {names[i]: _sql_column(names[i], types[i], empty[names[i]]) for i in keep}
    dataset = LargeDataset(label, files, list(columns), columns, db)
    if id_column is not None and id_column not in columns:
        dataset.close()
        shown = ", ".join(list(columns)[:12]) + (", ..." if len(columns) > 12 else "")
        raise DatasetError(f"id column '{id_column}' is not in {label}; its columns are: {shown}")
    return dataset


def is_parquet_collection(source: str | Path) -> bool:
    """A folder or a glob (a path that does not exist as written): only DuckDB reads these
    as one table."""
    path = Path(source)
    return path.is_dir() or (bool(_GLOB.search(str(source))) and not path.exists())


# --- opening -------------------------------------------------------------------------------


def _files(source: str | Path) -> tuple[tuple[str, ...], str]:
    text = str(source)
    path = Path(source)
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in (".parquet", ".pq"))
        if not found:
            raise DatasetError(f"{path} holds no .parquet files: choose a folder of Parquet files")
        return tuple(found), path.name or text
    if _GLOB.search(text) and not path.exists():
        found = sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not found:
            raise DatasetError(f"no file matches {text}: check the pattern")
        return tuple(found), text
    if not path.exists():
        raise DatasetError(f"{path} does not exist: check the path")
    if not path.is_file():
        raise DatasetError(
            f"{path} is not a regular file (a pipe or a device): save the data to a file"
        )
    return (str(path),), path.name


def _empty_frame(first: str, scanned: pa.Table, label: str) -> pd.DataFrame:
    """No rows, of the dtypes pd.read_parquet gives: the first file's own schema (with the
    pandas metadata: categories, nullable ints), DuckDB's for columns only other files have."""
    import pyarrow.parquet as pq

    try:
        own = pq.read_schema(first).empty_table().to_pandas()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{label} cannot be read as Parquet: {_first_line(exc)}") from None
    frame = scanned.to_pandas()
    for name in frame.columns:
        if name in own.columns:
            frame[name] = own[name]
    return frame


def _config(memory_mb: int | None) -> dict[str, Any]:
    """A bounded DuckDB: a memory limit (spilling to a temp folder beyond it), rows in file
    order."""
    if memory_mb is None:
        try:
            memory_mb = int(float(os.environ.get(MEMORY_ENV, "") or DEFAULT_MEMORY_MB))
        except ValueError:
            memory_mb = DEFAULT_MEMORY_MB
    return {
        "memory_limit": f"{max(64, memory_mb)}MB",
        "preserve_insertion_order": True,
        "temp_directory": str(Path(tempfile.gettempdir()) / "tagging-duckdb"),
    }


def _sql_column(name: str, sql_type: str, empty: pd.Series) -> SqlColumn:
    """How a column reads in SQL, matching load_dataset: id-like columns become id text."""
    ident = quote(name)
    text = _text_sql(ident, sql_type)
    if ID_NAME.search(name) and sql_type != "VARCHAR":
        if sql_type in ("DOUBLE", "FLOAT"):  # to_id_strings: integral floats lose ".0"
            text = (
                f"CASE WHEN isfinite({ident}) AND {ident} = trunc({ident}) "
                f"AND abs({ident}) < 9.2e18 THEN CAST(CAST({ident} AS BIGINT) AS VARCHAR) "
                f"ELSE {text} END"
            )
        return SqlColumn(text, text, pd.Series([], dtype="str"))
    return SqlColumn(ident, text, empty)


def _text_sql(ident: str, sql_type: str) -> str:
    if sql_type == "VARCHAR":
        return ident
    if sql_type == "BOOLEAN":  # pandas writes True/False
        return f"CASE WHEN {ident} THEN 'True' WHEN NOT {ident} THEN 'False' END"
    return f"CAST({ident} AS VARCHAR)"


def _text(chunks: list[pa.Array]) -> pd.Series:
    return pd.Series(pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str"))


def _run(call: Any, label: str) -> Any:
    """A DuckDB call whose failure becomes one DatasetError line naming the dataset."""
    import duckdb

    try:
        return call()
    except duckdb.Error as exc:
        raise DatasetError(f"{label} cannot be read as Parquet: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).strip().splitlines()[:1])[:300]
