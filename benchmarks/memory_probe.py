"""Peak memory of the workbench steps on one Parquet file, measured in a fresh process.

`python -m benchmarks.memory_probe FILE` prints JSON: the frame's bytes and the peak RSS
growth (high-water mark reset after imports) over load, filter, select-all and coverage.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import workbench_steps as steps
from benchmarks.rss import reset_peak, status_kb

T = TypeVar("T")


def main(path: Path) -> dict[str, Any]:
    state = steps.known_state(len(steps.raw_load(path)))  # built before measuring
    before = status_kb("VmRSS")
    peaks: dict[str, int] = {}  # per step: peak RSS above `before`, in bytes

    def measured(name: str, run: Callable[[], T]) -> T:
        reset = reset_peak()
        value = run()
        peak = status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peaks[name] = (peak - before) * 1024
        return value

    df = measured("load", partial(steps.load, path))
    mask = measured("filter", partial(steps.filter_mask, df))
    # The page holds the filtered frame (its grid) beside the positions: so does the probe.
    rows, positions = measured("filtered_rows", partial(steps.filtered_rows, df, mask))
    unique = steps.unique_ids(df)  # found on loading, as the app does
    selection = measured("select_all", partial(steps.select_all, df, positions, unique))
    measured("coverage", partial(steps.cover, df, state))
    return {
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "peak_growth_bytes": max(peaks.values()),
        "step_peaks_bytes": peaks,
        "selected": selection[1],
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
