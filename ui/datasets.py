"""Loading datasets into the session: demo tables (cached per process) and uploads."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st
from pandas.api.types import is_object_dtype

from tagging.columns import rank_id_columns, suggest_id_columns
from tagging.datasets import load_dataset
from tagging.demo import demo_atlas_points, demo_datasets
from tagging.errors import DatasetError
from tagging.large_dataset import open_parquet
from tagging.maps import suggest_map_columns
from ui import session


# Keyed by the map's size too: TAGGING_DEMO_ATLAS_POINTS may differ between app runs that
# share this process (AppTest, the ui.* benchmarks), and a cached frame of another size
# would not match the sandbox.
@st.cache_data(show_spinner="Building the demo dataset…", max_entries=6)
def demo_frame(key: str, atlas_points: int) -> pd.DataFrame:
    return demo_datasets(atlas_points)[key].frame()


def demo_workset(key: str) -> session.Workset:
    points = demo_atlas_points()
    demo = demo_datasets(points)[key]
    frame = demo_frame(key, points)
    x, y = suggest_map_columns(frame) or (None, None)
    return session.Workset(
        name=demo.name,
        frame=frame,
        id_column=demo.id_column,
        kind_column=demo.kind_column,
        demo_of=demo.provider,
        target=dict(demo.target),
        facet=demo.facet,
        x_column=x,
        y_column=y,
    )


LAST_PROVIDER_KEY = "_demo_provider"  # the provider of the previous run
DEMO_PICK_KEY = "ds_demo"  # the Dataset page's demo box


def ensure_demo_loaded(provider: str) -> None:
    """Open on the provider's demo; switching provider swaps a demo, never an upload, and
    drops what belonged to the previous provider. A demo loaded on purpose stays."""
    switched = st.session_state.get(LAST_PROVIDER_KEY) != provider
    st.session_state[LAST_PROVIDER_KEY] = provider
    if switched:
        session.forget_provider_state()
        st.session_state[DEMO_PICK_KEY] = provider  # the demo box follows the provider
    ws = session.workset()
    if ws is None or (switched and ws.demo_of is not None and ws.demo_of != provider):
        session.set_workset(demo_workset(provider))


def load_demo(key: str) -> None:
    """Load a demo on purpose; its ids belong to its provider, so switch to that too."""
    session.set_workset(demo_workset(key))
    owner = demo_datasets()[key].provider
    if owner in session.provider_names() and owner != session.provider():
        st.session_state[session.PROVIDER_KEY] = owner


def upload_workset(uploaded: object, name: str) -> session.Workset:
    """An uploaded file as a workset with a suggested id column; raises DatasetError."""
    frame = load_dataset(uploaded, name)
    ranked = rank_id_columns(frame)
    suggested = [col for col, _ in ranked]
    id_column = suggested[0] if suggested else str(frame.columns[0])
    x, y = suggest_map_columns(frame) or (None, None)
    return session.Workset(
        name=name,
        frame=frame,
        id_column=id_column,
        x_column=x,
        y_column=y,
        id_columns=tuple(suggested),
        # Object columns may hold 1 and "1": unique values, one id string.
        unique_ids=frozenset(
            col for col, unique in ranked if unique and not is_object_dtype(frame[col].dtype)
        ),
    )


DATA_DIR_ENV = "TAGGING_DATA_DIR"  # when set, server paths must lie inside this folder
PREVIEW_ROWS = 1_000  # a large dataset's first rows: what the column roles are picked from


def large_workset(path_text: str) -> session.Workset:
    """A Parquet file, folder or glob on the server, read through DuckDB (too large to
    upload: an upload must fit in memory twice); raises DatasetError."""
    text = path_text.strip()
    if not text:
        raise DatasetError("enter the path of a Parquet file or folder on the server")
    allowed = os.environ.get(DATA_DIR_ENV)
    if allowed:
        root = Path(allowed).resolve()
        inside = Path(text.split("*", 1)[0] or ".").resolve()
        if not inside.is_relative_to(root):
            raise DatasetError(
                f"{text} is outside {root} ({DATA_DIR_ENV}): choose a path inside it"
            )
    large = open_parquet(text)
    preview = large.page(limit=PREVIEW_ROWS)
    suggested = suggest_id_columns(preview)
    id_column = suggested[0] if suggested else large.columns[0]
    x, y = suggest_map_columns(preview) or (None, None)
    return session.Workset(
        name=large.label, frame=preview, id_column=id_column, x_column=x, y_column=y, large=large
    )
