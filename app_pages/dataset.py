"""Dataset page: load a file or a demo table, check the id column, name the column roles."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from tagging import providers
from tagging.columns import IdReport, id_column_report, suggest_id_columns
from tagging.demo import demo_datasets
from tagging.errors import TaggingError
from ui import persist, session
from ui.datasets import DEMO_PICK_KEY, PREVIEW_ROWS, large_workset, load_demo, upload_workset

UPLOAD_TYPES = ["csv", "tsv", "parquet", "json", "jsonl", "xlsx"]
NONE = session.NO_COLUMN


@st.cache_data(show_spinner="Looking for id columns…", max_entries=8)
def _suggested(version: int, name: str, _frame: pd.DataFrame) -> list[str]:
    return suggest_id_columns(_frame)


@st.cache_data(show_spinner=False, max_entries=16)
def _report(version: int, name: str, column: str, _frame: pd.DataFrame) -> IdReport:
    return id_column_report(_frame, column)


def _load_demo() -> None:
    load_demo(st.session_state[DEMO_PICK_KEY])


def _load_upload() -> None:
    uploaded = st.session_state.get("ds_upload")
    if uploaded is None:
        return
    try:
        ws = upload_workset(uploaded, uploaded.name)
    except TaggingError as exc:  # the previous dataset stays loaded
        st.session_state["ds_error"] = str(exc)
        return
    st.session_state.pop("ds_error", None)
    session.set_workset(ws)
    persist.save_upload(uploaded.name, uploaded.getvalue())  # a reload reads it again


def _open_large() -> None:
    path = str(st.session_state.get("ds_large_path") or "").strip()
    try:
        ws = large_workset(path)
    except TaggingError as exc:  # the previous dataset stays loaded
        st.session_state["ds_error"] = str(exc)
        return
    st.session_state.pop("ds_error", None)
    session.set_workset(ws)
    st.session_state[persist.LARGE_KEY] = path  # a reload opens it again


def _large_picker() -> None:
    with st.expander("Larger than memory: a Parquet file or folder on the server",
                     icon=":material/database:"):  # fmt: skip
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        left.text_input(
            "Path on the server",
            key="ds_large_path",
            placeholder="/data/events/  ·  /data/events/*.parquet  ·  /data/big.parquet",
        )
        right.button(
            "Open", key="ds_open_large", on_click=_open_large, icon=":material/folder_open:"
        )
        st.caption(
            "Read through DuckDB: filters run as SQL over the files, the Tag page shows a page "
            "of rows and a sample on the map, and a push streams the ids."
        )


def _source_picker() -> None:
    demos = demo_datasets()
    st.session_state.setdefault(DEMO_PICK_KEY, session.provider())  # widgets of other pages go
    left, right = st.columns(2, gap="large")
    with left, st.container(border=True):
        st.markdown("**Demo dataset**")
        st.selectbox(
            "Demo dataset",
            list(demos),
            format_func=lambda k: demos[k].name,
            key=DEMO_PICK_KEY,  # set to the provider's demo on each provider switch
            label_visibility="collapsed",
        )
        st.caption(demos[st.session_state[DEMO_PICK_KEY]].description)
        st.button("Load demo", key="ds_load_demo", on_click=_load_demo, icon=":material/bolt:")
    with right, st.container(border=True):
        st.markdown("**Upload a file**")
        st.file_uploader(
            "CSV, TSV, Parquet, JSON, JSONL or Excel",
            type=UPLOAD_TYPES,
            key="ds_upload",
            on_change=_load_upload,
            label_visibility="collapsed",
        )
        st.caption("CSV, TSV, Parquet, JSON, JSONL or Excel (.xlsx)")
    _large_picker()
    if st.session_state.get("ds_error"):
        st.error(st.session_state["ds_error"], icon=":material/error:")


def _position(options: Sequence[object], value: object) -> int:
    """Where a selectbox starts: the current value, or the first option when it is gone."""
    return options.index(value) if value in options else 0


def _id_column(ws: session.Workset) -> None:
    found = ws.id_columns
    suggested = list(found) if found is not None else _suggested(ws.version, ws.name, ws.frame)
    others = [c for c in ws.frame.columns if c not in suggested]
    options = suggested + others
    choice = st.selectbox(
        "Id column",
        options,
        index=_position(options, ws.id_column),
        key="ds_role_id",
        help="Columns with unique, non-empty values are listed first.",
    )
    if choice != ws.id_column:
        session.update_roles(id_column=choice)
    report = _report(ws.version, ws.name, choice, ws.frame)
    if report.ok:
        st.caption(f":green[:material/check_circle:] unique and non-empty in {report.rows:,} rows")
    else:
        st.warning(report.message, icon=":material/warning:")


def _kind(ws: session.Workset, provider: str) -> None:
    api = providers.get(provider)
    choices = api.kinds
    if not choices:
        where = " (where they live is chosen on the Tag page)" if api.target_fields else ""
        st.caption(f"{api.label} ids need no type{where}.")
        return
    label = session.kind_label(provider)
    columns = list(ws.frame.columns)
    mode = st.radio(
        label,
        ["column", "fixed"],
        index=0 if ws.kind_column in columns else 1,
        format_func={"column": "From a column", "fixed": "Same for every row"}.__getitem__,
        horizontal=True,
        key=f"ds_role_kind_mode_{provider}",
    )
    if mode == "column":
        col = st.selectbox(
            f"{label} column",
            columns,
            index=_position(columns, ws.kind_column),
            key=f"ds_role_kind_column_{provider}",
        )
        if (col, None) != (ws.kind_column, ws.fixed_kind):
            session.update_roles(kind_column=col, fixed_kind=None)
    else:
        kind = st.selectbox(
            label,
            choices,
            index=_position(choices, ws.fixed_kind),
            key=f"ds_role_kind_fixed_{provider}",
        )
        if (None, kind) != (ws.kind_column, ws.fixed_kind):
            session.update_roles(kind_column=None, fixed_kind=kind)


def _tags_column(ws: session.Workset) -> None:
    options = [NONE, *ws.frame.columns]
    col = st.selectbox(
        "Existing tags column (optional)",
        options,
        index=_position(options, ws.tags_column),
        key="ds_role_tags",
        help="Tags the rows already carry, e.g. `a;b` or a list: the plan skips them.",
    )
    chosen = None if col == NONE else col
    if chosen != ws.tags_column:
        session.update_roles(tags_column=chosen)


def _map_columns(ws: session.Workset) -> None:
    """The map's x and y: numeric columns; picked on load when names say so (x/y, umap_*)."""
    numeric = [c for c in ws.frame.columns if pd.api.types.is_numeric_dtype(ws.frame[c])]
    options = [NONE, *numeric]
    left, right = st.columns(2)
    x = left.selectbox(
        "Map x", options, index=_position(options, ws.x_column), key="ds_role_map_x",
        help="Two numeric columns (an embedding's 2-D projection) draw the Tag page's map.",
    )  # fmt: skip
    y = right.selectbox(
        "Map y", options, index=_position(options, ws.y_column), key="ds_role_map_y"
    )
    chosen = (None if x == NONE else x, None if y == NONE else y)
    if chosen != (ws.x_column, ws.y_column):
        session.update_roles(x_column=chosen[0], y_column=chosen[1])


