"""Filter specs -> boolean masks. Vectorised; user text is never passed to eval/query.

Usage::

    from tagging.filters import Condition, apply_filters, operators_for

    conds = [
        Condition("field", "in", ["cs.LG", "cs.CL"]),
        Condition("year", "between", ("2019", None)),   # widget strings are coerced
        Condition("title", "contains", "graph"),          # literal, case-insensitive
        Condition("title", "regex", r"^Sparse"),          # Python regex, case-sensitive
        Condition("citations", "not_null"),
    ]
    mask = apply_filters(df, conds, search="bayesian")    # AND of all; search over text columns
    selected = df.loc[mask, "id"]
    operators_for(df["year"])   # ops that make sense for the column, for a selectbox
    str(conds[1])               # "year between 2019 and …" for a chip

Values from widgets arrive as strings; they are converted to the column's type, and a value
that does not fit raises :class:`tagging.errors.InputError` with one line naming the column.
"""

from __future__ import annotations

import datetime
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from tagging.errors import InputError

Op = Literal["equals", "not_equals", "in", "contains", "regex", "between", "is_null", "not_null"]
OPS: tuple[str, ...] = get_args(Op)
OP_LABELS: dict[str, str] = {
    "equals": "=",
    "not_equals": "≠",
    "in": "is one of",
    "contains": "contains",
    "regex": "matches regex",
    "between": "between",
    "is_null": "is empty",
    "not_null": "is not empty",
}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class Condition:
    """One filter: ``column`` ``op`` ``value``.

    value: equals/not_equals/contains/regex: a scalar (usually a string);
           in: a list of values; between: ``(low, high)``, either end None/"" for open;
           is_null/not_null: ignored.
    Nulls: ``is_null`` matches missing values and blank text; ``not_equals`` is the exact
    complement of ``equals`` (so it keeps nulls).
    """

    column: str
    op: Op
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise InputError(f"unknown filter operator '{self.op}': use one of {', '.join(OPS)}")
        if self.op == "in" and isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))  # stay hashable

    def __str__(self) -> str:
        if self.op in ("is_null", "not_null"):
            return f"{self.column} {OP_LABELS[self.op]}"
        if self.op == "between":
            low, high = _bounds(self.value, self.column)
            return f"{self.column} between {_show(low)} and {_show(high)}"
        if self.op == "in":
            return f"{self.column} is one of {', '.join(map(str, as_list(self.value)))}"
        return f"{self.column} {OP_LABELS[self.op]} {self.value}"


_ALIASES = {
    "=": "equals",
    "==": "equals",
    "!=": "not_equals",
    "≠": "not_equals",
    "<>": "not_equals",
}
_WHERE = re.compile(
    r"^\s*(?P<column>.+?)\s+(?P<op>"
    + "|".join(re.escape(o) for o in sorted([*OPS, *_ALIASES], key=len, reverse=True))
    + r")(?:\s+(?P<value>.*?))?\s*$",
    re.S,
)
NO_VALUE = ("is_null", "not_null")


def parse_condition(text: str, flag: str = "--where") -> Condition:
    """A condition written as ``COLUMN OPERATOR VALUE`` (the CLI's ``--where``): operators by
    name (``field in cs.LG, cs.CL``, ``year between 2019, 2022``, ``title is_null``) or as
    ``=`` / ``!=``; lists and ranges as "a, b" (an open range: "2019," or ", 2022")."""
    match = _WHERE.match(text)
    if match is None:
        raise InputError(
            f"{flag} {text!r}: write COLUMN OPERATOR VALUE, e.g. 'field in cs.LG, cs.CL'; "
            f"operators: {', '.join(OPS)} (or = and !=)"
        )
    op = _ALIASES.get(match["op"], match["op"])
    return condition_from_text(match["column"], op, match["value"] or "")


def condition_from_text(column: str, op: str, text: str) -> Condition:
    """A Condition from a column, an operator and typed text: lists and ranges as "a, b"."""
    if op in NO_VALUE:
        return Condition(column, op)  # type: ignore[arg-type]
    parts = [p.strip() for p in text.split(",")]
    value: Any = text.strip()
    if op == "in":
        value = [p for p in parts if p]
    elif op == "between":
        low, high = (parts + [""])[:2]
        value = (low or None, high or None)
    return Condition(column, op, value)  # type: ignore[arg-type]


def apply_filters(
    df: pd.DataFrame, conditions: Iterable[Condition] = (), search: str | None = None
) -> pd.Series:
    """Boolean mask (aligned to ``df.index``): every condition AND the free-text search."""
    mask = pd.Series(True, index=df.index)
    for cond in conditions:
        mask &= condition_mask(df, cond)
    if search is not None and search.strip():
        mask &= search_mask(df, search.strip())
    return mask


def condition_mask(df: pd.DataFrame, cond: Condition) -> pd.Series:
    """The rows matching one condition (never NA: missing values do not match)."""
    if cond.column not in df.columns:
        raise InputError(f"filter column '{cond.column}' is not in the dataset")
    s = df[cond.column]
    op = cond.op
    if op == "is_null":
        return _null_mask(s)
    if op == "not_null":
        return ~_null_mask(s)
    if op == "equals":
        return _equals(s, cond.value, cond.column)
    if op == "not_equals":
        return ~_equals(s, cond.value, cond.column)
    if op == "in":
        values = [coerce_value(s, v, cond.column) for v in as_list(cond.value)]
        if is_text(s):
            return _as_text(s).isin([str(v) for v in values]).fillna(False).astype(bool)
        return s.isin(values).fillna(False).astype(bool)
    if op == "contains":
        text = "" if cond.value is None else str(cond.value)
        return _as_text(s).str.contains(text, case=False, regex=False, na=False).astype(bool)
    if op == "regex":
        return _regex(s, cond.value, cond.column)
    return _between(s, cond.value, cond.column)


