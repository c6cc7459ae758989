"""The map of a dataset's rows: two numeric columns as a scatter, coloured by a facet or by
the tags rows carry, drawn as a stratified sample (a density layer under it) above
`MAX_DRAWN` points; selections are computed over all rows (`selection.points_in_polygon`).
The Tag page and notebooks draw the same figure."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from tagging.charts import OTHER, TAGGED, UNTAGGED, empty_figure, style
from tagging.coverage import tagged_mask

# --- the map ----------------------------------------------------------------------------------
# The browser draws at most this many points over the density of all rows; a lasso still
# selects every row (selection.py). Chromium without a GPU draws WebGL in software: a new
# map of 100,000 points took 3.5-4.5 s of the tab (7 MB of JSON), of 30,000 about 2 s (3 MB).
MAX_DRAWN = 30_000
MIN_PER_GROUP = 500  # a small colour group keeps at least this many drawn points
BY_TAGGED = "(tagged / untagged)"  # `color` values that colour by known tags, not a column
BY_TAG = "(per tag)"
MAX_GROUPS = 10  # more colour groups than this: the smallest become "Other"
SEVERAL = "2+ tags"
UNTAGGED_LABEL = "untagged"
PALETTE = (
    "#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316",
    "#6366f1", "#84cc16",
)  # fmt: skip
_MAP_PREFIXES = ("", "umap", "tsne", "t_sne", "pca", "pc", "embedding", "emb", "proj", "map")
_MAP_AXES = (("x", "y"), ("1", "2"), ("0", "1"))


def suggest_map_columns(df: pd.DataFrame) -> tuple[str, str] | None:
    """Two numeric columns that look like a 2-D map: x/y, umap_x/umap_y, tsne_1/tsne_2,
    pca_x/pca_y, embedding_x/embedding_y... (case-insensitive), or None."""
    numeric = {str(c).lower(): str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c])}
    for prefix in _MAP_PREFIXES:
        for sep in ("", "_", "-", " ", "."):
            if not prefix and sep:
                continue
            for ax, ay in _MAP_AXES:
                if not prefix and ax != "x":
                    continue  # bare "1"/"2" columns are not a map
                x, y = f"{prefix}{sep}{ax}", f"{prefix}{sep}{ay}"
                if x in numeric and y in numeric:
                    return numeric[x], numeric[y]
    return None


def map_groups(
    df: pd.DataFrame,
    color: str | None,
    *,
    state: pd.DataFrame | None = None,
    id_column: str = "id",
    kind_column: str | None = None,
) -> pd.Series:
    """The colour group of every row as text, aligned to df.index: a column's values (the
    largest MAX_GROUPS - 1, the rest "Other"), tagged/untagged, or each row's tag."""
    if color is None:
        return pd.Series("rows", index=df.index, dtype="str")
    if color in (BY_TAGGED, BY_TAG):
        return _tag_groups(df, color, state, id_column, kind_column)
    values = df[color].astype("str").fillna("(blank)")
    top = values.value_counts().index[: MAX_GROUPS - 1]
    return values.where(values.isin(top), OTHER) if values.nunique() >= MAX_GROUPS else values


def _tag_groups(
    df: pd.DataFrame,
    color: str,
    state: pd.DataFrame | None,
    id_column: str,
    kind_column: str | None,
) -> pd.Series:
    tagged = tagged_mask(df, id_column, state, kind_column=kind_column).to_numpy()
    groups = np.where(tagged, "tagged", UNTAGGED_LABEL).astype(object)
    if color == BY_TAG and state is not None and tagged.any():
        counts = np.zeros(len(df), dtype=np.int64)
        tags = state["tag"].value_counts().index[: MAX_GROUPS - 2]
        for tag in reversed(tags):  # the most common tag is written last and wins
            has = tagged_mask(df, id_column, state, [tag], kind_column=kind_column).to_numpy()
            groups[has] = str(tag)
            counts += has
        groups[tagged & (counts == 0)] = OTHER
        groups[counts > 1] = SEVERAL
    return pd.Series(groups, index=df.index, dtype="str")


def map_sample(groups: pd.Series, max_points: int = MAX_DRAWN, seed: int = 0) -> np.ndarray:
    """Positions of the rows to draw, ascending: all rows up to `max_points`, else a sample
    per colour group, proportional to its size with a floor so small groups stay visible
    (each row kept with its group's rate: about `max_points` in all, in one O(n) pass).
    The same rows for the same data and seed, so the map does not jitter between reruns."""
    if len(groups) <= max_points:
        return np.arange(len(groups))
    codes, _, sizes = _factorized(groups)
    return _sample(codes, sizes, max_points, seed)


