"""Peak memory of the workbench steps on one Parquet file, measured in a fresh process.

`python -m benchmarks.memory_probe FILE` prints JSON: the frame's bytes and the peak RSS
growth (high-water mark reset after imports) over load, filter, select-all and coverage.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from benchmarks import workbench_steps as steps


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux `clear_refs` 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main(path: Path) -> dict[str, float]:
    state = steps.known_state(len(steps.raw_load(path)))  # built before measuring
    reset = _reset_peak()
    before = _status_kb("VmRSS")
    df = steps.load(path)
    mask = steps.filter_mask(df)
    selected = steps.select_all(steps.filtered_rows(df, mask))
    steps.cover(df, state)
    peak = _status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frame = int(df.memory_usage(deep=True).sum())
    return {
        "frame_bytes": frame,
        "peak_growth_bytes": (peak - before) * 1024,
        "selected": len(selected),
        "peak_reset": reset,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
