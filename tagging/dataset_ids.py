"""The ids of a push taken from a dataset's filtered rows (the CLI's ``--dataset`` and
``--where``): what the Tag page's "select all filtered" sends, without the app.

A folder, a glob or a big Parquet file is read through DuckDB (large_dataset.py): the filters
run as SQL and the ids stream in chunks into compact arrow text, never a Python object per id.
Anything else loads into pandas and is filtered by the masks (filters.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tagging.columns import to_id_strings
from tagging.datasets import open_dataset
from tagging.errors import InputError
from tagging.filters import Condition, apply_filters, parse_condition
from tagging.ids_file import IdsRead
from tagging.large_dataset import LargeDataset


def read_dataset_ids(
    source: str | Path,
    where: Sequence[str],
    id_column: str | None,
    type_column: str | None,
) -> IdsRead:
    """The ids (and kinds) of the rows matching every ``--where``; rows without an id are
    counted as dropped. ``rows`` is the number of matching rows."""
    conditions = [parse_condition(text) for text in where]
    data = open_dataset(source, id_column=id_column)
    columns = data.columns if isinstance(data, LargeDataset) else [str(c) for c in data.columns]
    column = id_column or ("id" if "id" in columns else str(columns[0]))
    name = Path(source).name or str(source)
    for option, col in (("--id-column", column), ("--type-column", type_column)):
        if col is not None and col not in columns:
            raise InputError(f"{option}: no column {col!r} in {name}")
    if isinstance(data, LargeDataset):
        try:
            return _streamed(data, conditions, column, type_column)
        finally:
            data.close()
    return _masked(data, conditions, column, type_column)


def _streamed(
    data: LargeDataset, conditions: list[Condition], column: str, type_column: str | None
) -> IdsRead:
    rows = data.count(conditions)
    ids, kinds = data.collect_ids(conditions, column, type_column)
    return IdsRead(ids, kinds, rows, rows - len(ids))


def _masked(
    frame: pd.DataFrame, conditions: list[Condition], column: str, type_column: str | None
) -> IdsRead:
    matching = frame[apply_filters(frame, conditions).to_numpy()]
    values = to_id_strings(matching[column]).str.strip()
    present = (values.notna() & values.ne("")).to_numpy()
    kinds = None
    if type_column is not None:
        kinds = matching.loc[present, type_column].astype(str).str.strip().reset_index(drop=True)
    ids = values[present].reset_index(drop=True)
    return IdsRead(ids, kinds, len(matching), int((~present).sum()))
