"""Tag page: filter rows, select them, pick tags, preview the plan, push, see the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import cast

import numpy as np
import pandas as pd
import streamlit as st

import tagging
from tagging import providers
from tagging.demo import SANDBOX_KEYS
from tagging.known_state import dataset_tags
from tagging.render import describe, plan_frame, request_count, to_curl
from tagging.selection import fingerprint, id_strings
from ui import filter_builder as filters
from ui import large_panel, session
from ui.known_tags import carried_tags
from ui.map import map_panel
from ui.push_panel import (
    SHORT_PUSH_S,
    is_running,
    progress_panel,
    run_with_progress,
    show_result,
    start_push,
    take_finished,
)
from ui.sidebar import connection
from ui.target_form import current_target, target_inputs

GRID_KEY = "tag_grid"  # the grid's widget key is GRID_KEY + "_" + a digest of the view
GRID_KEY_STATE = "tag_grid_key"  # the current grid widget key, for tests and callbacks
GRID_NONCE = "tag_grid_nonce"  # bumped to redraw the grid with the stored selection
MAX_SHOWN = 10_000
TAGS_NOW = "tags now"  # the grid's column of the tags each row carries
CURL_IDS = 5  # ids shown in a copy-as-curl command
CONFIRM_ABOVE = 1_000  # live pushes above this many ids need an explicit confirmation
PLAN_KEY = "tag_plan"  # (fingerprint, Plan | None, error | None, fingerprint of the inputs)
PUSHING_KEY = "_tag_pushing"  # (inputs fingerprint, Plan) of the push running now
CONFIRMED_KEY = "_tag_confirmed"  # (inputs fingerprint, Plan) after a push confirmed it all
RESULT_KEY = "tag_result"
CATALOG_KEY = "tag_catalog"  # {(provider, base_url, target): [tag names]}
CREATE_ERROR_KEY = "_tag_create_error"  # why the last "Create new tags" failed
JOURNAL_REV = "journal_rev"
STALE_PUSH_KEY = "_tag_push_stale"  # a click's callback found the drawn plan outdated


def _bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


# --- selection --------------------------------------------------------------------------------
# The selection is a mask over the dataset's rows (ui/session.py); `positions` are the dataset
# positions of the filtered rows, in order, so the grid's row r is dataset row positions[r].


def _rows_mask(ws: session.Workset, positions: np.ndarray) -> np.ndarray:
    rows = np.zeros(len(ws.frame), dtype=bool)
    rows[positions] = True
    return rows


def _select(ws: session.Workset, positions: np.ndarray, add: bool) -> None:
    session.change_selection(_rows_mask(ws, positions), "add" if add else "subtract")
    _bump(GRID_NONCE)


def _clear_selection() -> None:
    session.clear_selection()
    _bump(GRID_NONCE)


def _grid(ws: session.Workset, rows: pd.DataFrame, positions: np.ndarray) -> None:
    shown = rows.head(MAX_SHOWN)
    shown_pos = positions[:MAX_SHOWN]
    restrict = filters.id_filter()
    view = fingerprint(
        ws.version,
        ws.name,
        tuple(filters.conditions()),
        filters.search_text(),
        restrict.label if restrict else None,
        st.session_state.get(GRID_NONCE, 0),
    )
    key = f"{GRID_KEY}_{view}"
    st.session_state[GRID_KEY_STATE] = key
    default = np.flatnonzero(session.selected_mask()[shown_pos]).tolist()
    event = st.dataframe(
        _with_carried_tags(ws, shown),
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": default, "columns": []}},
        hide_index=True,
        height=380,
    )
    if sorted(event.selection.rows) != default:  # the user ticked or unticked rows
        # The grid's ticks replace the selection of exactly the shown rows' keys.
        picked = [r for r in event.selection.rows if 0 <= r < len(shown_pos)]
        session.change_selection(_rows_mask(ws, shown_pos), "subtract")
        session.change_selection(_rows_mask(ws, shown_pos[picked]), "add")


def _with_carried_tags(ws: session.Workset, shown: pd.DataFrame) -> pd.DataFrame:
    """The shown rows plus a first column of the tags each carries now."""
    provider = session.provider()
    try:
        carried = carried_tags(ws, shown, provider, current_target(ws, provider))
    except tagging.TaggingError:
        return shown  # the state could not be read: the grid without the column
    return shown.assign(**{TAGS_NOW: carried.to_numpy()})[[TAGS_NOW, *shown.columns]]


def _selection_bar(ws: session.Workset, rows: pd.DataFrame, positions: np.ndarray) -> None:
    count = session.selected_count()
    in_view = int(np.count_nonzero(session.selected_mask()[positions]))
    total = len(ws.frame)
    shown_note = (
        f"showing {MAX_SHOWN:,} of {len(rows):,} filtered rows"
        if len(rows) > MAX_SHOWN
        else f"{len(rows):,} of {total:,} rows match"
    )
    st.markdown(f"**{count:,} selected** · {in_view:,} in view · {shown_note}")
    bar = st.container(horizontal=True, vertical_alignment="center")
    bar.button(
        f"Select all {len(rows):,} filtered rows",
        key="tag_select_all",
        on_click=_select,
        args=(ws, positions, True),
        icon=":material/select_all:",
        disabled=rows.empty,
    )
    bar.button(
        "Unselect filtered",
        key="tag_unselect_filtered",
        on_click=_select,
        args=(ws, positions, False),
        disabled=not in_view,
    )
    bar.button(
        "Clear selection",
        key="tag_clear_selection",
        on_click=_clear_selection,
        type="tertiary",
        disabled=not count,
    )


# --- tags and target --------------------------------------------------------------------------


def _catalog(
    conn: tagging.Connection, target: Mapping[str, str], refresh: bool
) -> list[str] | None:
    """The provider's existing tags, asked once per connection and target."""
    cache: dict[tuple[object, ...], list[str]] = st.session_state.setdefault(CATALOG_KEY, {})
    # Asked again after any job (a push, undo or resume here or elsewhere can create or drop
    # tags) and on entering the page.
    jobs = session.journal().job_count()
    key = (conn.provider, conn.base_url, tuple(sorted(target.items())), jobs)
    refresh = refresh or session.page_entered()
    # A running push's job changed the count as it started: asked again when it ends (the
    # ask of a million-point projection's tags waited 0.1 s for the sandbox mid-push).
    last = next((v for k, v in reversed(cache.items()) if k[:3] == key[:3]), None)
    if last is not None and not refresh and is_running():
        return last
    if refresh or key not in cache:
        try:
            cache[key] = sorted(conn.tags(dict(target)))
        except tagging.TaggingError as exc:
            st.warning(f"Could not list existing tags: {exc}", icon=":material/warning:")
            return None
    return cache[key]


