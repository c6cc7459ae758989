"""The Tag page's first step for a dataset read through DuckDB (tagging.large_dataset): the
filters run as SQL, the grid shows one page of the filtered rows, the map a sample of them,
and "select all filtered" selects by the conditions: no mask of millions of rows is built."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tagging.errors import TaggingError
from tagging.filters import Condition
from ui import filter_builder as filters
from ui import session
from ui.known_tags import carried_tags
from ui.target_form import current_target

PAGE_ROWS = 100
TAGS_NOW = "tags now"  # the grid's column of the tags each row carries
MAP_SAMPLE = 20_000  # points drawn: WebGL stays fluent far below 1e5
PAGE_KEY = "large_page"
GRID_KEY = "large_grid"
MAP_KEY = "large_map"


@st.cache_data(show_spinner="Counting…", max_entries=64)
def _count(
    files: tuple[str, ...], conds: tuple[Condition, ...], search: str | None, _ws: session.Workset
) -> int:
    assert _ws.large is not None
    return _ws.large.count(conds, search)


@st.cache_data(show_spinner="Reading rows…", max_entries=32)
def _page(
    files: tuple[str, ...],
    conds: tuple[Condition, ...],
    search: str | None,
    page: int,
    _ws: session.Workset,
) -> pd.DataFrame:
    assert _ws.large is not None
    return _ws.large.page(conds, search, offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS)


@st.cache_data(show_spinner="Sampling the map…", max_entries=16)
def _sample(
    files: tuple[str, ...],
    conds: tuple[Condition, ...],
    search: str | None,
    columns: tuple[str, ...],
    _ws: session.Workset,
) -> pd.DataFrame:
    assert _ws.large is not None
    return _ws.large.sample(conds, search, rows=MAP_SAMPLE, columns=list(columns))


def _files(ws: session.Workset) -> tuple[str, ...]:
    """The cache key of a large dataset: its files (another session's "data" folder is not
    this one), the frame itself never hashed."""
    assert ws.large is not None
    return ws.large.files


def render(ws: session.Workset) -> None:
    """Filters, counts, select all filtered, a sampled map and a paged grid."""
    filters.render(ws)
    conds = tuple(filters.conditions())
    search = filters.search_text().strip() or None
    if filters.id_filter() is not None:
        st.caption("Id filters from other pages apply to datasets in memory only.")
    try:
        matching = _count(_files(ws), conds, search, ws)
    except TaggingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    _selection_bar(ws, conds, search, matching)
    if ws.has_map and matching:
        _map(ws, conds, search, matching)
    _grid(ws, conds, search, matching)


def _selection_bar(
    ws: session.Workset, conds: tuple[Condition, ...], search: str | None, matching: int
) -> None:
    sel = session.large_selection()
    st.markdown(
        f"**{sel.count if sel else 0:,} selected** · {matching:,} of {ws.rows:,} rows match"
    )
    if sel is not None:
        what = [str(c) for c in sel.conditions] + ([f"search '{sel.search}'"] if sel.search else [])
        st.caption("Selected: the rows where " + (" and ".join(what) or "(every row)"))
    bar = st.container(horizontal=True, vertical_alignment="center")
    bar.button(
        f"Select all {matching:,} filtered rows",
        key="tag_select_all",
        on_click=session.set_large_selection,
        args=(session.LargeSelection(ws.version, conds, search, matching),),
        icon=":material/select_all:",
        disabled=not matching,
        help="Selects by these filters: the push streams the matching ids from the files.",
    )
    bar.button(
        "Clear selection",
        key="tag_clear_selection",
        on_click=session.set_large_selection,
        args=(None,),
        type="tertiary",
        disabled=sel is None,
    )


def _map(ws: session.Workset, conds: tuple[Condition, ...], search: str | None, n: int) -> None:
    x, y = str(ws.x_column), str(ws.y_column)
    try:
        points = _sample(_files(ws), conds, search, (ws.id_column, x, y), ws)
    except TaggingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    fig = go.Figure(
        go.Scattergl(
            x=points[x],
            y=points[y],
            mode="markers",
            text=points[ws.id_column],
            marker={"size": 3, "opacity": 0.6},
            hovertemplate="%{text}<extra></extra>",
        )  # fmt: skip
    )
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title=x,
                      yaxis_title=y)  # fmt: skip
    st.plotly_chart(fig, key=MAP_KEY, config={"displaylogo": False, "scrollZoom": True})
    st.caption(
        f"A sample of {len(points):,} of {n:,} filtered rows (the same sample on every "
        "redraw). Select by filters here: a lasso needs the dataset in memory."
    )


def _grid(ws: session.Workset, conds: tuple[Condition, ...], search: str | None, n: int) -> None:
    pages = max(1, math.ceil(n / PAGE_ROWS))
    if int(st.session_state.get(PAGE_KEY) or 1) > pages:
        st.session_state[PAGE_KEY] = 1  # fewer rows match now
    page = int(st.number_input("Page", min_value=1, max_value=pages, step=1, key=PAGE_KEY))
    try:
        rows = _page(_files(ws), conds, search, page, ws)
    except TaggingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.dataframe(_with_carried_tags(ws, rows), key=GRID_KEY, height=380)
    first = (page - 1) * PAGE_ROWS
    st.caption(f"Rows {first + 1 if n else 0:,}–{first + len(rows):,} of {n:,} filtered rows "
               f"(page {page:,} of {pages:,}), in file order")  # fmt: skip


def _with_carried_tags(ws: session.Workset, rows: pd.DataFrame) -> pd.DataFrame:
    """The page's rows with a first column of the tags each carries now (as the grid of a
    dataset in memory shows them); without it when the state cannot be read."""
    provider = session.provider()
    try:
        carried = carried_tags(ws, rows, provider, current_target(ws, provider))
    except TaggingError:
        return rows
    return rows.assign(**{TAGS_NOW: carried.to_numpy()})[[TAGS_NOW, *rows.columns]]
