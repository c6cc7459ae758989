"""History page: every job in the journal; open one to see its batches, resume, retry, undo,
export."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import pandas as pd
import streamlit as st

import tagging
from tagging.errors import TaggingError
from tagging.export import WriteProgress, table_to_csv_bytes, table_to_parquet_bytes
from tagging.selection import fingerprint
from ui import session
from ui.push_panel import run_with_progress, show_result
from ui.sidebar import connection

RESULT_KEY = "hist_result"  # (job id acted on, PushResult)
EXPORT_PROGRESS_ABOVE = 100_000  # ids: a smaller job's file builds in a blink on the click
EXPORT_WANTED_KEY = "_hist_export_wanted"  # the format an Export click asked to build
EXPORTS_KEPT = 4  # built export files kept for their downloads
EXPORTS: tuple[tuple[Literal["csv", "json", "parquet"], str, str], ...] = (
    ("csv", "text/csv", ":material/download:"),
    ("json", "application/json", ":material/data_object:"),
    ("parquet", "application/vnd.apache.parquet", ":material/table_view:"),
)
ALL_ACTORS = "Everyone"
UNKNOWN_ACTOR = "(unknown)"  # jobs journaled before actors were recorded
STATUS_COLORS = {
    "done": "green",
    "partial": "orange",
    "failed": "red",
    "running": "blue",
    "interrupted": "violet",
    "undone": "gray",
}
UNDO_PENDING_KEY = "hist_undo_pending"  # the job whose undo awaits a confirmation


def _target_text(target: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in target.items()) or "—"


def _status(job: dict[str, Any], links: dict[str, str]) -> str:
    """A job's status as people read it: an undone job is no longer "done"."""
    return "undone" if job["id"] in links else str(job["status"])


def _utc(text: str) -> pd.Timestamp:
    """A journal time as a naive UTC timestamp (the grid formats it)."""
    t = pd.Timestamp(text)
    return t.tz_convert(None) if t.tzinfo else t


def _jobs_frame(jobs: list[dict[str, Any]], links: dict[str, str]) -> pd.DataFrame:
    undo_of = {undo: undone for undone, undo in links.items()}
    return pd.DataFrame(
        [
            {
                "status": _status(j, links),
                "created": _utc(j["created_at"]),
                "provider": session.label(j["provider"]),
                "action": j["action"],
                "tags": ", ".join(j["tags"]),
                "change": f"{j['action']} {', '.join(j['tags'])}",
                "ids": j["counts"]["ids"],
                "applied": j["counts"]["applied"],
                "not found": j["counts"]["not_found"],
                "failed": j["counts"]["failed"],
                "pending": j["counts"]["pending"],
                "target": _target_text(j["target"]),
                "actor": j.get("actor") or UNKNOWN_ACTOR,
                "job": j["id"],
                "undo": (
                    f"undone by {links[j['id']]}"
                    if j["id"] in links
                    else f"undo of {undo_of[j['id']]}"
                    if j["id"] in undo_of
                    else ""
                ),
            }
            for j in jobs
        ]
    )


def _batches_frame(batches: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "batch": b["index"],
                "status": b["status"],
                "ids": len(b["ids"]),
                "first id": b["ids"][0] if b["ids"] else "",
                "applied": b["applied"],
                "not found": b["not_found"],
                "failed": b["failed"],
                "requests": b["attempts"],  # every request sent for the batch, retries included
                "verified": b["verified"],  # ids read back after the push (None: not read)
                "mismatched": len(b["mismatched_ids"]),
                "reason": b["reason"],
                "updated": _utc(b["updated_at"]),
            }
            for b in batches
        ]
    )


def _count(label: str, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="localized", help=help)


# Column widths are left to the grid (it sizes each to its content, so nothing is cut); what
# keeps the tables within a 1280 px browser is showing only the columns that say something.
JOB_COLUMNS = {
    "created": st.column_config.DatetimeColumn("created", format="MMM D, HH:mm", help="UTC"),
    "change": st.column_config.TextColumn("change", help="The action and its tags"),
    "ids": _count("ids"),
    "applied": _count("applied"),
    "not found": _count("not found", "Ids the provider does not hold"),
    "failed": _count("failed"),
    "pending": _count("pending", "Ids not sent yet: resume the job"),
    "actor": st.column_config.TextColumn("by", help="Who ran the job"),
}
BATCH_COLUMNS = {
    "ids": _count("ids"),
    "applied": _count("applied"),
    "not found": _count("not found"),
    "failed": _count("failed"),
    "requests": _count("requests", "Every request sent for the batch, retries included"),
    "verified": _count("verified", "Ids read back after the push (empty: not read)"),
    "mismatched": _count("mismatched"),
    "updated": st.column_config.DatetimeColumn("updated", format="HH:mm:ss", help="UTC"),
}
RARE_COUNTS = ("not found", "failed", "pending")  # shown when some job has any


