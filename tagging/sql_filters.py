"""Filter specs -> one parameterised SQL predicate with the pandas masks' meaning (filters.py).

Usage::

    from tagging.sql_filters import SqlColumn, sql_where

    columns = {"year": SqlColumn('"year"', '"year"', pd.Series(dtype="int64")), ...}
    where, params = sql_where(conditions, columns, search="graph")
    con.sql(f"SELECT count(*) FROM t WHERE {where}", params=params)

Each column comes with an empty pandas Series of the dtype pandas would load it as, so values
are coerced, and refused, exactly as the masks do (the same InputError lines); every value is
a bound parameter and a column the dataset lacks is refused before any SQL is written. The
SQL is DuckDB's (``contains``, ``regexp_matches``, ``trim`` with a character list, ``isnan``).

Where the two can differ: ``regex`` runs RE2 (no backreferences or look-around: DuckDB says so
and the dataset turns that into one line), and ``contains``/``regex`` on a number or date
column match DuckDB's text of the value (``2020-01-01 00:00:00``), which pandas may format
differently; the menus offer neither operator on such columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tagging.errors import InputError
from tagging.filters import (
    Condition,
    as_list,
    between_bounds,
    coerce_value,
    is_text,
    regex_pattern,
)

# Python's str.strip() whitespace (every c.isspace()), so "blank" means what it does to masks.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class SqlColumn:
    """How a column reads in SQL: its value, its text (for text matching), and an empty
    Series of the dtype pandas would give it (to coerce values as the masks do)."""

    value: str  # SQL expression of the value pandas would hold
    text: str  # SQL expression of that value as text
    empty: pd.Series

    @property
    def is_text(self) -> bool:
        return is_text(self.empty)

    @property
    def is_float(self) -> bool:
        return pd.api.types.is_float_dtype(self.empty.dtype)

    @property
    def searchable(self) -> bool:
        return self.is_text or isinstance(self.empty.dtype, pd.CategoricalDtype)


def quote(name: str) -> str:
    """A column name as a SQL identifier: quoted, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_where(
    conditions: Iterable[Condition],
    columns: Mapping[str, SqlColumn],
    search: str | None = None,
) -> tuple[str, list[Any]]:
    """(predicate, params) for a WHERE: every condition AND the free-text search ("TRUE"
    for none). A part may be NULL for a missing value, which WHERE drops like False; no
    COALESCE at the top, which would stop DuckDB pushing the filter into the Parquet scan."""
    parts: list[str] = []
    params: list[Any] = []
    for cond in conditions:
        if cond.column not in columns:
            raise InputError(f"filter column '{cond.column}' is not in the dataset")
        sql, values = condition_sql(cond, columns[cond.column])
        parts.append(sql)  # NULL (a missing value) drops the row, as a False would
        params += values
    if search is not None and search.strip():
        sql, values = _search(search.strip(), columns)
        parts.append(sql)
        params += values
    return (" AND ".join(parts) or "TRUE"), params


def condition_sql(cond: Condition, col: SqlColumn) -> tuple[str, list[Any]]:
    """One condition as (SQL, params); it may be NULL where the value is missing."""
    op, column = cond.op, cond.column
    if op == "is_null":
        return _null(col)
    if op == "not_null":
        sql, params = _null(col)
        return f"NOT ({sql})", params
    if op in ("equals", "not_equals"):
        sql, params = _equals(col, cond.value, column)
        return (sql, params) if op == "equals" else (f"NOT COALESCE({sql}, FALSE)", params)
    if op == "in":
        values = [coerce_value(col.empty, v, column) for v in as_list(cond.value)]
        if not values:
            return "FALSE", []
        marks = ", ".join("?" for _ in values)
        if col.is_text:
            return f"{col.text} IN ({marks})", [str(v) for v in values]
        return f"{col.value} IN ({marks})", [_param(v) for v in values]
    if op == "contains":
        text = "" if cond.value is None else str(cond.value)
        return f"contains(lower({col.text}), lower(?))", [text]
    if op == "regex":
        return f"regexp_matches({col.text}, ?)", [regex_pattern(cond.value, column)]
    low, high = between_bounds(col.empty, cond.value, column)
    parts, params = [f"{col.value} IS NOT NULL"], []
    if col.is_float:
        parts.append(f"NOT isnan({col.value})")  # pandas: NaN is missing, never in range
    for bound, sign in ((low, ">="), (high, "<=")):
        if bound is not None:
            parts.append(f"{col.value} {sign} ?")
            params.append(_param(bound))
    return " AND ".join(parts), params


def _null(col: SqlColumn) -> tuple[str, list[Any]]:
    if col.is_text:
        return f"({col.text} IS NULL OR {blank_sql(col.text)})", [WHITESPACE, WHITESPACE]
    if col.is_float:
        return f"({col.value} IS NULL OR isnan({col.value}))", []
    return f"{col.value} IS NULL", []


def blank_sql(text: str) -> str:
    """SQL true where ``text`` is empty or only whitespace; two params, both WHITESPACE.
    The trim runs only on values that start with whitespace: DuckDB's trim with a character
    list is slow (about 40 s over 30M values)."""
    return (
        f"CASE WHEN {text} = '' THEN TRUE WHEN NOT contains(?, {text}[1]) THEN FALSE "
        f"ELSE trim({text}, ?) = '' END"
    )


def _equals(col: SqlColumn, value: Any, column: str) -> tuple[str, list[Any]]:
    coerced = coerce_value(col.empty, value, column)
    if col.is_text:
        return f"{col.text} = ?", [str(coerced)]
    if col.is_float:  # DuckDB holds NaN = NaN; pandas never matches a missing value
        return f"({col.value} = ? AND NOT isnan({col.value}))", [_param(coerced)]
    return f"{col.value} = ?", [_param(coerced)]


def _search(text: str, columns: Mapping[str, SqlColumn]) -> tuple[str, list[Any]]:
    hits = [f"COALESCE(contains(lower({c.text}), lower(?)), FALSE)" for c in columns.values()
            if c.searchable]  # fmt: skip
    if not hits:
        return "FALSE", []
    return "(" + " OR ".join(hits) + ")", [text] * len(hits)


def _param(value: Any) -> Any:
    """A coerced value as DuckDB binds it: Timestamps as datetimes (microseconds)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