def _sample(codes: np.ndarray, sizes: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """`map_sample` of groups given as codes and each code's size."""
    n = len(codes)
    if n <= max_points:
        return np.arange(n)
    quota = np.minimum(sizes, np.maximum(MIN_PER_GROUP, sizes * max_points // n))
    priority = np.random.default_rng(seed).random(n)
    return np.flatnonzero(priority < (quota / sizes)[codes])


def _factorized(groups: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each row's group as a code, the groups' names in order of appearance, their sizes."""
    codes, labels = pd.factorize(groups, use_na_sentinel=False)
    return codes, [str(v) for v in labels], np.bincount(codes, minlength=len(labels))


def map_figure(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    state: pd.DataFrame | None = None,
    id_column: str = "id",
    kind_column: str | None = None,
    title_column: str | None = None,
    selected: np.ndarray | None = None,
    max_points: int = MAX_DRAWN,
    title: str | None = None,
) -> go.Figure:
    """The rows as a 2-D map: a WebGL scatter of columns `x`, `y`, one trace per colour group
    (`color`: a column, BY_TAGGED or BY_TAG with `state`, the long ["id", "tag"] known tags),
    hover showing the id and `title_column`. `selected` (bool per row) highlights rows and
    dims the rest. Above `max_points` rows it draws a stratified sample over a density layer
    of all rows. Each point's customdata is its row position in `df`, for click selection.
    Lasso is the default drag tool; select the rows with `selection.points_in_polygon`."""
    if df.empty:
        return empty_figure(title or f"Map of {len(df):,} rows", "No rows")
    layers = map_layers(
        df, x, y, color=color, state=state, id_column=id_column, kind_column=kind_column,
        title_column=title_column, max_points=max_points, title=title,
    )  # fmt: skip
    return go.Figure(layers.spec(selected))


@dataclass(frozen=True, eq=False)
class MapLayers:
    """What a map draws whatever is selected: colour groups, the sample, the density layer
    and the layout, built once per rows and colouring. `spec(selected)` is the figure as a
    plain dict, cheap to make again for a new selection (no plotly validation): the app
    redraws the highlight of a million-row map without building a figure again."""

    hover_of: Callable[[np.ndarray], np.ndarray] = field(repr=False)  # rows' text by position
    name: str
    xs: np.ndarray = field(repr=False)
    ys: np.ndarray = field(repr=False)
    groups: np.ndarray = field(repr=False)  # every row's colour group, as its index in `order`
    order: tuple[str, ...]  # groups in drawing order
    sample: np.ndarray = field(repr=False)  # rows drawn whatever is selected, ascending
    hover: np.ndarray = field(repr=False)  # hover text of the sample's rows
    max_points: int
    density: dict[str, Any] | None = field(repr=False)
    layout: dict[str, Any] = field(repr=False)

    def drawn(self, selected: np.ndarray | None) -> np.ndarray:
        """The sample plus, spread evenly, selected rows it missed (ascending). A mask over
        the rows, not np.union1d: no sort of the sample on every new selection. With every
        row selected the sample is a sample of the selection already: nothing to add."""
        if selected is None or len(self.sample) >= len(self.xs) or selected.all():
            return self.sample
        spread = _spread(np.flatnonzero(selected), self.max_points // 5)
        in_sample = self.in_sample
        missed = spread[~in_sample[spread]]
        if not len(missed):
            return self.sample
        marked = in_sample.copy()
        marked[missed] = True
        return np.flatnonzero(marked)

    def spec(self, selected: np.ndarray | None = None) -> dict[str, Any]:
        drawn = self.drawn(selected)
        hover = self._hover(drawn)
        size = 5 if len(drawn) <= 20_000 else 3
        drawn_groups = self.groups[drawn]  # codes: comparing group names took 10 ms a map
        highlight = _highlights(selected, drawn)
        # Copies: serialising a spec replaces its arrays by base64 in place.
        data: list[dict[str, Any]] = [] if self.density is None else [dict(self.density)]
        for i, label in enumerate(self.order):
            inside = drawn_groups == i
            pos = drawn[inside]
            trace: dict[str, Any] = {
                "type": "scattergl",
                # float32 and int32 halve the figure's JSON; a screen cannot show the difference
                "x": self.xs[pos].astype(np.float32), "y": self.ys[pos].astype(np.float32),
                "customdata": pos.astype(np.int32), "name": label,
                "text": hover[inside].tolist(),  # a list: orjson writes no object arrays
                "mode": "markers",
                "marker": {"size": size, "color": _colour(label, i), "opacity": 0.75},
                "hovertemplate": "%{text}<extra>%{fullData.name}</extra>",
            }  # fmt: skip
            if highlight:
                assert selected is not None
                trace["selectedpoints"] = np.flatnonzero(selected[pos]).tolist()
                trace["selected"] = {"marker": {"opacity": 1.0}}
                trace["unselected"] = {"marker": {"opacity": 0.12}}
            data.append(trace)
        layout = self.layout
        if len(drawn) < len(self.xs):
            layout = {**layout, "title": {**layout["title"], "text": self._title(len(drawn))}}
        return {"data": data, "layout": layout}

    def _title(self, drawn: int) -> str:
        return f"{self.name} (drawing {drawn:,})"

    def _hover(self, drawn: np.ndarray) -> np.ndarray:
        """Hover text of the drawn rows: the sample's made once, only added rows' here."""
        if len(drawn) == len(self.sample):
            return self.hover
        out = np.empty(len(drawn), dtype=object)
        sampled = self.in_sample[drawn]
        out[sampled] = self.hover  # both ascending: the sample's rows in the sample's order
        out[~sampled] = self.hover_of(drawn[~sampled])
        return out

    @property
    def in_sample(self) -> np.ndarray:
        mask = np.zeros(len(self.xs), dtype=bool)
        mask[self.sample] = True
        return mask


def map_layers(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    state: pd.DataFrame | None = None,
    id_column: str = "id",
    kind_column: str | None = None,
    title_column: str | None = None,
    max_points: int = MAX_DRAWN,
    title: str | None = None,
    hover_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> MapLayers:
    """The parts of `map_figure` that do not depend on the selection (`df` not empty).
    `hover_of`: the hover text of `df`'s rows at some positions (by default made from the
    id and title columns each time; the app keeps it per dataset row, `HoverText`)."""
    name = title or f"Map of {len(df):,} rows"
    groups = map_groups(df, color, state=state, id_column=id_column, kind_column=kind_column)
    # Factorized once, for the sample, the drawing order and the codes (three passes: 8 ms).
    codes, labels, sizes = _factorized(groups)
    sample = _sample(codes, sizes, max_points)
    xs = df[x].to_numpy(dtype=np.float64, na_value=np.nan)
    ys = df[y].to_numpy(dtype=np.float64, na_value=np.nan)
    if hover_of is None:
        hover_of = HoverText(df, id_column, title_column).made
    density = _density(xs, ys).to_plotly_json() if len(sample) < len(df) else None
    order = tuple(_group_order(labels, sizes))
    where = {label: i for i, label in enumerate(order)}
    drawn_as = np.array([where[label] for label in labels], dtype=np.int32)[codes]
    return MapLayers(
        hover_of=hover_of, name=name, xs=xs, ys=ys, groups=drawn_as, order=order,
        sample=sample, hover=hover_of(sample), max_points=max_points, density=density,
        layout=_layout(name, x, y, color),
    )  # fmt: skip


class HoverText:
    """Hover text of a frame's rows by position. `made` makes it each time; `kept` makes each
    row's once and keeps it (up to `most` rows, then starts over): a filter or colour change
    that draws rows drawn before makes none of their text again (100,000 Python strings were
    17 ms of a facet change at a million rows)."""

    def __init__(
        self, frame: pd.DataFrame, id_column: str, title_column: str | None, most: int = 0
    ) -> None:
        self._title = title_column if title_column not in (None, id_column) else None
        self._id = id_column
        # Two columns: taking every column of the sampled rows took 0.4 s.
        self._df = frame[[id_column, self._title] if self._title else [id_column]]
        self._most = most
        self._kept = np.full(len(frame) if most else 0, None, dtype=object)
        self._count = 0

    def made(self, positions: np.ndarray) -> np.ndarray:
        return _hover_text(self._df.iloc[positions], self._id, self._title)

    def kept(self, positions: np.ndarray) -> np.ndarray:
        out = self._kept[positions]
        missing = pd.isna(out)
        if missing.any():
            new = positions[missing]
            if self._count + len(new) > self._most:
                self._kept[:] = None
                self._count = 0
            out[missing] = self._kept[new] = self.made(new)
            self._count += len(new)
        return out


def _layout(name: str, x: str, y: str, color: str | None) -> dict[str, Any]:
    """The map's layout with `name` as its title; the rest made once per axes and colouring
    (a plotly figure's validation took 8 ms of every new map)."""
    layout = _base_layout(x, y, color)
    return {**copy.deepcopy(layout), "title": {**layout["title"], "text": name}}


@functools.lru_cache(maxsize=64)
def _base_layout(x: str, y: str, color: str | None) -> dict[str, Any]:
    fig = go.Figure()
    style(fig, "map", x=x, y=y)  # the title text is set per map
    fig.update_layout(
        dragmode="lasso", legend={"itemsizing": "constant", "title_text": color or ""},
        height=560, uirevision=f"{x}/{y}",
    )  # fmt: skip
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    layout: dict[str, Any] = fig.to_dict()["layout"]
    return layout


def _highlights(selected: np.ndarray | None, drawn: np.ndarray) -> bool:
    """Whether the map dims some drawn points. With every drawn point selected it looks as
    with none, so the spec stays the unselected one: st.plotly_chart's element id hashes the
    spec, and a new one is a new chart (WebGL set up and drawn again: seconds in Chromium
    without a GPU, for a select all or a clear that changes nothing on the map)."""
    return selected is not None and bool(selected.any()) and not bool(selected[drawn].all())


def _spread(positions: np.ndarray, most: int) -> np.ndarray:
    """At most `most` of `positions`, evenly spaced: selected rows the sample may have missed."""
    if len(positions) <= most:
        return positions
    return positions[np.linspace(0, len(positions) - 1, most).astype(np.int64)]


def _group_order(labels: list[str], sizes: np.ndarray) -> list[str]:
    """Largest groups first (ties in order of appearance); untagged, Other and 2+ tags last."""
    order = [labels[i] for i in np.argsort(-sizes, kind="stable")]
    tail = [v for v in (SEVERAL, OTHER, UNTAGGED_LABEL) if v in order]
    return [v for v in order if v not in tail] + tail


def _colour(label: str, i: int) -> str:
    if label == UNTAGGED_LABEL:
        return UNTAGGED
    if label == "tagged":
        return TAGGED
    return PALETTE[i % len(PALETTE)]


def _hover_text(rows: pd.DataFrame, id_column: str, title_column: str | None) -> np.ndarray:
    """Each row's id, then " · " and its title cut at 80 characters, joined as Arrow text
    (the pandas string ops took 1.5x as long for a 100,000-point sample)."""
    text = _arrow_text(rows[id_column])
    if title_column is not None and title_column != id_column:
        titles = pc.utf8_slice_codeunits(_arrow_text(rows[title_column]), 0, 80)
        text = pc.binary_join_element_wise(text, titles, pa.scalar(" · ", pa.large_string()))
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def _arrow_text(values: pd.Series) -> pa.Array:
    """A column as Arrow large text, nulls as ""."""
    text = pa.array(values.astype("str").fillna("").array, type=pa.large_string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _density(xs: np.ndarray, ys: np.ndarray, bins: int = 120) -> go.Heatmap:
    """How many rows fall in each cell of a grid over all rows: what the sample leaves out.
    Uniform cells by arithmetic and one bincount (np.histogram2d searches: 5x slower)."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    x, y = xs[ok], ys[ok]
    x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
    cx = np.minimum(((x - x0) * (bins / ((x1 - x0) or 1))).astype(np.int64), bins - 1)
    cy = np.minimum(((y - y0) * (bins / ((y1 - y0) or 1))).astype(np.int64), bins - 1)
    counts = np.bincount(cy * bins + cx, minlength=bins * bins).reshape(bins, bins)
    z = np.where(counts > 0, np.log1p(counts), np.nan)
    return go.Heatmap(
        x=x0 + (np.arange(bins) + 0.5) * (x1 - x0) / bins,
        y=y0 + (np.arange(bins) + 0.5) * (y1 - y0) / bins,
        z=z, showscale=False, hoverinfo="skip", name="density of all rows",
        colorscale=[[0, "rgba(128,128,128,0.05)"], [1, "rgba(128,128,128,0.45)"]],
    )  # fmt: skip


def title_column_of(df: pd.DataFrame, id_column: str) -> str | None:
    """A column worth showing on hover: title, name, label... (first match), or None."""
    for candidate in ("title", "name", "label", "text", "excerpt", "description"):
        for c in df.columns:
            if str(c).lower() == candidate and c != id_column:
                return str(c)
    return None
