"""What every page shares through st.session_state: the loaded dataset, the connection
settings and the journal. Session bookkeeping only; the work happens in tagging/."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import streamlit as st

import tagging
from tagging import providers, selection
from tagging.filters import Condition
from tagging.selection import RowKeys
from ui import auth

if TYPE_CHECKING:
    from tagging.large_dataset import LargeDataset

PROVIDER_KEY = "provider"
MODE_KEY = "mode"
WORKSET_KEY = "workset"
SELECTED_KEY = "selection"  # a Selection: a mask over the dataset rows
ROW_KEYS_KEY = "_row_keys"  # (version, id column, kind column), RowKeys
FILTERS_KEY = "filters"
SEARCH_KEY = "search"
SELECTION_REV_KEY = "selection_rev"
ID_FILTER_KEY = "id_filter"  # an IdFilter set by another page (e.g. Coverage "untagged")
LARGE_SELECTED_KEY = "large_selection"  # a LargeSelection: the conditions selected rows meet
# Per dataset: what the analyst typed or was told about the old one means nothing for a new one.
DATASET_SCOPED = ("ds_error", ID_FILTER_KEY, "tag_result", "tag_plan", LARGE_SELECTED_KEY)
# Per provider: tags, results and errors of one API mean nothing for another.
PROVIDER_SCOPED = ("ds_error", "tag_result", "tag_plan", "_connection_check")
PROVIDER_TEXT = {"tag_new": "", "tag_existing": []}  # widgets reset to these values
NO_COLUMN = "(none)"  # a role no column plays
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"
DEFAULT_JOURNAL = ".tagging/journal.db"


@dataclass(frozen=True)
class Workset:
    """The loaded dataset and the roles the analyst gave its columns."""

    name: str
    frame: pd.DataFrame = field(repr=False)
    id_column: str
    kind_column: str | None = None  # per-row Nekt resource type / Immuta model type
    fixed_kind: str | None = None  # one type for every row
    tags_column: str | None = None  # existing tags, e.g. "a;b"
    demo_of: str | None = None  # provider whose demo dataset this is
    target: Mapping[str, str] = field(default_factory=dict)  # Atlas: {"projection_id": P}
    facet: str | None = None  # a good default facet for coverage
    x_column: str | None = None  # the map's coordinates (both or neither)
    y_column: str | None = None
    version: int = 0  # bumped on every load: a cheap cache and widget key
    # Columns that could hold ids, best first, as found on loading (None: not looked for):
    # a million-row uniqueness check is not worth doing twice.
    id_columns: tuple[str, ...] | None = None
    unique_ids: frozenset[str] = frozenset()  # of those, columns whose id strings are unique
    # A Parquet dataset read through DuckDB: `frame` is then only its first rows (a preview
    # for the column roles), and the Tag page selects by conditions, not by a row mask.
    large: LargeDataset | None = field(default=None, repr=False, compare=False)

    @property
    def rows(self) -> int:
        return self.large.rows if self.large is not None else len(self.frame)

    def kinds(self, frame: pd.DataFrame) -> str | pd.Series | None:
        """The kinds of `frame`'s rows as TagOperation wants them."""
        if self.kind_column:
            return frame[self.kind_column].astype(str)
        return self.fixed_kind

    @property
    def has_map(self) -> bool:
        return bool(self.x_column and self.y_column)

    def with_roles(self, **roles: Any) -> Workset:
        return replace(self, **roles)


def provider_names() -> tuple[str, ...]:
    return providers.names()


def label(provider: str) -> str:
    """What pages call a provider ("Nomic Atlas"); a name no longer registered as it is."""
    return providers.get(provider).label if provider in providers.names() else provider


def kind_label(provider: str) -> str:
    """What a row's "kind" is called ("Nekt resource type"); "" when ids have no kinds."""
    api = providers.get(provider)
    return f"{api.label} {api.kind_noun}" if api.kinds else ""


def provider() -> str:
    return str(st.session_state.get(PROVIDER_KEY, provider_names()[0]))


def is_live() -> bool:
    return st.session_state.get(MODE_KEY) == "live"


def sandbox_url() -> str:
    return os.environ.get("TAGGING_SANDBOX_URL", DEFAULT_SANDBOX_URL).rstrip("/")


def journal_path() -> str:
    return os.environ.get("TAGGING_JOURNAL", DEFAULT_JOURNAL)


def signed_in_email() -> str | None:
    """The signed-in user's email where the app uses st.login (OIDC), else None."""
    return auth.current_email()