def _dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "column": frame.columns,
            "dtype": [str(t) for t in frame.dtypes],
            "non-null": frame.notna().sum().to_numpy(),
        }
    )


st.title("Dataset", anchor=False)
st.caption("Load the rows you want to tag, then say which column holds the ids.")
_source_picker()
ws = session.workset()
if ws is None:
    st.info("Load a demo dataset or upload a file to start.")
    st.stop()
provider = session.provider()

st.subheader(ws.name, anchor=False, divider="gray")
for note in ws.frame.attrs.get("notes", []):
    st.info(note, icon=":material/info:")
m1, m2, m3 = st.columns(3)
m1.metric("Rows", f"{ws.rows:,}")
m2.metric("Columns", f"{ws.frame.shape[1]:,}")
m3.metric("Selected for tagging", f"{session.selected_count():,}")

roles, preview = st.columns([1, 2], gap="large")
with roles, st.container(border=True):
    st.markdown("**Column roles**")
    _id_column(ws)
    _kind(session.workset() or ws, provider)
    _tags_column(session.workset() or ws)
    _map_columns(session.workset() or ws)
with preview:
    tab_rows, tab_types = st.tabs(["Preview", "Columns and types"])
    tab_rows.dataframe(ws.frame.head(200), hide_index=True, height=420, key="ds_preview")
    tab_types.dataframe(_dtypes(ws.frame), hide_index=True, height=420)
    st.caption(f"First {min(200, len(ws.frame)):,} of {ws.rows:,} rows")
if ws.large is not None:
    st.info(
        f"Read through DuckDB from {len(ws.large.files):,} Parquet file(s); the id check and "
        f"the column roles look at the first {PREVIEW_ROWS:,} rows.",
        icon=":material/database:",
    )