def _batch_order(frame: pd.DataFrame) -> list[str]:
    """The batches table's columns: counts that are zero in every batch, a read-back that
    did not happen (Nekt) and reasons nobody gave are left out."""
    shown = ["batch", "status", "ids", "first id", "applied"]
    shown += [c for c in ("not found", "failed") if frame[c].gt(0).any()]
    shown.append("requests")
    if frame["verified"].notna().any():
        shown.append("verified")
    if frame["mismatched"].gt(0).any():
        shown.append("mismatched")
    shown.append("updated")
    if frame["reason"].fillna("").astype(str).ne("").any():
        shown.append("reason")  # last: a long reason takes the room that is left
    return shown


def _job_order(frame: pd.DataFrame) -> list[str]:
    """The jobs table's columns: the target is in the job's detail, the provider only when
    jobs went to several, counts that are zero everywhere and unused undo links left out."""
    order = ["status", "created"]
    if frame["provider"].nunique() > 1:
        order.append("provider")
    order += ["change", "ids", "applied", *(c for c in RARE_COUNTS if frame[c].gt(0).any())]
    order += ["actor", "job"]
    if frame["undo"].ne("").any():
        order.append("undo")
    return order


def _revision(journal: tagging.Journal, job: dict[str, Any]) -> str:
    """What a job's batches, undo warning and exports depend on: its outcome so far, and
    the journal's other jobs (an undo, or a later job that knows the prior state)."""
    return fingerprint(
        journal.location, job["id"], job["status"], sorted(job["counts"].items()),
        journal.job_count(), st.session_state.get("journal_rev", 0),
    )  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=8)
def _detail(
    revision: str, job_id: str, _journal: tagging.Journal
) -> tuple[pd.DataFrame, str | None]:
    """The batches table and the undo warning, read once per revision: at a million ids
    each rerun otherwise unpacked every batch twice (the table, then undo's preview)."""
    return _batches_frame(_journal.batches(job_id)), _journal.undo_warning(job_id)


@st.cache_resource(show_spinner=False)
def _exports() -> dict[tuple[str, str], bytes]:
    """Built exports by (revision, format), the last EXPORTS_KEPT: a second click does not
    build one again. A resource, not data: bytes never change, and st.cache_data would
    pickle a copy of 60 MB on every click."""
    return {}


def _export(
    revision: str,
    job_id: str,
    fmt: Literal["csv", "json", "parquet"],
    journal: tagging.Journal,
    progress: WriteProgress | None = None,
) -> bytes:
    """One export, built once per revision with arrow's writers (a million ids in under a
    second), telling `progress` the ids written."""
    built = _exports()
    if (revision, fmt) not in built:
        if fmt == "json":
            data = journal.export_job(job_id, fmt)
        else:
            table = journal.job_table(job_id)
            write = table_to_csv_bytes if fmt == "csv" else table_to_parquet_bytes
            data = write(table, progress)
        while len(built) >= EXPORTS_KEPT:
            built.pop(next(iter(built)))
        built[(revision, fmt)] = data
    return built[(revision, fmt)]


def _switch_provider(provider: str) -> None:
    st.session_state[session.PROVIDER_KEY] = provider


def _open_job(job_id: str) -> None:
    st.session_state["hist_job"] = job_id


def _ask_undo(job_id: str | None) -> None:
    st.session_state[UNDO_PENDING_KEY] = job_id


def _act(journal: tagging.Journal, job: dict[str, Any], what: str, force: bool = False) -> None:
    """Resume/retry or undo a job with live progress; the result is kept for the next run.
    `force`: the user confirmed undoing items whose prior state is unknown."""
    try:
        conn = connection()
    except TaggingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    job_id = job["id"]
    result: tagging.PushResult | None
    if what == "undo":
        result = run_with_progress(
            f"Undoing job {job_id} on {conn.where}…",
            lambda report: journal.undo(job_id, conn, progress=report, force=force),
        )
    else:
        result = run_with_progress(
            f"Sending the unfinished batches of job {job_id}…",
            lambda report: journal.resume(job_id, conn, progress=report),
        )
    if result is not None:
        st.session_state[RESULT_KEY] = (job_id, what, result)
        st.rerun()


