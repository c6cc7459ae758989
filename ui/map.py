"""The Tag page's map: the filtered rows drawn from two numeric columns, a lasso or box that
selects every row inside it (not only the drawn sample), combined with the current selection
the way Atlas combines them (replace, add, subtract, intersect)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from _plotly_utils.basevalidators import is_homogeneous_array
from _plotly_utils.utils import to_typed_array_spec

from tagging import maps
from tagging.selection import fingerprint, points_in_polygon
from ui import session
from ui.known_tags import CACHE_KEY as KNOWN_TAGS_KEY
from ui.known_tags import known_tags
from ui.map_chart import encode, map_chart
from ui.target_form import current_target

MAP_KEY = "tag_map"  # the chart's key: its last selection is session_state[MAP_KEY].selection
MODE_KEY = "tag_map_mode"
COLOR_KEY = "tag_map_color"
APPLIED_KEY = "_tag_map_applied"  # digest of the last event applied: reruns repeat events
LAST_KEY = "_tag_map_last"  # (rows inside, mode) of the last lasso, for the caption
LAYERS_KEY = "_tag_map_layers"  # (digest, MapLayers): a million-row map takes a second to build
FIGURE_KEY = "_tag_map_figure"  # ((digest, selection rev), figure, points drawn)
HOVER_KEY = "_tag_map_hover"  # (dataset key, HoverText): rows' hover text, made once each
KEPT_HOVER = 4 * maps.MAX_DRAWN  # texts kept: a few maps' worth, not every row's
CONFIG = {"displaylogo": False, "scrollZoom": True}
MODES = {"replace": "Replace", "add": "Add", "subtract": "Subtract", "intersect": "Intersect"}
NONE = "(none)"


def map_panel(
    ws: session.Workset,
    rows: pd.DataFrame,
    positions: np.ndarray,
    on_change: Callable[[], None] | None = None,
) -> None:
    """Draw the map of `rows` (the filtered rows; `positions` theirs in the dataset) and
    apply a new lasso, box or click to the selection; `on_change` runs when it changed."""
    if not ws.has_map:
        st.caption("No map: pick its x and y columns on the Dataset page.")
        return
    x, y = str(ws.x_column), str(ws.y_column)
    color, mode = _controls(ws)
    (payload, revision), drawn = _figure(ws, rows, positions, color)
    selection = map_chart(payload, revision, MAP_KEY)
    if _apply(ws, selection, rows[x], rows[y], positions, mode):
        if on_change is not None:
            on_change()
        st.rerun()  # redraw the map with the new selection highlighted
    _caption(rows, drawn)


def _controls(ws: session.Workset) -> tuple[str | None, str]:
    skip = {ws.id_column, ws.x_column, ws.y_column}
    columns = [str(c) for c in ws.frame.columns if c not in skip]
    options = [NONE, maps.BY_TAGGED, maps.BY_TAG, *columns]
    if COLOR_KEY not in st.session_state or st.session_state[COLOR_KEY] not in options:
        st.session_state[COLOR_KEY] = ws.facet if ws.facet in options else NONE
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    color = left.selectbox("Colour the map by", options, key=COLOR_KEY)
    mode = right.segmented_control(
        "A lasso or box…", list(MODES), default="replace", key=MODE_KEY,
        format_func=MODES.__getitem__, help="How a new lasso, box or click combines with the "
        "current selection (grid ticks, select all filtered, earlier lassos).",
    )  # fmt: skip
    return (None if color == NONE else str(color)), str(mode or "replace")


def _encoded(spec: dict[str, Any]) -> tuple[bytes, str]:
    """The figure as the chart receives it, made once per selection (MapLayers.spec): numpy
    arrays as base64, as Figure.to_dict() sends them (only the traces' own arrays: plotly's
    convert_to_base64 visits every item of the sample-long lists), and no validation."""
    for trace in spec["data"]:
        for name, value in trace.items():
            if is_homogeneous_array(value):
                trace[name] = to_typed_array_spec(value)
    return encode(spec, CONFIG)


def _figure(
    ws: session.Workset, rows: pd.DataFrame, positions: np.ndarray, color: str | None
) -> tuple[tuple[bytes, str], int]:
    """The map figure and how many points it draws. Its layers are built again only when
    the rows, colours or tags changed; a new selection only redraws the highlight."""
    state = (
        known_tags(ws, session.provider(), current_target(ws, session.provider()))
        if color in (maps.BY_TAGGED, maps.BY_TAG)
        else None
    )
    digest = fingerprint(
        ws.version, ws.x_column, ws.y_column, ws.id_column, ws.kind_column, color,
        len(rows), int(pd.util.hash_pandas_object(rows.index, index=False).sum()),
        None if state is None else st.session_state[KNOWN_TAGS_KEY][0],
    )  # fmt: skip
    if rows.empty:
        empty = maps.map_figure(rows, str(ws.x_column), str(ws.y_column)).to_json()
        return encode(json.loads(empty), CONFIG), 0
    layers = st.session_state.get(LAYERS_KEY)
    if layers is None or layers[0] != digest:
        hover = _hover_text(ws)
        layers = (digest, maps.map_layers(
            rows, str(ws.x_column), str(ws.y_column), color=color, state=state,
            id_column=ws.id_column, kind_column=ws.kind_column,
            hover_of=lambda at: hover.kept(positions[at]),
        ))  # fmt: skip
        st.session_state[LAYERS_KEY] = layers
    drawn = (digest, session.selection_rev())
    cached = st.session_state.get(FIGURE_KEY)
    if cached is None or cached[0] != drawn:
        mask = session.selected_mask()[positions] if session.selected_count() else None
        spec = layers[1].spec(mask)
        points = sum(len(t["customdata"]) for t in spec["data"] if t["type"] == "scattergl")
        cached = (drawn, _encoded(spec), points)  # (counted before base64 replaces arrays)
        st.session_state[FIGURE_KEY] = cached
    return cached[1], cached[2]


def _hover_text(ws: session.Workset) -> maps.HoverText:
    """The dataset's hover text, kept per row across filters and colourings."""
    key = (ws.version, ws.name, ws.id_column)
    cached = st.session_state.get(HOVER_KEY)
    if cached is None or cached[0] != key:
        title = maps.title_column_of(ws.frame, ws.id_column)
        cached = (key, maps.HoverText(ws.frame, ws.id_column, title, most=KEPT_HOVER))
        st.session_state[HOVER_KEY] = cached
    return cached[1]


