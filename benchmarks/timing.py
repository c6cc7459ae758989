"""Wall-clock timing: the best of a few runs, each after its own setup (not timed)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(
    run: Callable[[], object], repeats: int = 1, setup: Callable[[], object] | None = None
) -> float:
    """Seconds of the fastest of `repeats` runs; `setup` runs untimed before each."""
    best = float("inf")
    for _ in range(max(1, repeats)):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def repeats_for(size: int, quick: bool = False) -> int:
    """More runs at small sizes, where one run is short and noise is large; one when quick."""
    if quick:
        return 1
    return 3 if size <= 20_000 else 2 if size <= 200_000 else 1