def _confirm_undo(journal: tagging.Journal, job: dict[str, Any]) -> None:
    """Undo writes to the provider: say what it will do and ask once more."""
    verb = "remove" if job["action"] == "add" else "add back"
    with st.container(border=True):
        st.markdown(
            f"**Undo job `{job['id']}`?** This will {verb} **{', '.join(job['tags'])}** on "
            f"the {job['counts']['applied']:,} ids it changed."
        )
        row = st.container(horizontal=True)
        yes = row.button("Yes, undo", key="hist_undo_yes", type="primary", icon=":material/undo:")
        row.button("Cancel", key="hist_undo_no", on_click=_ask_undo, args=(None,))
    if yes:
        st.session_state.pop(UNDO_PENDING_KEY, None)
        # Reaching here past a prior-state warning took its "Undo anyway": that is the force.
        _act(journal, job, "undo", force=bool(journal.undo_warning(job["id"])))


def _actions(
    journal: tagging.Journal, job: dict[str, Any], undone_by: str | None, warning: str | None
) -> None:
    counts = job["counts"]
    provider = session.provider()
    if job["provider"] != provider:
        label = session.label(job["provider"])
        st.info(
            f"This job was sent to {label}; switch the provider to act on it.",
            icon=":material/swap_horiz:",
        )
        st.button(
            f"Switch to {label}",
            key="hist_switch",
            on_click=_switch_provider,
            args=(job["provider"],),
        )
        return
    busy = journal.holder(job["id"])  # one job, one runner: another process runs it now
    if busy:
        st.info(busy, icon=":material/lock:")
    bar = st.container(horizontal=True)
    resumable = counts["pending"] > 0 or job["status"] in ("interrupted", "running")
    if bar.button(
        f"Resume ({counts['pending']:,} pending ids)",
        key="hist_resume",
        icon=":material/play_arrow:",
        disabled=not resumable or bool(busy),
        help=busy,
    ):
        _act(journal, job, "resume")
    if bar.button(
        f"Retry {counts['failed']:,} failed ids",
        key="hist_retry",
        icon=":material/replay:",
        disabled=counts["failed"] == 0 or bool(busy),
        help=busy,
    ):
        _act(journal, job, "retry")
    undo_ok = True
    if warning:
        st.warning(f"Undo: {warning}", icon=":material/warning:")
        undo_ok = st.checkbox("Undo anyway", key="hist_undo_confirm")
    bar.button(
        "Undo this job",
        key="hist_undo",
        icon=":material/undo:",
        disabled=not undo_ok or counts["applied"] == 0 or undone_by is not None or bool(busy),
        help=busy or (f"Already undone by job {undone_by}" if undone_by else None),
        on_click=_ask_undo,
        args=(job["id"],),
    )
    if st.session_state.get(UNDO_PENDING_KEY) == job["id"] and undone_by is None and not busy:
        _confirm_undo(journal, job)


def _job_detail(journal: tagging.Journal, job_id: str) -> None:
    try:
        job = journal.job(job_id)
    except TaggingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    counts = job["counts"]
    verb = "added to" if job["action"] == "add" else "removed from"
    undone_by = journal.undone_by(job_id)
    status = "undone" if undone_by else job["status"]
    st.markdown(
        f"**{', '.join(job['tags'])}** {verb} "
        f"{session.label(job['provider'])} · "
        f"{_target_text(job['target'])} · "
        f":{STATUS_COLORS.get(status, 'gray')}-badge[{status}]"
    )
    links = st.container(horizontal=True, vertical_alignment="center")
    for caption, other in (("Undone by job", undone_by), ("Undo of job", job.get("undo_of"))):
        if other:
            links.caption(f"{caption} `{other}`")
            links.button(
                "Open", key=f"hist_open_{other}", on_click=_open_job, args=(other,),
                icon=":material/open_in_new:", type="tertiary",
            )  # fmt: skip
    m = st.columns(5)
    m[0].metric("Ids", f"{counts['ids']:,}")
    m[1].metric("Applied", f"{counts['applied']:,}")
    m[2].metric("Not found", f"{counts['not_found']:,}")
    m[3].metric("Failed", f"{counts['failed']:,}")
    m[4].metric("Pending", f"{counts['pending']:,}")
    revision = _revision(journal, job)
    batch_table, warning = _detail(revision, job_id, journal)
    st.dataframe(
        batch_table,
        hide_index=True,
        column_order=_batch_order(batch_table) if len(batch_table) else None,
        column_config=BATCH_COLUMNS,
        height=38 + 35 * min(len(batch_table), 8),
        key="hist_batches",
    )
    _actions(journal, job, undone_by, warning)
    _export_row(journal, job_id, revision, counts["ids"])


