"""Who carries which tag, as the Coverage page and the map show it: the sandbox's state in
sandbox mode (the truth for demos), else the journal's, plus the dataset's tag column.

Remembered per session until a job is journaled (here or elsewhere) or the inputs change, so a
map coloured by tag recolours after a push by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from tagging.known_state import dataset_tags, known_state, of_kind
from tagging.selection import fingerprint, is_selected
from ui import session

CACHE_KEY = "_known_tags"  # (digest, state, revision)


def known_tags(ws: session.Workset, provider: str, target: Mapping[str, str]) -> pd.DataFrame:
    """Raises TaggingError (one line) when the sandbox cannot be read."""
    journal = session.journal()
    digest = fingerprint(
        provider, sorted(target.items()), session.is_live(), ws.version, ws.tags_column,
        ws.fixed_kind, journal.job_count(), st.session_state.get("journal_rev", 0),
    )  # fmt: skip
    cached = st.session_state.get(CACHE_KEY)
    if cached is None or cached[0] != digest:
        column = None
        if ws.tags_column:
            column = dataset_tags(ws.frame, ws.tags_column, ws.id_column, ws.kinds(ws.frame))
        state = known_state(
            journal, provider, target, tag_column=column,
            sandbox_url=None if session.is_live() else session.sandbox_url(),
        )  # fmt: skip
        state = of_kind(state, ws.fixed_kind) if ws.fixed_kind else state
        cached = (digest, state, uuid.uuid4().hex)
        st.session_state[CACHE_KEY] = cached
    return cached[1]


def state_revision() -> str:
    """A key of the known tags `known_tags` last returned in this session: new each time
    they are read again. For caches of what is computed from them, where hashing the state
    itself cost 0.15 s a rerun at a million rows."""
    cached = st.session_state.get(CACHE_KEY)
    return str(cached[2]) if cached is not None else ""


def carried_tags(
    ws: session.Workset, rows: pd.DataFrame, provider: str, target: Mapping[str, str]
) -> pd.Series:
    """The tags each of `rows` carries now, as "a; b" text aligned to `rows` (the grid's
    "tags now" column); raises TaggingError like known_tags."""
    state = known_tags(ws, provider, target)
    ids = rows[ws.id_column].astype(str)
    keys: pd.Series = ids
    # Only the state of these rows (the grid's ten thousand): grouping a million tagged ids
    # on every rerun took seconds.
    state = state[is_selected(state["id"].astype(str), frozenset(ids.tolist()))]
    if "kind" in state.columns and ws.kind_column:
        # Immuta ids repeat across model types: match (type, id), not the id alone.
        state = state.assign(id=state["kind"].astype(str) + "\x1f" + state["id"].astype(str))
        keys = rows[ws.kind_column].astype(str) + "\x1f" + ids
    joined = state.groupby("id")["tag"].agg(lambda t: "; ".join(sorted(set(map(str, t)))))
    return keys.map(joined).astype(object).fillna("")  # no state at all: float NaNs