def journal() -> tagging.Journal:
    """The journal (a file path or a postgresql:// URL in TAGGING_JOURNAL), opened once per
    server process, path and user; its jobs are recorded as the signed-in user's
    (TAGGING_USER overrides)."""
    return _open_journal(journal_path(), signed_in_email())


@st.cache_resource(show_spinner=False)
def _open_journal(path: str, actor: str | None) -> tagging.Journal:
    return tagging.Journal(path, actor=actor)


def workset() -> Workset | None:
    ws = st.session_state.get(WORKSET_KEY)
    return ws if isinstance(ws, Workset) else None


def loaded_workset() -> Workset:
    """The loaded dataset; without one, a pointer to the Dataset page ends this run."""
    ws = workset()
    if ws is None:
        st.info("Load a dataset on the Dataset page first.")
        st.stop()
    return ws


def set_workset(ws: Workset) -> None:
    """Load a dataset: a new version, and the old selection and filters no longer apply."""
    old = workset()
    version = (old.version + 1) if old else 1
    st.session_state[WORKSET_KEY] = replace(ws, version=version)
    st.session_state.pop(SELECTED_KEY, None)  # the next read starts an empty one
    st.session_state[SELECTION_REV_KEY] = selection_rev() + 1
    st.session_state[FILTERS_KEY] = []
    st.session_state[SEARCH_KEY] = ""
    for key in DATASET_SCOPED:
        st.session_state.pop(key, None)
    # Role widgets of the Dataset page describe the old columns. Deleting their keys is not
    # enough: a widget keeps its id across datasets and the browser would show its old value.
    for key in [k for k in st.session_state if str(k).startswith("ds_role_")]:
        del st.session_state[key]
    new = workset()
    if new is not None:
        st.session_state.update(_role_values(new))


def _role_values(ws: Workset) -> dict[str, str]:
    """The Dataset page's role widgets as the new dataset's roles say."""
    return {
        "ds_role_id": ws.id_column,
        "ds_role_tags": ws.tags_column or NO_COLUMN,
        "ds_role_map_x": ws.x_column or NO_COLUMN,
        "ds_role_map_y": ws.y_column or NO_COLUMN,
    }


def forget_provider_state() -> None:
    """After a provider switch: drop what belonged to the previous provider."""
    for key in PROVIDER_SCOPED:
        st.session_state.pop(key, None)
    for key, empty in PROVIDER_TEXT.items():
        st.session_state[key] = type(empty)()


def update_roles(**roles: Any) -> None:
    """Change column roles of the loaded dataset without dropping the selection."""
    ws = workset()
    if ws is not None:
        st.session_state[WORKSET_KEY] = ws.with_roles(**roles)


# --- the selection ----------------------------------------------------------------------------
# One boolean per dataset row (`Selection.mask`), closed over equal row keys; ids only where a
# mask cannot go (a saved session, tests). A dataset that is not a pandas frame plugs in by
# giving `row_keys` its keys: everything else is positional.


@dataclass(frozen=True, eq=False)
class Selection:
    """The selected rows of one dataset version, under one keying (id column, kind column)."""

    version: int
    keying: tuple[str, str | None]
    rows: RowKeys | None = field(repr=False)  # None while nothing is selected
    mask: np.ndarray = field(repr=False)  # read-only, len(dataset), closed over equal keys
    count: int  # selected keys (rows with equal keys count once)

    def ids(self) -> frozenset[str]:
        return self.rows.ids(self.mask) if self.rows is not None else frozenset()


def _keying(ws: Workset) -> tuple[str, str | None]:
    return (ws.id_column, ws.kind_column)


def row_keys(ws: Workset) -> RowKeys:
    """Keys of every dataset row, computed once per dataset version and key columns."""
    sig = (ws.version, *_keying(ws))
    cached = st.session_state.get(ROW_KEYS_KEY)
    if cached is None or cached[0] != sig:
        keys = selection.row_keys(ws.frame, ws.id_column, ws.kind_column)
        cached = (sig, RowKeys.of(keys, unique=ws.id_column in ws.unique_ids))
        st.session_state[ROW_KEYS_KEY] = cached
    return cast(RowKeys, cached[1])


def _selection(ws: Workset) -> Selection:
    """The stored selection for `ws`; empty for another dataset, re-closed (the same rows,
    their new keys) after the id or kind column changed."""
    sel = st.session_state.get(SELECTED_KEY)
    if isinstance(sel, Selection) and sel.version == ws.version and len(sel.mask) == len(ws.frame):
        if sel.keying == _keying(ws):
            return sel
        return _store(ws, sel.mask)
    return _store(ws, np.zeros(len(ws.frame), dtype=bool))


