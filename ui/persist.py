"""A browser reload keeps the session: provider, dataset (a demo key, or the uploaded file
saved under `.tagging/sessions/<id>/`), column roles, filters, search and selection are saved
after every run and restored on a new session's first run, keyed by `?sid=` in the URL."""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from tagging.demo import demo_datasets
from tagging.errors import TaggingError
from tagging.filters import Condition
from ui import session
from ui.datasets import LAST_PROVIDER_KEY, demo_workset, large_workset, upload_workset

SID_PARAM = "sid"
RESTORED_KEY = "_persist_restored"  # set once per Streamlit session
SID_KEY = "_persist_sid"  # this session's id: moving to another page drops it from the URL
SAVED_KEY = "_persist_saved"  # the last JSON written: skip writes that change nothing
UPLOAD_KEY = "_persist_upload"  # (workset version, saved file name) of the uploaded dataset
LARGE_KEY = "_persist_large"  # the server path a dataset read through DuckDB was opened from
SELECTION_FILE = "selection.npy"  # np.packbits of the selection mask
ROLES = ("id_column", "kind_column", "fixed_kind", "tags_column", "x_column", "y_column")
_SID = re.compile(r"[0-9a-f]{32}")


def root() -> Path:
    return Path(os.environ.get("TAGGING_SESSIONS", ".tagging/sessions"))


def _folder() -> Path | None:
    sid = st.session_state.get(SID_KEY) or st.query_params.get(SID_PARAM)
    return root() / sid if sid and _SID.fullmatch(sid) else None


def save_upload(name: str, data: bytes) -> None:
    """Keep an uploaded file beside the session's state, so a reload can read it again."""
    folder = _folder()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    safe = Path(name).name or "upload"
    (folder / f"upload-{safe}").write_bytes(data)
    st.session_state[UPLOAD_KEY] = safe


def restore() -> None:
    """On a session's first run: give it an id in the URL, or bring its saved state back."""
    if st.session_state.get(RESTORED_KEY):
        # st.navigation clears the query string on a page change: put the id back, or a
        # reload of the new page would start a new session.
        sid = st.session_state.get(SID_KEY)
        if sid and st.query_params.get(SID_PARAM) != sid:
            st.query_params[SID_PARAM] = sid
        return
    st.session_state[RESTORED_KEY] = True
    folder = _folder()
    if folder is None:
        st.session_state[SID_KEY] = st.query_params[SID_PARAM] = uuid.uuid4().hex
        return
    st.session_state[SID_KEY] = folder.name
    try:
        state = json.loads((folder / "state.json").read_text())
        _apply(folder, state)
    except (OSError, ValueError, KeyError, TypeError, TaggingError):
        return  # nothing saved yet, or from an older layout: start afresh


def _apply(folder: Path, state: dict[str, Any]) -> None:
    provider = state["provider"]
    if provider in session.provider_names():
        st.session_state[session.PROVIDER_KEY] = provider
        st.session_state[LAST_PROVIDER_KEY] = provider  # no demo swap on this first run
    data = state["dataset"]
    if data.get("large"):
        ws = large_workset(data["large"])
        st.session_state[LARGE_KEY] = data["large"]
    elif data["demo"] is not None:
        ws = demo_workset(data["demo"])
    else:
        path = folder / f"upload-{data['upload']}"
        ws = upload_workset(path, data["upload"])
        st.session_state[UPLOAD_KEY] = data["upload"]
    session.set_workset(replace(ws, **{r: data[r] for r in ROLES}))
    st.session_state[session.FILTERS_KEY] = [Condition(**c) for c in state["filters"]]
    st.session_state[session.SEARCH_KEY] = state["search"]
    _restore_selection(folder, state)


def _restore_selection(folder: Path, state: dict[str, Any]) -> None:
    """The saved mask when it fits the dataset, else the saved keys (an older layout)."""
    saved, ws = state.get("selection"), session.workset()
    n = len(ws.frame) if ws is not None else -1
    if saved and saved.get("rows") == n:
        bits = np.load(folder / SELECTION_FILE)
        session.set_selected_mask(np.unpackbits(bits, count=n).astype(bool))
    elif state.get("selected"):
        session.set_selected_ids(frozenset(state["selected"]))


def save() -> None:
    """After a run: write what a reload should bring back (only when it changed)."""
    folder = _folder()
    ws = session.workset()
    if folder is None or ws is None:
        return
    large = st.session_state.get(LARGE_KEY) if ws.large is not None else None
    demo = (
        None if large else next((k for k, d in demo_datasets().items() if d.name == ws.name), None)
    )
    upload = st.session_state.get(UPLOAD_KEY) if demo is None and large is None else None
    if demo is None and upload is None and large is None:
        return  # a dataset this module cannot bring back
    roles = {r: getattr(ws, r) for r in ROLES}
    state = {
        "provider": session.provider(),
        "dataset": {"demo": demo, "upload": upload, "large": large, **roles},
        "filters": [_condition(c) for c in st.session_state.get(session.FILTERS_KEY, [])],
        "search": str(st.session_state.get(session.SEARCH_KEY) or ""),
        # The selection as a bit per row beside the JSON: a million ids as JSON took a
        # second to sort and write; a million bits are 125 kB.
        "selection": {"rows": len(ws.frame), "rev": session.selection_rev()},
    }
    text = json.dumps(state, default=str)
    if text == st.session_state.get(SAVED_KEY):
        return
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / SELECTION_FILE, np.packbits(session.selected_mask()))
    (folder / "state.json").write_text(text)
    st.session_state[SAVED_KEY] = text


def _condition(c: Condition) -> dict[str, Any]:
    d = asdict(c)
    if isinstance(d["value"], tuple):
        d["value"] = list(d["value"])  # JSON has no tuples; `between` reads a pair back
    return d
