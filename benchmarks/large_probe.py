"""Peak memory and seconds of tagging's DuckDB path on a Parquet folder, in a fresh process.

`python -m benchmarks.large_probe FOLDER` prints JSON: seconds to open, count, count the
filtered rows and stream all their ids, how many ids, and the process's peak RSS in bytes
(the whole process, interpreter and imports included: what the machine has to hold).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import large_steps as steps
from benchmarks.rss import status_kb

T = TypeVar("T")


def main(folder: Path) -> dict[str, Any]:
    seconds: dict[str, float] = {}

    def timed(name: str, run: Callable[[], T]) -> T:
        start = time.perf_counter()
        value = run()
        seconds[name] = time.perf_counter() - start
        return value

    ds = timed("open", partial(steps.open_large, folder))
    rows = timed("count", ds.count)
    matching = timed("filtered_count", partial(steps.filtered_count, ds))
    streamed = timed("stream_ids", partial(steps.stream_ids, ds))
    if streamed != matching:
        raise RuntimeError(f"streamed {streamed} ids, but {matching} rows match")
    return {"rows": rows, "ids": streamed, "seconds": seconds, "peak_rss_bytes": _peak_rss()}


def _peak_rss() -> int:
    return status_kb("VmHWM") * 1024


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
