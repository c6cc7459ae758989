"""A Parquet dataset larger than memory and the steps on it: through tagging's DuckDB path,
and bare pyarrow beside it. Shared by the large_dataset scenario and its memory probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from tagging.filters import Condition
from tagging.large_dataset import LargeDataset, open_parquet

ID = "id"
FIELDS = np.array(["cs.LG", "cs.CL", "cs.CV", "stat.ML", "math.OC", "q-bio.NC"])
KEPT_FIELDS = ["cs.LG", "cs.CL", "stat.ML", "math.OC"]
YEARS = (2016, 2024)
CONDITIONS = (Condition("field", "in", KEPT_FIELDS), Condition("year", "between", YEARS))
_SCHEMA = pa.schema(
    [("id", pa.string()), ("field", pa.string()), ("year", pa.int64()),
     ("x", pa.float64()), ("y", pa.float64())]
)  # fmt: skip
_CHUNK = 1_000_000  # rows generated and written at a time: the writer's memory stays small


def write_dataset(folder: Path, rows: int, files: int = 6) -> None:
    """`rows` rows over `files` Parquet files: ids "0".."rows-1", a field, a year, x and y."""
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // files)
    for f, start in enumerate(range(0, rows, per_file)):
        end = min(rows, start + per_file)
        with pq.ParquetWriter(folder / f"part-{f:03d}.parquet", _SCHEMA) as writer:
            for s in range(start, end, _CHUNK):
                writer.write_table(_rows(s, min(end, s + _CHUNK)))


def _rows(start: int, end: int) -> pa.Table:
    rng = np.random.default_rng(start)
    n = end - start
    columns = {
        "id": pc.cast(pa.array(np.arange(start, end)), pa.string()),
        "field": pa.array(FIELDS[rng.integers(0, len(FIELDS), n)]),
        "year": pa.array(rng.integers(2015, 2026, n)),
        "x": pa.array(rng.standard_normal(n)),
        "y": pa.array(rng.standard_normal(n)),
    }
    return pa.table(columns, schema=_SCHEMA)


# --- tagging's way ---------------------------------------------------------------------------


def open_large(folder: Path) -> LargeDataset:
    return open_parquet(folder, id_column=ID)


def filtered_count(ds: LargeDataset) -> int:
    return ds.count(CONDITIONS)


def stream_ids(ds: LargeDataset) -> int:
    """Select all filtered: every id streamed in chunks, none kept."""
    return sum(len(chunk) for chunk in ds.iter_ids(CONDITIONS, ID))


# --- bare pyarrow ----------------------------------------------------------------------------


def raw_stream_ids(folder: Path) -> int:
    """The same ids read by pyarrow's dataset scanner with the same filter."""
    wanted = (
        pc.field("field").isin(KEPT_FIELDS)
        & (pc.field("year") >= YEARS[0])
        & (pc.field("year") <= YEARS[1])
    )
    scan = pads.dataset(folder, format="parquet").scanner(columns=[ID], filter=wanted)
    return sum(batch.num_rows for batch in scan.to_batches())
