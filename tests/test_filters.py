"""Every filter operator on a small frame, coercion errors, search, and a million rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tagging.errors import InputError
from tagging.filters import Condition, apply_filters, operators_for

DF = pd.DataFrame(
    {
        "id": ["0", "1", "2", "3", "4"],
        "title": ["Graph nets", "graph KERNELS", "Sparse a.b", None, "  "],
        "field": ["cs.LG", "cs.CL", "cs.LG", "stat.ML", None],
        "year": [2015, 2018, 2020, 2022, 2024],
        "score": [0.5, np.nan, 1.5, 2.0, 3.25],
        "published": pd.to_datetime(
            ["2015-01-01", "2018-06-30 12:00", "2020-02-29", "2022-12-31", None], format="ISO8601"
        ),
        "flag": [True, False, True, False, True],
        "mixed": pd.Series([1, "a", 2.5, None, "b"], dtype=object),
    }
)


def rows(*conds: Condition, search: str | None = None) -> list[str]:
    mask = apply_filters(DF, conds, search=search)
    assert mask.dtype == bool and mask.index.equals(DF.index)
    return DF.loc[mask, "id"].tolist()


def test_no_conditions_keeps_every_row() -> None:
    assert rows() == ["0", "1", "2", "3", "4"]
    assert rows(search="   ") == ["0", "1", "2", "3", "4"]


def test_equals_and_not_equals_are_complements() -> None:
    assert rows(Condition("field", "equals", "cs.LG")) == ["0", "2"]
    assert rows(Condition("field", "not_equals", "cs.LG")) == ["1", "3", "4"]
    assert rows(Condition("year", "equals", "2018")) == ["1"]  # widget string -> int
    assert rows(Condition("score", "equals", "1.5")) == ["2"]
    assert rows(Condition("flag", "equals", "yes")) == ["0", "2", "4"]
    assert rows(Condition("mixed", "equals", "1")) == ["0"]  # object column compared as text


def test_in() -> None:
    assert rows(Condition("field", "in", ["cs.CL", "stat.ML"])) == ["1", "3"]
    assert rows(Condition("year", "in", ["2015", "2024", "1999"])) == ["0", "4"]
    assert rows(Condition("field", "in", [])) == []
    assert rows(Condition("field", "in", "cs.CL")) == ["1"]  # a single string is one value


def test_contains_is_literal_and_case_insensitive() -> None:
    assert rows(Condition("title", "contains", "GRAPH")) == ["0", "1"]
    assert rows(Condition("title", "contains", "a.b")) == ["2"]  # "." is not a wildcard
    assert rows(Condition("title", "contains", ".*")) == []
    assert rows(Condition("year", "contains", "20")) == ["0", "1", "2", "3", "4"]


def test_regex() -> None:
    assert rows(Condition("title", "regex", r"^[Gg]raph")) == ["0", "1"]
    assert rows(Condition("title", "regex", "graph")) == ["1"]  # case-sensitive as written
    assert rows(Condition("title", "regex", "(?i)graph")) == ["0", "1"]
    assert rows(Condition("title", "regex", r"(a)\.(b)")) == ["2"]  # groups are fine


def test_bad_regex_is_one_line_input_error() -> None:
    with pytest.raises(InputError) as err:
        rows(Condition("title", "regex", "(unclosed"))
    assert str(err.value) == (
        "filter on 'title': invalid regular expression '(unclosed': missing ), unterminated "
        "subpattern at position 0"
    )


def test_between_numbers_and_dates_inclusive_with_open_ends() -> None:
    assert rows(Condition("year", "between", ("2018", "2022"))) == ["1", "2", "3"]
    assert rows(Condition("year", "between", ("2020", None))) == ["2", "3", "4"]
    assert rows(Condition("year", "between", ("", "2018"))) == ["0", "1"]
    assert rows(Condition("score", "between", (1, 3.25))) == ["2", "3", "4"]  # NaN never
    # a day as the upper bound includes that whole day
    assert rows(Condition("published", "between", ("2018-06-30", "2020-02-29"))) == ["1", "2"]
    assert rows(Condition("published", "between", (None, "2018-06-30 11:00"))) == ["0"]


def test_null_ops_treat_blank_text_as_empty() -> None:
    assert rows(Condition("title", "is_null")) == ["3", "4"]
    assert rows(Condition("title", "not_null")) == ["0", "1", "2"]
    assert rows(Condition("score", "is_null")) == ["1"]
    assert rows(Condition("published", "not_null")) == ["0", "1", "2", "3"]


def test_conditions_and_search_combine_with_and() -> None:
    conds = (Condition("field", "equals", "cs.LG"), Condition("year", "between", ("2016", "")))
    assert rows(*conds) == ["2"]
    assert rows(search="graph") == ["0", "1"]
    assert rows(search="CS.") == ["0", "1", "2"]  # field column, literal
    assert rows(Condition("year", "equals", "2015"), search="kernels") == []
    assert rows(search="(") == []  # literal: no regex error


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        (Condition("year", "equals", "twenty"), "filter on 'year': 'twenty' is not a number"),
        (Condition("year", "in", ["2015", "x"]), "filter on 'year': 'x' is not a number"),
        (Condition("year", "equals", ""), "filter on 'year': enter a value"),
        (Condition("flag", "equals", "maybe"), "filter on 'flag': 'maybe' is not true or false"),
        (
            Condition("published", "between", ("yesterday-ish", None)),
            "filter on 'published': 'yesterday-ish' is not a date (use YYYY-MM-DD)",
        ),
        (
            Condition("title", "between", ("a", "b")),
            "filter on 'title': 'between' needs a number or date column; use 'contains' or 'in' "
            "for text",
        ),
        (
            Condition("year", "between", "2015"),
            "filter on 'year': 'between' needs two bounds (low, high); leave one empty for an "
            "open range",
        ),
        (
            Condition("year", "between", ("2020", "2010")),
            "filter on 'year': lower bound 2020 is above upper bound 2010",
        ),
        (Condition("nope", "equals", "1"), "filter column 'nope' is not in the dataset"),
    ],
)
def test_coercion_errors_are_one_line(cond: Condition, message: str) -> None:
    with pytest.raises(InputError) as err:
        apply_filters(DF, [cond])
    assert str(err.value) == message


def test_unknown_operator() -> None:
    with pytest.raises(InputError, match="unknown filter operator 'like'"):
        Condition("title", "like", "x")  # type: ignore[arg-type]


def test_condition_labels_and_operators_for() -> None:
    assert str(Condition("year", "between", ("2019", None))) == "year between 2019 and …"
    assert str(Condition("field", "in", ["a", "b"])) == "field is one of a, b"
    assert str(Condition("title", "is_null")) == "title is empty"
    assert str(Condition("title", "contains", "x")) == "title contains x"
    assert operators_for(DF["year"])[0] == "between"
    assert operators_for(DF["title"])[0] == "contains"
    assert "between" not in operators_for(DF["flag"])
    assert hash(Condition("field", "in", ["a"])) == hash(Condition("field", "in", ("a",)))


def test_a_million_rows_vectorised() -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    big = pd.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "field": np.array(["cs.LG", "cs.CL", "stat.ML"])[np.arange(n) % 3],
            "year": 2015 + np.arange(n) % 10,
            "title": np.where(np.arange(n) % 5 == 0, "Graph nets", "Sparse kernels"),
            "score": rng.random(n),
        }
    )
    mask = apply_filters(
        big,
        [
            Condition("field", "in", ["cs.LG", "stat.ML"]),
            Condition("year", "between", ("2016", "2017")),
            Condition("title", "regex", "^Graph"),
            Condition("id", "not_null"),
        ],
        search="NETS",
    )
    i = np.arange(n)
    expected = (i % 3 != 1) & np.isin(i % 10, [1, 2]) & (i % 5 == 0)
    assert int(mask.sum()) == int(expected.sum())
    assert (mask.to_numpy() == expected).all()
