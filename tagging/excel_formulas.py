"""Formula cells of a workbook: their cached value is what we load (as Excel shows it), and
a formula Excel never calculated (a file written by a script) has none: say how many."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import zip_longest
from pathlib import Path
from typing import Any

Cells = Iterator[tuple[Any, ...]]


def formulas_without_value(target: str | Path | io.BytesIO, sheet: str) -> int:
    """How many formula cells of `sheet` carry no cached value."""
    missing = 0
    with (
        _rows(target, sheet, data_only=False) as formulas,
        _rows(target, sheet, data_only=True) as values,
    ):
        for formula_row, value_row in zip_longest(formulas, values, fillvalue=()):
            for formula, value in zip_longest(formula_row, value_row):
                if isinstance(formula, str) and formula.startswith("=") and value is None:
                    missing += 1
    return missing


@contextmanager
def _rows(target: str | Path | io.BytesIO, sheet: str, *, data_only: bool) -> Iterator[Cells]:
    from openpyxl import load_workbook

    # Two readers at once: one buffer each (a path opened as a file: openpyxl judges paths
    # by their extension, and ours may have none).
    with (
        io.BytesIO(target.getvalue()) if isinstance(target, io.BytesIO) else open(target, "rb")
    ) as source:
        book = load_workbook(source, read_only=True, data_only=data_only)
        try:
            yield book[sheet].iter_rows(values_only=True)
        finally:
            book.close()