def _apply(
    ws: session.Workset,
    selection: Mapping[str, Any] | None,
    xs: pd.Series,
    ys: pd.Series,
    positions: np.ndarray,
    mode: str,
) -> bool:
    """Apply a new lasso, box or click once; True when the selection changed. None: the
    chart's last selection was made on another figure (a filter, colour or highlight ago)."""
    if selection is None:
        return False
    areas = polygons(selection)
    clicked = [] if areas else clicked_positions(selection)
    if not areas and not clicked:
        st.session_state[APPLIED_KEY] = None  # the chart was cleared or redrawn
        return False
    digest = fingerprint(
        mode, [a.tolist() for a in areas], clicked, len(positions), selection.get("revision")
    )
    if st.session_state.get(APPLIED_KEY) == digest:
        return False
    st.session_state[APPLIED_KEY] = digest
    if areas:
        hit = area_mask(xs.to_numpy(np.float64, na_value=np.nan),
                        ys.to_numpy(np.float64, na_value=np.nan), areas)  # fmt: skip
    else:
        hit = np.zeros(len(positions), dtype=bool)
        hit[[p for p in clicked if 0 <= p < len(positions)]] = True
    st.session_state[LAST_KEY] = (int(hit.sum()), mode, "lasso or box" if areas else "click")
    rows = np.zeros(len(ws.frame), dtype=bool)
    rows[positions[hit]] = True
    return session.change_selection(rows, mode)


def polygons(selection: Mapping[str, Any]) -> list[np.ndarray]:
    """Every box and lasso of a plotly_chart selection event as an (n, 2) vertex array
    (a box {"x": [x0, x1], "y": [y0, y1]} becomes its four corners)."""
    out = []
    for box in selection.get("box") or []:
        (x0, x1), (y0, y1) = box["x"][:2], box["y"][:2]
        out.append(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64))
    for lasso in selection.get("lasso") or []:
        out.append(np.column_stack([lasso["x"], lasso["y"]]).astype(np.float64))
    return [p for p in out if len(p) >= 3]


def area_mask(xs: np.ndarray, ys: np.ndarray, areas: list[np.ndarray]) -> np.ndarray:
    """Rows inside any of the areas (plotly unites shift-drawn selections)."""
    hit = np.zeros(len(xs), dtype=bool)
    for polygon in areas:
        hit |= points_in_polygon(xs, ys, polygon)
    return hit


def clicked_positions(selection: Mapping[str, Any]) -> list[int]:
    """Row positions of clicked points: their customdata (the density layer has none)."""
    out = []
    for point in selection.get("points") or []:
        data = point.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if isinstance(data, int | float) and not isinstance(data, bool):
            out.append(int(data))
    return sorted(set(out))


def _caption(rows: pd.DataFrame, drawn: int) -> None:
    note = (
        f"Drawing {drawn:,} of {len(rows):,} filtered rows (a sample per colour, over the "
        "density of all of them); a lasso or box selects every row inside it."
        if drawn < len(rows)
        else f"{len(rows):,} filtered rows; a lasso or box selects every row inside it."
    )
    last = st.session_state.get(LAST_KEY)
    if last is not None:
        inside, mode, how = last
        note += f" Last {how}: **{inside:,} rows** ({MODES[mode].lower()})."
    st.caption(note)
