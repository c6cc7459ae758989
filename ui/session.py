"""What every page shares through st.session_state: the loaded dataset, the connection
settings and the journal. Session bookkeeping only; the work happens in tagging/."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import streamlit as st

import tagging
from tagging import providers

PROVIDER_KEY = "provider"
MODE_KEY = "mode"
WORKSET_KEY = "workset"
SELECTED_KEY = "selected_ids"
FILTERS_KEY = "filters"
SEARCH_KEY = "search"
SELECTION_REV_KEY = "selection_rev"
ID_FILTER_KEY = "id_filter"  # an IdFilter set by another page (e.g. Coverage "untagged")
# Per dataset: what the analyst typed or was told about the old one means nothing for a new one.
DATASET_SCOPED = ("ds_error", ID_FILTER_KEY, "tag_result", "tag_plan")
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
    try:
        if st.user.is_logged_in:
            email = st.user.get("email")
            return str(email) if email else None
    except (AttributeError, KeyError, RuntimeError):  # no auth configured, or no session
        return None
    return None


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
    set_selected_ids(frozenset())
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


def selected_ids() -> frozenset[str]:
    return frozenset(st.session_state.get(SELECTED_KEY, frozenset()))


def set_selected_ids(ids: frozenset[str]) -> None:
    if ids != st.session_state.get(SELECTED_KEY):
        st.session_state[SELECTED_KEY] = ids
        st.session_state[SELECTION_REV_KEY] = selection_rev() + 1


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