def _export_row(journal: tagging.Journal, job_id: str, revision: str, n: int) -> None:
    """A download per format. Above EXPORT_PROGRESS_ABOVE ids a row-per-id file is first
    built here, with its progress, then offered: built on the download's click, the browser
    showed only a spinner for seconds."""
    wanted = st.session_state.pop(EXPORT_WANTED_KEY, None)
    if wanted is not None:
        _build_with_progress(journal, job_id, revision, wanted, n)
    exports = st.container(horizontal=True)
    for fmt, mime, icon in EXPORTS:
        name = fmt.upper() if fmt != "parquet" else "Parquet"
        rows = f"{n:,} ids, one row each" if fmt != "json" else "With its batches"
        built = (revision, fmt) in _exports()
        if fmt != "json" and n > EXPORT_PROGRESS_ABOVE and not built:
            exports.button(
                f"Export {name}", key=f"hist_export_{fmt}", icon=icon, on_click=_want_export,
                args=(fmt,), help=f"{rows}: built here with its progress, then downloaded",
            )  # fmt: skip
            continue
        ready = fmt != "json" and n > EXPORT_PROGRESS_ABOVE
        exports.download_button(
            f"Download {name}" if ready else f"Export {name}",
            partial(_export, revision, job_id, fmt, journal),  # built on click, once
            file_name=f"job-{job_id}.{fmt}",
            mime=mime,
            key=f"hist_download_{fmt}" if ready else f"hist_export_{fmt}",
            icon=":material/download:" if ready else icon,
            # No rerun on click: a rerun re-registers the other button's deferred file, so a
            # second quick click asked for a file that was gone (MediaFileStorageError).
            on_click="ignore",
            help=rows,
        )


def _want_export(fmt: str) -> None:
    st.session_state[EXPORT_WANTED_KEY] = fmt


def _build_with_progress(
    journal: tagging.Journal,
    job_id: str,
    revision: str,
    fmt: Literal["csv", "json", "parquet"],
    n: int,
) -> None:
    name = fmt.upper() if fmt != "parquet" else "Parquet"
    with st.status(f"Exporting {n:,} ids as {name}…", expanded=True) as status:
        bar = st.progress(0.0, text=f"Reading the job's {n:,} ids…")

        def report(done: int, total: int) -> None:
            share = done / total if total else 1.0
            bar.progress(min(1.0, share), text=f"{done:,} of {total:,} ids written")

        try:
            data = _export(revision, job_id, fmt, journal, report)
        except TaggingError as exc:
            status.update(label=str(exc), state="error")
            return
        status.update(
            label=f"Exported {n:,} ids as {name} ({len(data) / 1e6:,.1f} MB): download it below",
            state="complete",
        )


def _by_actor(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs of the actor picked in a small selectbox (everyone's by default)."""
    actors = sorted({j.get("actor") or UNKNOWN_ACTOR for j in jobs})
    if len(actors) < 2:
        return jobs
    picked = st.selectbox("Who", [ALL_ACTORS, *actors], key="hist_actor")
    if picked == ALL_ACTORS:
        return jobs
    return [j for j in jobs if (j.get("actor") or UNKNOWN_ACTOR) == picked]


st.title("History", anchor=False)
try:
    journal = session.journal()
    jobs = journal.jobs()
except TaggingError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
st.caption(f"Every push, resume and undo, from the journal at `{journal.location}`.")
if not jobs:
    st.info("No jobs yet: push tags from the Tag page.", icon=":material/info:")
    st.stop()
jobs = _by_actor(jobs)

links = journal.undo_links()
table = _jobs_frame(jobs, links)
st.dataframe(
    table,
    hide_index=True,
    height=min(400, 38 + 35 * len(jobs)),
    column_order=_job_order(table),
    column_config=JOB_COLUMNS,
)
if table["provider"].nunique() == 1:
    st.caption(f"All sent to {table['provider'].iloc[0]}.")
by_id = {j["id"]: j for j in jobs}
job_id = st.selectbox(
    "Open a job",
    list(by_id),
    key="hist_job",
    format_func=lambda i: (
        f"{by_id[i]['created_at'][:19].replace('T', ' ')} · {by_id[i]['provider']} · "
        f"{by_id[i]['action']} {', '.join(by_id[i]['tags'])} · {_status(by_id[i], links)} · "
        f"{by_id[i].get('actor') or UNKNOWN_ACTOR} · {i}"
    ),
)
last = st.session_state.get(RESULT_KEY)
with st.container(border=True):
    _job_detail(journal, job_id)
    if last is not None and last[0] == job_id:
        st.markdown(f"**Last {last[1]}**")
        show_result(last[2], key="hist_result")
