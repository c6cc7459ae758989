"""8. Map selection: `points_in_polygon` over every row of the demo Atlas map (up to
1,000,000 points) vs a plain numpy ray cast (every edge against every point, no prefilter),
for a hand-drawn lasso around a cluster (120 vertices), one around the whole map and a box.
The answers must be equal (the check); the ratio is the time of ours over the plain one."""

from __future__ import annotations

from functools import partial

import numpy as np

from benchmarks.results import Point, Result, Target
from benchmarks.timing import best_of_pair, repeats_for
from tagging.demo import atlas_frame
from tagging.selection import points_in_polygon

NAME = "map_selection"
TITLE = "Map lasso and box selection"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
_T = np.linspace(0, 2 * np.pi, 120, endpoint=False)
# Around the cs.LG cluster (centre (0, 6)) with a wobble, as a mouse draws it.
LASSO = np.c_[2.6 * np.cos(_T) * (1 + 0.08 * np.sin(7 * _T)), 5.6 + 2.8 * np.sin(_T)]
# The worst case for the prefilter: a lasso around the whole map (every point a candidate).
WHOLE = np.c_[11 * np.cos(_T), 0.5 + 11 * np.sin(_T)]
BOX = np.array([(-6.0, -6.0), (-2.5, -6.0), (-2.5, -1.5), (-6.0, -1.5)])
SHAPES = {"lasso": LASSO, "whole_map_lasso": WHOLE, "box": BOX}


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: dict[str, list[Point]] = {name: [] for name in SHAPES}
    exact = True
    for n in sizes:
        frame = atlas_frame(n)
        x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
        for name, polygon in SHAPES.items():
            ours = partial(points_in_polygon, x, y, polygon)
            bare = partial(ray_cast, x, y, polygon)
            exact &= bool(np.array_equal(ours(), bare()))
            seconds = best_of_pair(ours, bare, repeats_for(n, quick) + 2)
            points[name].append(Point(n, *seconds))
    return [_result(name, points[name], exact) for name in SHAPES]


def _result(name: str, points: list[Point], exact: bool) -> Result:
    last = points[-1]
    return Result.at_largest(
        scenario=f"{NAME}.{name}",
        metric=f"points_in_polygon ({name}) / plain numpy ray cast ({last.size:,} points)",
        unit="s",
        target=Target("<=", 1.5),
        points=points,
        notes={"ms_at_largest": round(last.measured * 1000, 1)},
        check=exact,
    )


def ray_cast(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """The textbook even-odd crossing test, vectorised over points, one pass per edge."""
    inside = np.zeros(len(x), dtype=bool)
    for (xa, ya), (xb, yb) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            inside ^= ((ya > y) != (yb > y)) & (x < (xb - xa) * (y - ya) / (yb - ya) + xa)
    return inside
