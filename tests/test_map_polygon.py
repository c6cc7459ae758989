"""tagging.selection.points_in_polygon: hand-made polygons and a million points against a
reference ray cast. Boundary rule: points exactly on an edge or a vertex are inside."""

from __future__ import annotations

import numpy as np
import pytest

from tagging.selection import points_in_polygon

SQUARE = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]
# A "C" opening to the right: concave, so its bounding box holds points outside it.
C_SHAPE = [(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (3, 2), (3, 3), (0, 3)]


def inside(polygon: object, *points: tuple[float, float]) -> list[bool]:
    xs, ys = zip(*points, strict=True)
    return points_in_polygon(np.array(xs), np.array(ys), polygon).tolist()  # type: ignore[arg-type]


def reference(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """A plain even-odd ray cast: every edge against every point, no prefilter."""
    out = np.zeros(len(x), dtype=bool)
    for (xa, ya), (xb, yb) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            out ^= ((ya > y) != (yb > y)) & (x < (xb - xa) * (y - ya) / (yb - ya) + xa)
    return out


def wobbly_lasso(vertices: int, seed: int) -> np.ndarray:
    """A concave, star-like closed path like a hand-drawn lasso."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 1 + 0.4 * np.sin(5 * t) + 0.1 * rng.random(vertices)
    return np.c_[0.2 + r * np.cos(t), -0.1 + r * np.sin(t)]


def test_square_interior_and_exterior() -> None:
    assert inside(SQUARE, (2, 2), (0.1, 3.9), (5, 2), (-1, -1), (2, 4.5)) == [
        True, True, False, False, False,
    ]  # fmt: skip


def test_points_on_edges_and_vertices_are_inside() -> None:
    edges = [(2, 0), (4, 2), (2, 4), (0, 2)]
    vertices = [(0, 0), (4, 0), (4, 4), (0, 4)]
    assert inside(SQUARE, *edges, *vertices) == [True] * 8
    triangle = [(0, 0), (4, 0), (0, 4)]
    assert inside(triangle, (2, 2), (1, 3), (2.0001, 2)) == [True, True, False]


def test_concave_notch_is_outside() -> None:
    assert inside(C_SHAPE, (0.5, 1.5), (2, 1.5), (2, 0.5), (2, 2.5), (1, 1.5)) == [
        True, False, True, True, True,  # (1, 1.5) lies on the notch's inner edge
    ]  # fmt: skip


def test_even_odd_makes_a_hole_of_a_doubly_wound_region() -> None:
    # Outer square, a bridge in, an inner square the other way, the bridge back: the inner
    # square is covered twice, so even-odd leaves it out.
    ring = [(0, 0), (6, 0), (6, 6), (0, 6), (0, 0), (2, 2), (2, 4), (4, 4), (4, 2), (2, 2)]
    assert inside(ring, (1, 3), (3, 3), (5, 5), (3, 2)) == [True, False, True, True]


def test_self_overlapping_lasso_excludes_the_overlap() -> None:
    # Two squares drawn as one path that overlap in [2, 3] x [0, 3].
    path = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 0), (5, 0), (5, 3), (0, 3)]
    assert inside(path, (1, 1), (2.5, 1), (4, 1)) == [True, False, True]


def test_self_touching_polygon_at_one_vertex() -> None:
    # A bow-tie of two triangles touching at (2, 2): both lobes in, the gaps out.
    bow = [(0, 0), (2, 2), (4, 0), (4, 4), (2, 2), (0, 4)]
    assert inside(bow, (0.5, 2), (3.5, 2), (2, 0.5), (2, 3.5), (2, 2)) == [
        True, True, False, False, True,
    ]  # fmt: skip


def test_a_closing_repeat_and_orientation_do_not_matter() -> None:
    pts = [(1, 1), (3.9, 0.1), (4.1, 2)]
    assert inside([*SQUARE, SQUARE[0]], *pts) == inside(SQUARE[::-1], *pts) == [True, True, False]


def test_degenerate_polygons_and_nan_points_select_nothing() -> None:
    assert inside([(0, 0), (1, 1)], (0.5, 0.5)) == [False]
    assert inside([], (0.5, 0.5)) == [False]
    assert inside(SQUARE, (np.nan, 1), (1, np.nan)) == [False, False]
    assert points_in_polygon(np.array([]), np.array([]), SQUARE).shape == (0,)


def test_unequal_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="equal length"):
        points_in_polygon([1.0, 2.0], [1.0], SQUARE)


def test_box_and_many_edged_lasso_agree_with_reference_on_a_million_points() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
    for polygon in (wobbly_lasso(400, 1), wobbly_lasso(9, 2), np.array(SQUARE) / 4 - 0.3):
        got = points_in_polygon(x, y, polygon)
        assert got.dtype == bool and got.shape == x.shape
        assert np.array_equal(got, reference(x, y, polygon))
        assert 0 < got.sum() < len(x)


def test_integer_grid_points_on_a_box_edge_are_in() -> None:
    gx, gy = np.meshgrid(np.arange(-1, 6), np.arange(-1, 6))
    got = points_in_polygon(gx.ravel(), gy.ravel(), SQUARE)
    want = (gx.ravel() >= 0) & (gx.ravel() <= 4) & (gy.ravel() >= 0) & (gy.ravel() <= 4)
    assert np.array_equal(got, want)
    # The same box as a lasso path (many collinear vertices) gives the same rows.
    side = np.linspace(0, 4, 9)
    lasso = np.r_[
        np.c_[side, 0 * side], np.c_[4 + 0 * side, side], np.c_[side[::-1], 4 + 0 * side],
        np.c_[0 * side, side[::-1]],
    ]  # fmt: skip
    assert np.array_equal(points_in_polygon(gx.ravel(), gy.ravel(), lasso), want)
