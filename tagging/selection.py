"""Selection bookkeeping for a table that shows a slice of a filtered dataset.

A row's key is its id, or its (kind, id) pair as one string when the dataset has a kind
column (Immuta data source 6 and project 6 are different rows to select). The app holds a
selection as a boolean mask over the dataset's rows, closed over equal keys (`RowKeys`):
dataset positions do not change with a filter, and a million-row mask is a megabyte where a
set of a million id strings is a hundred. Grid positions are not dataset positions (they
change with every filter): the Tag page maps a grid row to its dataset position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tagging.columns import to_id_strings
from tagging.membership import isin

# Joins a row's kind and id into one selection key; a control character no kind name holds.
KEY_SEP = "\x1f"


def id_strings(frame: pd.DataFrame, id_column: str) -> pd.Series:
    """A frame's ids as text (missing ids stay missing, 7.0 is "7"), aligned to its index."""
    return to_id_strings(frame[id_column])


def key_of(kind: str, id_: str) -> str:
    """The selection key of one item with a kind, as `row_keys` builds it."""
    return f"{kind}{KEY_SEP}{id_}"


def row_keys(frame: pd.DataFrame, id_column: str, kind_column: str | None = None) -> pd.Series:
    """Selection keys aligned to the frame's index: the id text, or "kind<US>id" when rows
    have a kind column (kinds as text, as the Tag page sends them). Missing ids stay missing.
    One vectorised concatenation, no per-row Python."""
    ids = id_strings(frame, id_column)
    if kind_column is None:
        return ids
    kinds = frame[kind_column].astype("str")
    return (kinds + KEY_SEP + ids.astype("str")).where(ids.notna().to_numpy())


def is_selected(keys: pd.Series, selected: frozenset[str]) -> np.ndarray:
    """Which keys are in the selection, as a boolean array aligned with `keys` (missing keys:
    False). Arrow's hash lookup: Series.isin takes seconds on a million strings."""
    if not selected:
        return np.zeros(len(keys), dtype=bool)
    return isin(keys, selected)