def _tag_picker(conn: tagging.Connection, provider: str, target: Mapping[str, str]) -> list[str]:
    action_col, refresh_col = st.columns([4, 1], vertical_alignment="bottom")
    with action_col:
        st.segmented_control(
            "Action",
            ["add", "remove"],
            default="add",
            key="tag_action",
            format_func={"add": "Add tags", "remove": "Remove tags"}.__getitem__,
            persist_state="session",
        )
    refresh = refresh_col.button("Refresh tags", key="tag_refresh", icon=":material/refresh:")
    catalog = _catalog(conn, target, refresh) or []
    existing = st.multiselect(
        f"Existing tags ({len(catalog):,})",
        catalog,
        key="tag_existing",
        persist_state="session",
        placeholder="Pick tags the provider already has",
    )
    new = st.text_input(
        "New tags (comma separated)",
        key="tag_new",
        persist_state="session",
        help=providers.get(provider).new_tag_hint,
    )
    typed = _typed_tags(new)
    tags = [*existing, *typed]
    st.session_state["_tag_catalog_now"] = catalog
    missing = [t for t in dict.fromkeys(typed) if t not in catalog]
    _create_box(conn, provider, missing, [t for t in tags if t not in missing])
    return list(dict.fromkeys(tags))


def _typed_tags(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _picked_tags() -> list[str]:
    """The tags the picker holds now (what `_tag_picker` returns, read from the state)."""
    existing = st.session_state.get("tag_existing") or []
    return list(dict.fromkeys([*existing, *_typed_tags(st.session_state.get("tag_new"))]))


def _create_box(
    conn: tagging.Connection, provider: str, missing: list[str], existing: list[str]
) -> None:
    """For an API that refuses unknown tags: offer to create the typed ones first."""
    api = providers.get(provider)
    error = st.session_state.pop(CREATE_ERROR_KEY, None)
    if error:
        st.error(error, icon=":material/error:")
    if api.creates_tags_on_push or not missing or st.session_state.get("tag_action") == "remove":
        return
    names = ", ".join(f"`{t}`" for t in missing)
    st.warning(f"{api.label} has no {names} yet. {api.new_tag_hint}", icon=":material/new_label:")
    n = len(missing)
    st.button(
        f"Create {n:,} new tag{'' if n == 1 else 's'}",
        key="tag_create",
        icon=":material/add_circle:",
        on_click=_create_tags,
        args=(conn, provider, missing, existing),
    )


def _create_tags(
    conn: tagging.Connection, provider: str, names: list[str], existing: list[str]
) -> None:
    try:
        providers.get(provider).create_tags(conn.fetch, names)
    except tagging.TaggingError as exc:
        st.session_state[CREATE_ERROR_KEY] = f"Could not create tags: {exc}"
        return
    st.session_state.pop(CATALOG_KEY, None)  # ask the API again: the new tags and parents
    # The created tags now exist: show them as picked existing tags.
    st.session_state["tag_existing"] = list(dict.fromkeys([*existing, *names]))
    st.session_state["tag_new"] = ""


# --- plan, push and result --------------------------------------------------------------------


def _tag_column(ws: session.Workset, rows: pd.DataFrame) -> pd.DataFrame | None:
    """The dataset's own tag column as known state (rows that carry tags already)."""
    if not ws.tags_column:
        return None
    return dataset_tags(rows, ws.tags_column, ws.id_column, ws.kinds(rows))


def _plan(
    ws: session.Workset,
    conn: tagging.Connection,
    provider: str,
    target: dict[str, str],
    tags: list[str],
) -> tuple[tagging.Plan | None, str | None]:
    action = "remove" if st.session_state.get("tag_action") == "remove" else "add"
    chunk = st.session_state.get("tag_chunk") or None
    catalog = st.session_state.get("_tag_catalog_now") or None
    jobs = session.journal().job_count()  # a job pushed elsewhere changes the known state
    inputs = fingerprint(
        ws.version,
        ws.id_column,
        ws.kind_column,
        ws.fixed_kind,
        ws.tags_column,
        provider,
        sorted(target.items()),
        action,
        tags,
        chunk,
        session.selection_rev(),
    )
    digest = fingerprint(inputs, st.session_state.get(JOURNAL_REV, 0), jobs, tuple(catalog or ()))
    cached = st.session_state.get(PLAN_KEY)
    # While a push runs, the plan it sends: its job changed the journal's count, but what is
    # known changes when it ends (at a million ids, preparing again mid-push took 4 s).
    if cached and (cached[0] == digest or is_running()):
        return cached[1], cached[2]
    confirmed = st.session_state.pop(CONFIRMED_KEY, None)
    if confirmed is not None and confirmed[0] == inputs:  # the push of these inputs just ended
        st.session_state[PLAN_KEY] = (digest, confirmed[1], None, inputs)
        return confirmed[1], None
    try:
        ids, kinds, known = _selected_ids(ws)
        op = tagging.TagOperation(
            provider=provider,
            action=action,  # type: ignore[arg-type]
            tags=tuple(tags),
            ids=ids,
            target=target,
            kinds=kinds,
        )
        plan = tagging.prepare(
            op, conn, journal=session.journal(), known=known, chunk_size=chunk, catalog=catalog
        )
        result: tuple[tagging.Plan | None, str | None] = (plan, None)
    except tagging.TaggingError as exc:
        result = (None, str(exc))
    st.session_state[PLAN_KEY] = (digest, *result, inputs)
    return result


def _selected_ids(
    ws: session.Workset,
) -> tuple[Sequence[str], str | Sequence[str] | None, pd.DataFrame | None]:
    """The selected ids, their kinds, and the dataset's tag column as known state. A large
    dataset's ids stream from its files into arrow text (no Python string per id)."""
    if ws.large is not None:
        sel = session.large_selection()
        if sel is None:
            return [], ws.fixed_kind, None
        streamed, per_row = ws.large.collect_ids(
            sel.conditions, ws.id_column, ws.kind_column, sel.search
        )
        kind = cast("Sequence[str] | None", per_row) if per_row is not None else ws.fixed_kind
        return cast("Sequence[str]", streamed), kind, None
    # Only the columns a plan reads: taking every column of a million rows took a second.
    needed = list(dict.fromkeys(c for c in (ws.id_column, ws.kind_column, ws.tags_column) if c))
    rows = ws.frame[needed][session.row_keys(ws).one_per_key(session.selected_mask())]
    ids = id_strings(rows, ws.id_column)  # every selected key is present: rows have ids
    kinds = ws.kinds(rows)
    listed = kinds if kinds is None or isinstance(kinds, str) else kinds.tolist()
    return ids.tolist(), listed, _tag_column(ws, rows)


def _plan_table(p: tagging.Plan, provider: str) -> None:
    """The batches, within the page's width: the first and last ids (36-character UUIDs for
    some APIs) are left to the curl commands below, kinds shown only where ids have them."""
    frame = plan_frame(p).head(200)
    shown = [c for c in frame.columns if c not in ("first id", "last id")]
    if not frame["kinds"].astype(bool).any():
        shown.remove("kinds")
    config = {
        "ids": st.column_config.NumberColumn("ids", format="localized"),
        "kinds": st.column_config.TextColumn(f"{session.kind_label(provider)}s"),
        "requests": st.column_config.NumberColumn("requests", format="localized"),
    }
    height = 38 + 35 * min(len(frame), 4)
    st.dataframe(frame, hide_index=True, height=height, column_order=shown, column_config=config)


def _preview(p: tagging.Plan, conn: tagging.Connection, provider: str) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows selected", f"{p.requested:,}")
    label = "Already tagged" if p.operation.action == "add" else "Not carrying tags"
    c2.metric(label, f"{p.skipped:,}", help="Known from the journal and the dataset's tag column")
    c3.metric("To send", f"{p.to_send:,}")
    c4.metric("Batches", f"{len(p.batches):,}", help=f"{request_count(p):,} requests")
    for warning in p.warnings:
        st.warning(warning, icon=":material/warning:")
    st.markdown("\n".join(f"- {line}" for line in describe(p) if not line.startswith("warning")))
    with st.expander("Batches and copy as curl", icon=":material/terminal:"):
        _plan_table(p, provider)
        first = len(p.batches[0].ids) if p.batches else 0
        shown = min(CURL_IDS, first)
        st.caption(
            f"The first {shown:,} ids of {p.to_send:,} (batch 1 of {len(p.batches):,}), "
            f"the key shown as `{conn.curl_env_var}`."
        )
        if not session.is_live():  # the sandbox's key is no secret: say it, so it runs as shown
            var = conn.curl_env_var.lstrip("$")
            st.code(f"export {var}={SANDBOX_KEYS[provider]}", language="bash")
        for command in to_curl(p, max_ids=CURL_IDS, base_url=conn.base_url):
            st.code(command, language="bash")


def _target_label(provider: str, target: Mapping[str, str]) -> str:
    name = session.label(provider)
    if target.get("projection_id"):
        return f"{name} projection {target['projection_id']}"
    return name


def _push(
    ws: session.Workset,
    p: tagging.Plan,
    conn: tagging.Connection,
    provider: str,
    target: Mapping[str, str],
) -> None:
    n = p.to_send
    needs_confirm = session.is_live() and n > CONFIRM_ABOVE
    confirmed = True
    if needs_confirm:
        confirmed = st.checkbox(
            f"Yes, {p.operation.action} these tags on {n:,} ids in "
            f"{_target_label(provider, target)} ({conn.where})",
            key="tag_confirm",
        )
    verb = "Push" if p.operation.action == "add" else "Push removal of"
    label = f"Pushing {n:,} ids to {_target_label(provider, target)} ({conn.where})…"
    st.button(
        f"{verb} {n:,} ids" if n else "Nothing to push",
        key="tag_push",
        type="primary",
        icon=":material/send:",
        disabled=n == 0 or not confirmed or is_running(),
        # From the click's callback, before the page runs: the run that follows draws the
        # push's progress, or the result of one that ended within SHORT_PUSH_S.
        on_click=_start_push,
        args=(p, conn, label, _push_inputs(ws, provider)),
    )
    if st.session_state.pop(STALE_PUSH_KEY, False):
        st.warning(
            "The selection or tags changed as you clicked: nothing was sent. "
            "Check the preview and push again.",
            icon=":material/warning:",
        )


def _push_inputs(ws: session.Workset, provider: str) -> str:
    """The widgets' values a shown plan was prepared from. The push starts in the click's
    callback with the plan the last run drew; an edit sent with the same click (a typed tag,
    ticked rows) would make that plan stale, so the callback compares these first."""
    grid_key = st.session_state.get(GRID_KEY_STATE)  # none for a large dataset's pages
    grid = st.session_state.get(grid_key) if grid_key else None
    return fingerprint(
        ws.version,
        provider,
        sorted(current_target(ws, provider).items()),
        st.session_state.get("tag_action"),
        _picked_tags(),
        st.session_state.get("tag_chunk"),
        session.selection_rev(),
        str(grid),
    )


def _start_push(p: tagging.Plan, conn: tagging.Connection, label: str, inputs: str) -> None:
    ws = session.workset()
    if ws is None or _push_inputs(ws, session.provider()) != inputs:
        st.session_state[STALE_PUSH_KEY] = True
        return
    journal = session.journal()
    drawn = st.session_state.get(PLAN_KEY)
    if drawn is not None and drawn[1] is p:
        st.session_state[PUSHING_KEY] = (drawn[3], p)
    # In a thread, so that the Cancel click's rerun does not stop it halfway.
    run = start_push(
        label,
        lambda report, cancel: tagging.push(
            p, conn, journal=journal, progress=report, cancel=cancel
        ),
        wait_s=SHORT_PUSH_S,
    )
    if not run.running and run.error is None:  # ended: the run that follows draws its result
        _keep_result(take_finished())


def _take_push_result() -> None:
    """A background push that ended: its result replaces the last one."""
    result = take_finished()
    if result is None:
        return
    _keep_result(result)
    st.rerun()  # the sidebar (drawn before this page) shows the result too: the Tour's numbers


def _keep_result(result: tagging.PushResult | None) -> None:
    pushing = st.session_state.pop(PUSHING_KEY, None)
    if result is None:
        return
    if pushing is not None and _all_confirmed(pushing[1], result):
        st.session_state[CONFIRMED_KEY] = (pushing[0], _after(pushing[1]))
    _bump(JOURNAL_REV)
    st.session_state.pop(CATALOG_KEY, None)  # a push can create tags
    st.session_state[RESULT_KEY] = result


def _all_confirmed(p: tagging.Plan, result: tagging.PushResult) -> bool:
    """Every id sent was applied and read back so: nothing failed, was missing or stopped."""
    v = result.verified
    return (
        result.applied == p.to_send
        and not (result.failed or result.not_found or result.cancelled)
        and v is not None
        and v.checked == p.to_send
        and not v.mismatched_ids
    )


def _after(p: tagging.Plan) -> tagging.Plan:
    """The plan of the same inputs once its push is confirmed: every id known to need no
    change, nothing to send. Preparing it again read the same ids back a second time (a
    million ids: 3 s of the page after the progress bar said done)."""
    return replace(p, batches=(), skipped=p.requested, known_state=True, warnings=())


def _resume(conn: tagging.Connection, job_id: str) -> None:
    journal = session.journal()
    resumed = run_with_progress(
        f"Resuming job {job_id}…", lambda report: journal.resume(job_id, conn, progress=report)
    )
    _bump(JOURNAL_REV)
    if resumed is not None:
        st.session_state[RESULT_KEY] = resumed


def _retry_failed(conn: tagging.Connection) -> None:
    result = st.session_state[RESULT_KEY]
    journal = session.journal()
    retried = run_with_progress(
        f"Retrying {result.failed:,} failed ids…",
        lambda report: journal.resume(result.job_id, conn, progress=report),
    )
    _bump(JOURNAL_REV)
    if retried is not None:
        st.session_state[RESULT_KEY] = retried


# --- page -------------------------------------------------------------------------------------

st.title("Tag", anchor=False)
ws = session.loaded_workset()
provider = session.provider()
try:
    conn = connection()
except tagging.TaggingError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
st.caption(f"{ws.name} · {ws.rows:,} rows · ids from `{ws.id_column}`")
_take_push_result()  # before the catalog and plan, which it changes

st.subheader("1 · Find and select rows", anchor=False)
if ws.large is not None:  # read through DuckDB: SQL counts, a page, a sample
    large_panel.render(ws)
else:
    filters.render(ws)
    rows, positions = filters.filtered_rows(ws)
    map_panel(ws, rows, positions, on_change=lambda: _bump(GRID_NONCE))
    _grid(ws, rows, positions)
    _selection_bar(ws, rows, positions)

st.subheader("2 · Choose tags", anchor=False)
with st.container(border=True):
    target = target_inputs(ws, provider)
    tags = _tag_picker(conn, provider, target)
    with st.expander("Advanced"):
        st.number_input(
            "Ids per batch (0 = provider default)",
            min_value=0,
            step=1000,
            key="tag_chunk",
            persist_state="session",
        )

st.subheader("3 · Preview and push", anchor=False)
if not session.selected_count():
    st.info("Select rows in the table, or select all filtered rows.", icon=":material/info:")
elif not tags:
    st.info("Pick at least one tag.", icon=":material/info:")
else:
    the_plan, error = _plan(ws, conn, provider, target, tags)
    if error:
        st.error(error, icon=":material/error:")
    elif the_plan is not None:
        with st.container(border=True):
            _preview(the_plan, conn, provider)
            _push(ws, the_plan, conn, provider, target)

progress_panel()  # while a push runs: its progress and Cancel

last = st.session_state.get(RESULT_KEY)
if last is not None and not is_running():
    st.subheader("Result", anchor=False)
    undone_by = session.journal().undone_by(last.job_id) if last.job_id else None
    if undone_by:  # the tags it applied are gone again
        st.info(f"Job `{last.job_id}` was undone by job `{undone_by}`.", icon=":material/undo:")
    else:
        show_result(last, key="tag_result")
    if (
        not undone_by
        and last.failed
        and last.job_id
        and st.button(
            f"Retry {last.failed:,} failed ids", key="tag_retry", icon=":material/replay:"
        )
    ):
        _retry_failed(conn)
        st.rerun()
    pending = session.journal().job(last.job_id)["counts"]["pending"] if last.job_id else 0
    if not undone_by and last.cancelled and pending:
        st.info(
            f"Cancelled: job `{last.job_id}` is interrupted with {pending:,} ids not sent; "
            "resume it here or from History.",
            icon=":material/pause_circle:",
        )
        if st.button(f"Resume ({pending:,} ids)", key="tag_resume", icon=":material/play_arrow:"):
            _resume(conn, last.job_id)
            st.rerun()
