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
    return 3 if size <= 200_000 else 2


def best_of_pair(
    ours: Callable[[], object],
    bare: Callable[[], object],
    repeats: int = 1,
    setup: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """Best seconds of each of two runs, interleaved and alternating which goes first, so
    neither side always pays for a cold cache or a noisy neighbour."""
    best = [float("inf"), float("inf")]
    for round_ in range(max(1, repeats)):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        for side in order:
            seconds = best_of((ours, bare)[side], 1, setup)
            best[side] = min(best[side], seconds)
    return best[0], best[1]
