"""Live progress and result summaries for pushes, resumes and undos (Tag and History pages)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from tagging import Progress, PushResult
from tagging.errors import TaggingError
from tagging.export import to_csv_bytes

ProgressCallback = Callable[[Progress], None]
CancellableWork = Callable[[ProgressCallback, threading.Event], PushResult]
RUN_KEY = "_push_run"  # the BackgroundPush of this session, while it runs or until taken
POLL_S = 0.5  # how often the progress fragment redraws while a push runs
# A push started from a button's callback is waited for this long before the page draws: one
# that ends sooner is drawn once, with its result, instead of a progress run, the fragment's
# rerun and the result's run (10k ids: 1.5 s of reruns after a push of 0.1 s).
SHORT_PUSH_S = 1.0


def ids_csv(ids: list[str]) -> bytes:
    return to_csv_bytes(pd.DataFrame({"id": ids}))


def _progress_text(p: Progress) -> str:
    text = (
        f"Batch {p.done_batches:,} of {p.total_batches:,} · {p.done_ids:,} of {p.total_ids:,} ids"
    )
    if p.failed_ids:
        text += f" · {p.failed_ids:,} failed"
    if p.retries:
        text += f" · {p.retries:,} retries"
    return text


def run_with_progress(
    label: str, work: Callable[[ProgressCallback], PushResult]
) -> PushResult | None:
    """Run a push-like call inside st.status with a progress bar; errors become one line."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def report(p: Progress) -> None:
            share = p.done_ids / p.total_ids if p.total_ids else 1.0
            bar.progress(min(1.0, share), text=_progress_text(p))

        try:
            result = work(report)
        except TaggingError as exc:
            bar.empty()  # a refused call must not leave "Starting…" behind
            status.update(label=str(exc), state="error", expanded=True)
            return None
        bar.progress(1.0, text="Finished")
        status.update(
            label=summary_line(result),
            state="error" if result.failed else "complete",
            expanded=False,
        )
    return result


@dataclass
class BackgroundPush:
    """A push running in its own thread, so a click (Cancel) reruns the page without
    stopping it. The thread only writes these fields: it has no Streamlit context."""

    label: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    result: PushResult | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def run(self, work: CancellableWork) -> None:
        try:
            self.result = work(self._report, self.cancel)
        except BaseException as exc:  # handed to the page's next run, raised or shown there
            self.error = exc

    def _report(self, p: Progress) -> None:
        self.progress = p

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def start_push(label: str, work: CancellableWork, wait_s: float = 0.0) -> BackgroundPush:
    """Start `work(report, cancel)` in a thread and wait up to `wait_s` for it (from a button's
    callback: SHORT_PUSH_S); `progress_panel` shows it while it runs, `take_finished` hands
    over its result. Cancel stops new batches: the job ends "interrupted", resumable."""
    run = BackgroundPush(label)
    run.thread = threading.Thread(target=run.run, args=(work,), name="push", daemon=True)
    st.session_state[RUN_KEY] = run
    run.thread.start()
    if wait_s > 0:
        run.thread.join(wait_s)
    return run


def is_running() -> bool:
    run = st.session_state.get(RUN_KEY)
    return isinstance(run, BackgroundPush) and run.running


def take_finished() -> PushResult | None:
    """The result of a background push that has ended (once); None while it runs or when
    there is none. A TaggingError is shown as one line; anything else is raised here."""
    run = st.session_state.get(RUN_KEY)
    if not isinstance(run, BackgroundPush) or run.running:
        return None
    del st.session_state[RUN_KEY]
    if isinstance(run.error, TaggingError):
        st.error(str(run.error), icon=":material/error:")
        return None
    if run.error is not None:
        raise run.error
    return run.result


@st.fragment(run_every=POLL_S)
def progress_panel() -> None:
    """The running push's progress and a Cancel button, redrawn every POLL_S seconds; once it
    ends, a full rerun lets the page take the result."""
    run = st.session_state.get(RUN_KEY)
    if not isinstance(run, BackgroundPush):
        return
    if not run.running:
        st.rerun()  # scope "app": the page takes the result
    with st.status(run.label, expanded=True, state="running"):
        p = run.progress
        share = p.done_ids / p.total_ids if p and p.total_ids else 0.0
        st.progress(min(1.0, share), text=_progress_text(p) if p else "Starting…")
        if run.cancel.is_set():
            st.caption("Cancelling: requests in flight end, no new batch starts.")
        st.button(
            "Cancel push",
            key="push_cancel",
            icon=":material/cancel:",
            on_click=run.cancel.set,
            disabled=run.cancel.is_set(),
            help="Stops sending new batches; the job stays resumable from the Tag or History page",
        )


def summary_line(result: PushResult) -> str:
    parts = [f"{result.applied:,} applied"]
    if result.not_found:
        parts.append(f"{result.not_found:,} not found")
    if result.failed:
        parts.append(f"{result.failed:,} failed")
    if result.cancelled:
        parts.append("cancelled")
    return "Done: " + ", ".join(parts)


def verification_line(result: PushResult) -> str:
    """What the read-back after the push found (or that there was none)."""
    v = result.verified
    if result.unverified_reason:
        return f"Not verified: {result.unverified_reason}."
    if v is None:
        return "Not verified: this API cannot be read back (prior state from the journal)."
    if v.mismatched_ids:
        shown = ", ".join(v.mismatched_ids[:10])
        return (
            f":orange[Verified {v.checked:,} ids: {len(v.mismatched_ids):,} mismatched] ({shown})"
        )
    return f":green[:material/verified: Verified: {v.checked:,} ids read back as expected]"


def show_result(result: PushResult, key: str) -> None:
    """Metrics, and downloads of the ids that were not found or failed."""
    with st.container(border=True):
        not_found_ids, failed_ids = result.not_found_ids, result.failed_ids  # built per call
        a, n, f = st.columns(3)
        a.metric("Applied", f"{result.applied:,}")
        n.metric("Not found", f"{result.not_found:,}")
        f.metric("Failed", f"{len(failed_ids):,}")
        if result.job_id:
            st.caption(f"Job `{result.job_id}` · see History for its batches, undo and export")
        if result.not_found and not not_found_ids:
            st.caption("The API reports how many ids it did not find, not which ones.")
        st.caption(verification_line(result))
        downloads = st.container(horizontal=True)
        if not_found_ids:
            _ids_download(downloads, "Not-found ids", not_found_ids, "not_found", key)
        if failed_ids:
            _ids_download(downloads, "Failed ids", failed_ids, "failed", key)
        reasons = sorted({o.reason for o in result.outcomes if o.reason})
        for reason in reasons[:3]:
            st.caption(f":red[:material/error:] {reason}")


def _ids_download(container: Any, label: str, ids: list[str], stem: str, key: str) -> None:
    """A button that downloads some ids as `<stem>_ids.csv`."""
    container.download_button(
        f"{label} ({len(ids):,})",
        ids_csv(ids),
        file_name=f"{stem}_ids.csv",
        mime="text/csv",
        key=f"{key}_dl_{stem}",
        icon=":material/download:",
    )
