"""Coverage page: how much of the dataset carries tags, by tag and by facet, and over time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import tagging
from tagging import charts, providers
from tagging.coverage import (
    Coverage,
    coverage,
    untagged_keys,
)
from tagging.coverage_time import coverage_over_time, events_from_journal
from tagging.errors import TaggingError
from tagging.export import to_csv_bytes
from tagging.selection import fingerprint, id_strings
from ui import session
from ui.filter_builder import ID_FILTER_KEY, IdFilter
from ui.known_tags import known_tags, state_revision
from ui.target_form import current_target

FACET_MAX_VALUES = 1_000  # columns with more distinct values make unreadable charts
NONE = "(none)"
PLOTLY_HEIGHT = 450  # what plotly draws when a figure sets no height


def _typed(ws: session.Workset, provider: str) -> bool:
    """Immuta model ids repeat across types (data source 2, project 2): match (type, id)."""
    return bool(providers.get(provider).kinds) and ws.kind_column is not None


@st.cache_data(show_spinner="Counting tags…", max_entries=16)
def _coverage(
    digest: str,
    id_column: str,
    facet: str | None,
    tags: tuple[str, ...],
    kind_column: str | None,
    _frame: pd.DataFrame,
    _state: pd.DataFrame,
) -> Coverage:
    return coverage(
        _frame, id_column, _state, facet=facet, tags=tags or None, kind_column=kind_column
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _over_time(
    digest: str,
    provider: str,
    target: tuple[tuple[str, str], ...],
    id_column: str,
    _journal: tagging.Journal,
    _frame: pd.DataFrame,
) -> pd.DataFrame:
    """The journal replayed once per state revision: it cost ~0.9 s on every rerun of the
    page at a million rows (a facet change, a tag picked)."""
    events = events_from_journal(_journal, provider, dict(target))
    return coverage_over_time(events, ids=id_strings(_frame, id_column).dropna())


@st.cache_data(show_spinner=False, max_entries=16)
def _facet_options(version: int, name: str, _frame: pd.DataFrame) -> list[str]:
    return [c for c in _frame.columns if _frame[c].nunique(dropna=True) <= FACET_MAX_VALUES]


def _charts(spec: list[int], charts: list[tuple[go.Figure, pd.DataFrame | None, str]]) -> None:
    """Charts side by side at one height, then the tables behind them in a row of their own:
    the "Table behind this chart" expanders line up whatever each chart's own height."""
    height = max(fig.layout.height or PLOTLY_HEIGHT for fig, _, _ in charts)
    for column, (fig, _, name) in zip(st.columns(spec), charts, strict=True):
        fig.update_layout(height=height)
        column.plotly_chart(fig, key=f"cov_chart_{name}")
    for column, (_, table, name) in zip(st.columns(spec), charts, strict=True):
        with column:
            _table(table, name)


def _table(table: pd.DataFrame | None, name: str) -> None:
    """The table behind a chart, and that table as a formula-safe CSV."""
    if table is None or table.empty:
        return
    with st.expander("Table behind this chart", icon=":material/table:"):
        st.dataframe(table, hide_index=True, height=min(300, 38 + 35 * len(table)))
        st.download_button(
            "Download CSV",
            to_csv_bytes(table),
            file_name=f"coverage-{name}.csv",
            mime="text/csv",
            key=f"cov_dl_{name}",
            icon=":material/download:",
        )


def _untagged_button(
    ws: session.Workset, state: pd.DataFrame, tags: list[str], n: int, kind_column: str | None
) -> None:
    if st.button(
        f"Filter the {n:,} untagged rows on the Tag page",
        key="cov_untagged",
        icon=":material/filter_alt:",
        type="primary",
        disabled=n == 0,
    ):
        keys = untagged_keys(ws.frame, ws.id_column, state, tags or None, kind_column=kind_column)
        label = "untagged" + (f" by {', '.join(tags)}" if tags else "")
        restrict = IdFilter(label, frozenset(keys.dropna().tolist()), kind_column)
        # Start from a clean filter set: stacked on other filters, few or no rows would match.
        st.session_state[session.FILTERS_KEY] = []
        st.session_state[session.SEARCH_KEY] = ""
        st.session_state[ID_FILTER_KEY] = restrict
        st.switch_page("app_pages/tag.py")


st.title("Coverage", anchor=False)
ws = session.loaded_workset()
if ws.large is not None:  # only a preview is in memory: its coverage would mislead
    st.info(
        "Coverage counts the dataset in memory; for one read through DuckDB it is not drawn "
        "yet. Load a file that fits in memory to see it.",
        icon=":material/database:",
    )
    st.stop()
provider = session.provider()
target = current_target(ws, provider)
journal = session.journal()
try:
    state = known_tags(ws, provider, target)
except TaggingError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
where = ", ".join(f"{k} {v}" for k, v in target.items())
source = "the journal confirmed" if session.is_live() else "the sandbox holds"
st.caption(
    f"{ws.name} against the tags {source} in "
    f"{session.label(provider)}{' · ' + where if where else ''}"
    f"{' and the column ' + repr(ws.tags_column) if ws.tags_column else ''}."
)

facets = _facet_options(ws.version, ws.name, ws.frame)
default_facet = ws.facet if ws.facet in facets else NONE
c1, c2 = st.columns([1, 2])
facet_choice = c1.selectbox(
    "Break down by",
    [NONE, *facets],
    index=[NONE, *facets].index(default_facet),
    key="cov_facet",
)
tag_names = sorted(state["tag"].unique().tolist())
tags = c2.multiselect("Only these tags", tag_names, key="cov_tags", placeholder="All tags")
facet = None if facet_choice == NONE else facet_choice

kind_column = ws.kind_column if _typed(ws, provider) else None
# The known tags' own revision, not a hash of them: hashing 350k rows cost 0.15 s a rerun.
digest = fingerprint(ws.version, ws.name, ws.id_column, provider, state_revision())
try:
    cov = _coverage(digest, ws.id_column, facet, tuple(tags), kind_column, ws.frame, state)
except TaggingError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

m = st.columns(4)
m[0].metric("Rows", f"{cov.rows:,}")
m[1].metric("Tagged", f"{cov.tagged:,}")
m[2].metric("Untagged", f"{cov.untagged:,}")
m[3].metric("Tagged share", f"{cov.share:.1%}")
_untagged_button(ws, state, tags, cov.untagged, kind_column)

_charts(
    [3, 2],
    [
        (charts.tag_bar(cov), cov.per_tag, "per_tag"),
        (charts.tags_per_row_donut(cov), cov.tags_per_row, "tags_per_row"),
    ],
)
if facet is not None:
    _charts(
        [1, 1],
        [
            (charts.facet_stacked_bar(cov), cov.facet_totals, "facet_totals"),
            (charts.facet_heatmap(cov), cov.by_facet, "by_facet"),
        ],
    )
if (cov.hierarchy["level"] > 1).any():  # dotted names, e.g. Immuta's A.B.C
    _charts([1], [(charts.hierarchy_sunburst(cov), cov.hierarchy, "hierarchy")])
over_time = _over_time(
    digest, provider, tuple(sorted(target.items())), ws.id_column, journal, ws.frame
)
_charts([1], [(charts.coverage_line(over_time), over_time, "over_time")])
