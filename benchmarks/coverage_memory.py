"""Peak memory of `tagging.coverage` on a big frame, measured in a fresh process.

`python -m benchmarks.coverage_memory ROWS` builds a frame of ROWS text ids and a facet
(as `load_dataset` leaves a Parquet file: Arrow-backed text) and a known state tagging a
third of them (as `known_state` returns it), then prints JSON: their own bytes, the RSS
before and the peak RSS of the whole process while `coverage(..., facet=...)` runs, and its
seconds.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.rss import reset_peak, status_kb
from tagging.coverage import coverage

FIELDS = ("cs.LG", "cs.CL", "stat.ML", "cs.CV", "q-bio", "math.ST")


def _text(values: np.ndarray) -> pd.Series:
    """Integers as Arrow-backed text, built without a Python string per value."""
    return pd.Series(pd.array(pc.cast(pa.array(values), pa.string()), dtype="str"))


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    fields = pd.Categorical.from_codes(
        rng.integers(0, len(FIELDS), rows), categories=pd.Index(FIELDS)
    )
    return pd.DataFrame({"id": _text(np.arange(rows)), "field": fields})


def state(rows: int) -> pd.DataFrame:
    """Every 4th id "alpha", every 10th "Reviewed.Good", plus ids the frame lacks."""
    alpha = np.arange(0, rows + rows // 20, 4)
    good = np.arange(0, rows, 10)
    tags = np.repeat(np.array(["alpha", "Reviewed.Good"]), [len(alpha), len(good)])
    return pd.DataFrame(
        {"id": _text(np.concatenate([alpha, good])), "tag": pd.Series(tags, dtype="str")}
    )


def main(rows: int) -> dict[str, Any]:
    df, known = frame(rows), state(rows)
    data = int(df.memory_usage(deep=True).sum() + known.memory_usage(deep=True).sum())
    before_kb = status_kb("VmRSS")
    reset = reset_peak()
    start = time.perf_counter()
    cov = coverage(df, "id", known, facet="field")
    seconds = time.perf_counter() - start
    peak_kb = status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expected = len(range(0, rows, 4)) + len(range(0, rows, 10)) - len(range(0, rows, 20))
    if cov.tagged != expected:
        raise RuntimeError(f"coverage counted {cov.tagged} tagged rows, not {expected}")
    return {
        "data_bytes": data,
        "rss_before_bytes": before_kb * 1024,
        "peak_rss_bytes": peak_kb * 1024,
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