def _store(ws: Workset, mask: np.ndarray) -> Selection:
    mask = np.asarray(mask, dtype=bool)
    # An empty selection needs no keys: hashing a million ids waits for the first pick.
    rows = row_keys(ws) if mask.any() else None
    if rows is not None:
        mask = rows.close(mask)
    old = st.session_state.get(SELECTED_KEY)
    if isinstance(old, Selection) and old.version == ws.version and np.array_equal(old.mask, mask):
        if old.keying == _keying(ws):
            return old
    else:
        st.session_state[SELECTION_REV_KEY] = selection_rev() + 1
    mask = mask.copy() if mask.base is not None or mask.flags.writeable else mask
    mask.flags.writeable = False  # shared by reruns: changes go through set_selected_mask
    count = rows.count(mask) if rows is not None else 0
    sel = Selection(ws.version, _keying(ws), rows, mask, count)
    st.session_state[SELECTED_KEY] = sel
    return sel


def selected_mask() -> np.ndarray:
    """One read-only bool per row of the loaded dataset: is it selected."""
    ws = workset()
    return _selection(ws).mask if ws is not None else np.zeros(0, dtype=bool)


def selected_count() -> int:
    """How many keys are selected (what "N selected" says); for a large dataset, how many
    rows the selected conditions match."""
    ws = workset()
    if ws is not None and ws.large is not None:
        large = large_selection()
        return large.count if large is not None else 0
    return _selection(ws).count if ws is not None else 0


# --- the selection of a large dataset: conditions, never a mask of its rows ------------------


@dataclass(frozen=True)
class LargeSelection:
    """The rows of a large dataset that match `conditions` and `search` (all of them)."""

    version: int
    conditions: tuple[Condition, ...]
    search: str | None
    count: int


def large_selection() -> LargeSelection | None:
    ws = workset()
    sel = st.session_state.get(LARGE_SELECTED_KEY)
    if ws is None or not isinstance(sel, LargeSelection) or sel.version != ws.version:
        return None
    return sel


def set_large_selection(sel: LargeSelection | None) -> None:
    st.session_state[LARGE_SELECTED_KEY] = sel
    st.session_state[SELECTION_REV_KEY] = selection_rev() + 1


def selected_ids() -> frozenset[str]:
    """The selected keys as text: a million strings at a million rows, so not per run."""
    ws = workset()
    return _selection(ws).ids() if ws is not None else frozenset()


def set_selected_mask(mask: np.ndarray) -> None:
    """Select exactly the rows of `mask` (one bool per dataset row), and rows sharing their
    keys; bumps `selection_rev` when that changes anything."""
    ws = workset()
    if ws is not None:
        _store(ws, mask)


def change_selection(rows: np.ndarray, mode: str) -> bool:
    """Combine the selection with `rows` (a bool per dataset row) by key, as Atlas combines
    a lasso: "replace", "add", "subtract" or "intersect". True when it changed."""
    ws = workset()
    if ws is None:
        return False
    before = _selection(ws)
    keys = row_keys(ws)
    if mode == "add":
        mask = keys.add(before.mask, rows)
    elif mode == "subtract":
        mask = keys.remove(before.mask, rows)
    elif mode == "intersect":
        mask = keys.intersect(before.mask, rows)
    elif mode == "replace":
        mask = rows
    else:
        raise ValueError(f"unknown selection mode {mode!r}: use replace, add, subtract, intersect")
    return _store(ws, mask) is not before


def set_selected_ids(ids: frozenset[str]) -> None:
    """Select the rows whose key is in `ids` (a saved session's selection)."""
    ws = workset()
    if ws is not None:
        _store(ws, row_keys(ws).rows_of(ids) if ids else np.zeros(len(ws.frame), dtype=bool))


def clear_selection() -> None:
    ws = workset()
    if ws is not None:
        _store(ws, np.zeros(len(ws.frame), dtype=bool))


def selection_rev() -> int:
    """Bumped on every selection change: a cheap key for "has the selection changed?"."""
    return int(st.session_state.get(SELECTION_REV_KEY, 0))


def note_page(page: str) -> None:
    """Remember which page this run shows, and which the previous run showed."""
    st.session_state["_prev_page"] = st.session_state.get("_page")
    st.session_state["_page"] = page


def page_entered() -> bool:
    """True on the first run of a page after another page (or a fresh session)."""
    return st.session_state.get("_prev_page") != st.session_state.get("_page")