def search_mask(df: pd.DataFrame, text: str) -> pd.Series:
    """Rows where any text column contains ``text`` (literal, case-insensitive)."""
    mask = pd.Series(False, index=df.index)
    for col in df.columns:
        s = df[col]
        if is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
            mask |= _as_text(s).str.contains(text, case=False, regex=False, na=False).astype(bool)
    return mask


def operators_for(series: pd.Series) -> tuple[str, ...]:
    """The operators that make sense for a column's dtype, in menu order."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return ("equals", "not_equals", "is_null", "not_null")
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return ("between", "equals", "not_equals", "in", "is_null", "not_null")
    return ("contains", "equals", "not_equals", "in", "regex", "is_null", "not_null")


# --- helpers ---------------------------------------------------------------------------------


def is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype)


def _as_text(s: pd.Series) -> pd.Series:
    """Strings for matching; NA stays NA (object columns may mix ints and strings)."""
    if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
        return s
    return s.astype("str").where(s.notna())


def _null_mask(s: pd.Series) -> pd.Series:
    mask = s.isna()
    if is_text(s):
        mask |= _as_text(s).str.strip().eq("").fillna(False).astype(bool)
    return mask.astype(bool)


def _equals(s: pd.Series, value: Any, column: str) -> pd.Series:
    coerced = coerce_value(s, value, column)
    if is_text(s):
        return _as_text(s).eq(str(coerced)).fillna(False).astype(bool)
    return s.eq(coerced).fillna(False).astype(bool)


def regex_pattern(pattern: Any, column: str) -> str:
    """The pattern as text, refused in one line when Python cannot compile it."""
    text = "" if pattern is None else str(pattern)
    try:
        re.compile(text)
    except re.error as exc:
        raise InputError(
            f"filter on '{column}': invalid regular expression '{text}': {exc}"
        ) from exc
    return text


def _regex(s: pd.Series, pattern: Any, column: str) -> pd.Series:
    text = regex_pattern(pattern, column)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "has match groups": we only test
        try:
            return _as_text(s).str.contains(text, regex=True, na=False).astype(bool)
        except (ValueError, re.error) as exc:
            raise InputError(
                f"filter on '{column}': regular expression '{text}' cannot be used: {exc}"
            ) from exc


def _between(s: pd.Series, value: Any, column: str) -> pd.Series:
    low, high = between_bounds(s, value, column)
    mask = s.notna()
    if low is not None:
        mask &= s >= low
    if high is not None:
        mask &= s <= high
    return mask.fillna(False).astype(bool)


def between_bounds(s: pd.Series, value: Any, column: str) -> tuple[Any, Any]:
    """The (low, high) a 'between' on ``s`` compares with, inclusive, either None for open;
    a date-only upper bound covers its whole day. Shared by the masks and sql_filters.py."""
    if not (
        pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype)
    ) or pd.api.types.is_bool_dtype(s.dtype):
        raise InputError(
            f"filter on '{column}': 'between' needs a number or date column; "
            f"use 'contains' or 'in' for text"
        )
    raw_low, raw_high = _bounds(value, column)
    low = None if _blank(raw_low) else coerce_value(s, raw_low, column)
    high = None if _blank(raw_high) else coerce_value(s, raw_high, column)
    if isinstance(high, pd.Timestamp) and _is_date_only(raw_high):
        high = high + pd.Timedelta(days=1) - pd.Timedelta(1, unit="ns")  # the whole last day
    if low is not None and high is not None and low > high:
        raise InputError(
            f"filter on '{column}': lower bound {_show(low)} is above upper bound {_show(high)}"
        )
    return low, high


def _is_date_only(value: Any) -> bool:
    """A bound given as a day (``"2020-05-01"``, a ``date``), not a moment."""
    if isinstance(value, str):
        return len(value.strip()) <= 10
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def _bounds(value: Any, column: str) -> tuple[Any, Any]:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return value[0], value[1]
    raise InputError(
        f"filter on '{column}': 'between' needs two bounds (low, high); leave one empty for "
        f"an open range"
    )


def coerce_value(s: pd.Series, value: Any, column: str) -> Any:
    """A widget value converted to the column's type; InputError when it does not fit."""
    dtype = s.dtype
    if _blank(value) and not is_text(s):
        raise InputError(f"filter on '{column}': enter a value")
    if pd.api.types.is_bool_dtype(dtype):
        if isinstance(value, bool | np.bool_):
            return bool(value)
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InputError(f"filter on '{column}': '{value}' is not true or false")
    if pd.api.types.is_numeric_dtype(dtype):
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            return value
        text = str(value).strip().replace(",", "").replace("_", "")
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                continue
        raise InputError(f"filter on '{column}': '{value}' is not a number")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise InputError(
                f"filter on '{column}': '{value}' is not a date (use YYYY-MM-DD)"
            ) from None
        if stamp is pd.NaT:
            raise InputError(f"filter on '{column}': enter a date (YYYY-MM-DD)")
        tz = getattr(dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        elif tz is None and stamp.tzinfo is not None:
            stamp = stamp.tz_convert(None)
        return stamp
    return "" if value is None else str(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "…"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