@dataclass(frozen=True, eq=False)
class RowKeys:
    """Every dataset row's selection key, and which rows share one: what a positional
    selection mask (one bool per dataset row) means. A mask over these rows is kept closed:
    rows with equal keys are selected together, a row without an id never is.

    `codes[i]` numbers row i's key (equal keys, equal codes; -1 for a missing id); None when
    every row has its own present key, so rows are keys and no mask needs closing."""

    keys: pd.Series = field(repr=False)
    codes: np.ndarray | None = field(repr=False)
    n_keys: int

    @classmethod
    def of(cls, keys: pd.Series, unique: bool = False) -> RowKeys:
        """`unique`: the caller knows every key is present and distinct (from loading the
        data), which saves hashing a million keys."""
        if unique:
            return cls(keys, None, len(keys))
        codes, uniques = pd.factorize(keys, use_na_sentinel=True)
        if len(uniques) == len(keys):  # all present and distinct: the common case
            return cls(keys, None, len(keys))
        return cls(keys, np.asarray(codes, dtype=np.int64), len(uniques))

    def __len__(self) -> int:
        return len(self.keys)

    def _on(self, rows: np.ndarray) -> np.ndarray:
        """Per key code, whether some row of `rows` has it; one slot more for code -1 (no id),
        always False, so `on[codes]` is a row mask without a branch."""
        assert self.codes is not None
        on = np.zeros(self.n_keys + 1, dtype=bool)
        on[self.codes[rows]] = True
        on[-1] = False
        return on

    def close(self, rows: np.ndarray) -> np.ndarray:
        """Every row whose key some row of `rows` has (rows with missing ids dropped)."""
        if self.codes is None:
            return rows
        return self._on(rows)[self.codes]

    def add(self, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.close(mask | rows)

    def remove(self, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`mask` without the keys of `rows` (also in rows outside `rows` that share them)."""
        if self.codes is None:
            return mask & ~rows
        return mask & ~self._on(rows)[self.codes]

    def intersect(self, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return mask & self.close(rows)

    def count(self, mask: np.ndarray) -> int:
        """How many keys a closed mask selects (equal keys count once)."""
        if self.codes is None:
            return int(np.count_nonzero(mask))
        return int(np.count_nonzero(self._on(mask)))

    def one_per_key(self, mask: np.ndarray) -> np.ndarray:
        """The first row (in dataset order) of each selected key."""
        if self.codes is None:
            return mask
        return mask & ~pd.Series(self.codes).duplicated(keep="first").to_numpy()

    def ids(self, mask: np.ndarray) -> frozenset[str]:
        """The selected keys as text (a million strings: for saving, not for every run)."""
        return frozenset(self.keys[mask].dropna().astype("str").tolist())

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """The closed mask of the rows whose key is in `ids`."""
        wanted = frozenset(ids)
        return is_selected(self.keys, wanted)


def fingerprint(*parts: object) -> str:
    """A short stable digest of some values, for widget keys and staleness checks."""
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        if isinstance(part, frozenset | set):
            part = sorted(part)
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:12]


# --- the map's lasso and box ------------------------------------------------------------------
# Above this many edges, sorting the candidates by y once and testing each edge only against
# the points in its y-band beats testing every edge against every candidate (a box has 4).
_SORT_ABOVE_EDGES = 12


def points_in_polygon(
    x: Sequence[float] | np.ndarray | pd.Series,
    y: Sequence[float] | np.ndarray | pd.Series,
    polygon: Sequence[tuple[float, float]] | np.ndarray,
) -> np.ndarray:
    """Which points (x[i], y[i]) lie inside `polygon`, as a bool array of len(x).

    `polygon` is a sequence of (x, y) vertices, closed implicitly (a lasso; a repeated first
    vertex at the end is harmless). Inside follows the even-odd rule, so a self-overlapping
    lasso has holes where it overlaps itself. Boundary rule: a point exactly on an edge or a
    vertex is inside (what the lasso line touches is selected, as a box's edges are), tested
    exactly in floating point. Fewer than 3 vertices select nothing; NaN coordinates never
    match. Vectorised: a bounding-box prefilter, then a crossing test per edge over the
    candidates (over only the candidates in the edge's y-band for lassos with many edges).
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got {xs.shape} and {ys.shape}")
    vertices = _vertices(polygon)
    inside = np.zeros(len(xs), dtype=bool)
    if len(vertices) < 3:
        return inside
    (x0, y0), (x1, y1) = vertices.min(axis=0), vertices.max(axis=0)
    in_box = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    if _is_box(vertices):
        return in_box
    candidates = np.flatnonzero(in_box)
    if len(vertices) > _SORT_ABOVE_EDGES:
        inside[candidates] = _banded(xs[candidates], ys[candidates], vertices)
    else:
        inside[candidates] = _per_edge(xs[candidates], ys[candidates], vertices)
    return inside


def _vertices(polygon: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """The polygon as an (n, 2) float array, without NaN vertices."""
    vertices = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    return vertices[~np.isnan(vertices).any(axis=1)]


def _is_box(vertices: np.ndarray) -> bool:
    """An axis-aligned rectangle (a box selection): its bounding box is the answer."""
    if len(vertices) == 5 and (vertices[0] == vertices[-1]).all():
        vertices = vertices[:4]
    if len(vertices) != 4 or len({(float(a), float(b)) for a, b in vertices}) != 4:
        return False
    xa, ya, xb, yb = _edges(vertices)
    # Four distinct corners of a 2x2 grid joined by axis-aligned edges: not a bow-tie.
    return bool(((xa == xb) | (ya == yb)).all()) and len(set(xa)) == 2 and len(set(ya)) == 2


def _edges(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start and end coordinates of every edge, the closing one included."""
    xa, ya = vertices[:, 0], vertices[:, 1]
    return xa, ya, np.roll(xa, -1), np.roll(ya, -1)


def _per_edge(px: np.ndarray, py: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Even-odd parity plus boundary, every edge against every point."""
    parity = np.zeros(len(px), dtype=bool)
    boundary = np.zeros(len(px), dtype=bool)
    for xa, ya, xb, yb in zip(*_edges(vertices), strict=True):
        parity ^= _crossings(px, py, xa, ya, xb, yb)
        boundary |= _on_edge(px, py, xa, ya, xb, yb)
    return parity | boundary


def _banded(px: np.ndarray, py: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """The same answer as `_per_edge`, with the points sorted by y: an edge can only cross
    the ray of, or touch, points whose y lies between its ends, a contiguous slice."""
    order = np.argsort(py, kind="stable")
    sx, sy = px[order], py[order]
    xa, ya, xb, yb = _edges(vertices)
    low, high = np.minimum(ya, yb), np.maximum(ya, yb)
    starts = np.searchsorted(sy, low, side="left")
    ends = np.searchsorted(sy, high, side="right")
    parity = np.zeros(len(sx), dtype=bool)
    boundary = np.zeros(len(sx), dtype=bool)
    for i in np.flatnonzero(ends > starts):
        s, e = starts[i], ends[i]
        bx, by = sx[s:e], sy[s:e]
        parity[s:e] ^= _crossings(bx, by, xa[i], ya[i], xb[i], yb[i])
        boundary[s:e] |= _on_edge(bx, by, xa[i], ya[i], xb[i], yb[i])
    out = np.empty(len(sx), dtype=bool)
    out[order] = parity | boundary
    return out


def _crossings(
    px: np.ndarray, py: np.ndarray, xa: float, ya: float, xb: float, yb: float
) -> np.ndarray:
    """Does edge a-b cross the ray from each point towards +x? Half-open in y (an edge
    counts for ya <= y < yb), so a ray through a vertex is counted once."""
    spans = (ya > py) != (yb > py)
    if ya == yb:
        return spans  # all False: a horizontal edge never crosses a horizontal ray
    with np.errstate(invalid="ignore"):
        return spans & (px < xa + (py - ya) * ((xb - xa) / (yb - ya)))


def _on_edge(
    px: np.ndarray, py: np.ndarray, xa: float, ya: float, xb: float, yb: float
) -> np.ndarray:
    """Is each point exactly on segment a-b (zero cross product, inside its extent)?"""
    collinear = (xb - xa) * (py - ya) == (yb - ya) * (px - xa)
    within_x = (px >= min(xa, xb)) & (px <= max(xa, xb))
    within_y = (py >= min(ya, yb)) & (py <= max(ya, yb))
    return collinear & within_x & within_y
