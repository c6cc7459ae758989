"""Who carries which tag, as the Coverage page and the map show it: the sandbox's state in
sandbox mode (the truth for demos), else the journal's, plus the dataset's tag column.

Remembered per session until a job is journaled (here or elsewhere) or the inputs change, so a
map coloured by tag recolours after a push by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from tagging.known_state import dataset_tags, known_state, of_kind
from tagging.selection import KEY_SEP, fingerprint
from ui import session
from ui.push_panel import is_running

CACHE_KEY = "_known_tags"  # (digest, state, revision)
CARRIED_KEY = "_carried_tags"  # {digest: "a; b" text per shown row}, the last few
CARRIED_KEPT = 4  # grids of "tags now" kept: a filter toggled off and on shows rows seen
PAIRS_KEY = "_known_tag_pairs"  # ((revision, kinded), arrow table of key and tag text)


def known_tags(ws: session.Workset, provider: str, target: Mapping[str, str]) -> pd.DataFrame:
    """Raises TaggingError (one line) when the sandbox cannot be read."""
    journal = session.journal()
    digest = fingerprint(
        provider, sorted(target.items()), session.is_live(), ws.version, ws.tags_column,
        ws.fixed_kind, journal.job_count(), st.session_state.get("journal_rev", 0),
    )  # fmt: skip
    cached = st.session_state.get(CACHE_KEY)
    # A running push's job changes the count at its start; its tags are read when it ends.
    if cached is not None and is_running():
        return cached[1]
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
    "tags now" column); raises TaggingError like known_tags. Remembered until the known tags
    are read again, for the last CARRIED_KEPT sets of rows: every rerun draws the grid, and a
    facet toggled off and on again shows the same rows (833,000 known pairs: 15 ms a grid)."""
    state = known_tags(ws, provider, target)
    # Immuta ids repeat across model types: match (type, id), not the id alone.
    kinded = "kind" in state.columns and bool(ws.kind_column)
    keys = _row_keys(rows, ws.id_column, ws.kind_column if kinded else None)
    digest = fingerprint(state_revision(), "\x00".join(keys.tolist()))
    kept: dict[str, np.ndarray] = st.session_state.setdefault(CARRIED_KEY, {})
    text = kept.pop(digest, None)  # put back last: the most recent
    if text is None:
        text = _carried(_state_pairs(state, kinded), keys)
        while len(kept) >= CARRIED_KEPT:
            del kept[next(iter(kept))]
    kept[digest] = text
    return pd.Series(text, index=rows.index, dtype=object)


def _row_keys(rows: pd.DataFrame, id_column: str, kind_column: str | None) -> pd.Series:
    ids = rows[id_column].astype(str)
    return rows[kind_column].astype(str) + KEY_SEP + ids if kind_column else ids


def _state_pairs(state: pd.DataFrame, kinded: bool) -> pa.Table:
    """The known tags as arrow (key, tag) text, once per read: a filter change at a million
    tagged ids spent 0.15 s turning them into text again for the grid's new rows."""
    key = (state_revision(), kinded)
    cached = st.session_state.get(PAIRS_KEY)
    if cached is None or cached[0] != key:
        ids = state["id"].astype(str)
        if kinded:
            ids = state["kind"].astype(str) + KEY_SEP + ids
        tags = state["tag"].astype(str)
        pairs = pa.table({"id": pa.array(ids, pa.string()), "tag": pa.array(tags, pa.string())})
        cached = (key, pairs)
        st.session_state[PAIRS_KEY] = cached
    return cached[1]


def _carried(pairs: pa.Table, keys: pd.Series) -> np.ndarray:
    """Per key, its distinct tags sorted and joined by "; " ("" for none), in Arrow: a
    Python join per id (a pandas groupby lambda) took 0.6 s for the grid's ten thousand."""
    wanted = pa.array(keys, pa.string())
    # Only the state of these rows: the grid's ten thousand, not a million tagged ids.
    pairs = pairs.filter(pc.is_in(pairs["id"], value_set=wanted))
    pairs = pairs.group_by(["id", "tag"]).aggregate([])  # distinct pairs
    pairs = pairs.sort_by([("id", "ascending"), ("tag", "ascending")])
    # Unthreaded, a group's list keeps the sorted order.
    lists = pairs.group_by("id", use_threads=False).aggregate([("tag", "list")])
    joined = pc.binary_join(lists["tag_list"], "; ")
    at = pc.index_in(wanted, lists["id"])
    return pc.fill_null(pc.take(joined, at), "").to_numpy(zero_copy_only=False)
