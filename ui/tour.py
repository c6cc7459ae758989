"""The guided demo: a sidebar "Tour" of eight steps that names and highlights the widget to
use on each page, a "Reset demo" (after a confirmation) and a "flaky API" switch for the
sandbox, and the last push's numbers in big type where the presenter sees them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import streamlit as st

from tagging import PushResult
from tagging.sandbox.launcher import reset, set_faults
from ui import session
from ui.datasets import demo_workset

TOUR_KEY = "tour_on"
STEP_KEY = "tour_step"
FLAKY_KEY = "tour_flaky"
RESET_ASK_KEY = "tour_reset_ask"
FLAKY_FAIL_RATE = 0.3  # about one request in three fails: retries show, the push still ends
TAG_RESULT_KEY = "tag_result"  # the Tag page's last push (app_pages/tag.py RESULT_KEY)
CHUNK_KEY = "tag_chunk"  # the Tag page's "Ids per batch" (0: the provider's default)
# With the flaky API on: the demo's 1,622 ids in 17 batches. One batch meets a fault one time
# in three, so the audience could see no retry at all; 17 all pass about once in 400 pushes.
FLAKY_BATCH = 100


@dataclass(frozen=True)
class Step:
    title: str
    page: str
    text: str
    widget: str  # the widget's key: highlighted on the page (Streamlit's `st-key-*` class)


DATASET, TAG = "app_pages/dataset.py", "app_pages/tag.py"
STEPS: tuple[Step, ...] = (
    Step("Load", DATASET, "Pick a **Demo dataset** and press **Load demo**.", "ds_load_demo"),
    Step(
        "Filter",
        TAG,
        "Open **Add a filter**: Column `field`, `=`, `cs.LG`, then **Add filter**. "
        "Or draw a lasso on the map.",
        "flt_add",
    ),
    Step("Select", TAG, "Press **Select all … filtered rows**.", "tag_select_all"),
    Step("Pick tags", TAG, "Type a tag in **New tags**, e.g. `Needs review`.", "tag_new"),
    Step("Preview", TAG, "Read **To send** and **Batches**: nothing is sent yet.", "tag_push"),
    Step(
        "Push",
        TAG,
        "Press **Push**: the bar shows batches and retries (switch on *Flaky API* first).",
        "tag_push",
    ),
    Step(
        "Coverage", "app_pages/coverage.py", "See **Tagged** and the chart per tag.", "cov_untagged"
    ),
    Step(
        "Undo", "app_pages/history.py", "Press **Undo this job**, then **Yes, undo**.", "hist_undo"
    ),
)


def step() -> int:
    return min(int(st.session_state.get(STEP_KEY, 0)), len(STEPS) - 1)


def _go(index: int) -> None:
    st.session_state[STEP_KEY] = index
    st.switch_page(STEPS[index].page)


def _highlight(widget: str) -> None:
    """Point at the step's widget: an outline on its container, and bigger numbers."""
    st.html(
        f"<style>.st-key-{widget} {{outline: 4px solid #f59e0b; outline-offset: 4px;"
        " border-radius: 8px;}\n"
        '[data-testid="stMetricValue"] {font-size: 2.6rem;}</style>'
    )


def _flaky_changed() -> None:
    on = bool(st.session_state.get(FLAKY_KEY))
    try:
        set_faults(session.sandbox_url(), fail_rate=FLAKY_FAIL_RATE if on else 0.0)
    except httpx.HTTPError as exc:
        st.session_state[FLAKY_KEY] = False
        st.toast(f"Could not change the sandbox's faults: {exc}", icon=":material/error:")
        return
    _small_batches(on)


def _small_batches(on: bool) -> None:
    """Many small batches while the API is flaky (an analyst's own batch size stays)."""
    chunk = st.session_state.get(CHUNK_KEY) or 0
    if on and chunk == 0:
        st.session_state[CHUNK_KEY] = FLAKY_BATCH
    elif not on and chunk == FLAKY_BATCH:
        st.session_state[CHUNK_KEY] = 0


def _reset_demo() -> None:
    """Sandbox state and faults back to the start, the provider's demo loaded afresh."""
    st.session_state.pop(RESET_ASK_KEY, None)
    try:
        reset(session.sandbox_url())
    except httpx.HTTPError as exc:
        st.toast(f"Could not reset the sandbox: {exc}", icon=":material/error:")
        return
    st.session_state[FLAKY_KEY] = False
    _small_batches(False)
    st.session_state[STEP_KEY] = 0
    st.session_state.pop(TAG_RESULT_KEY, None)
    session.set_workset(demo_workset(session.provider()))


def _retries(result: PushResult) -> int:
    return sum(max(0, o.attempts - 1) for o in result.outcomes)


def _last_push() -> None:
    result = st.session_state.get(TAG_RESULT_KEY)
    if not isinstance(result, PushResult):
        return
    left, right = st.columns(2)
    left.metric("Applied", f"{result.applied:,}", help="The last push from the Tag page")
    right.metric("Retries", f"{_retries(result):,}", help="Requests sent again after a fault")


def _controls() -> None:
    sandbox = not session.is_live()
    st.toggle(
        "Flaky API",
        key=FLAKY_KEY,
        persist_state="session",
        on_change=_flaky_changed,
        disabled=not sandbox,
        help=(
            "The sandbox fails about a third of the requests; the push retries them. "
            f"Pushes go in batches of {FLAKY_BATCH} ids meanwhile, so retries show."
        ),
    )
    if st.session_state.get(RESET_ASK_KEY):
        st.warning("Remove every tag in the sandbox and reload the demo data?")
        row = st.container(horizontal=True)
        row.button("Yes, reset", key="tour_reset_yes", type="primary", on_click=_reset_demo)
        row.button("Cancel", key="tour_reset_no", on_click=st.session_state.pop,
                   args=(RESET_ASK_KEY, None))  # fmt: skip
    else:
        st.button("Reset demo", key="tour_reset", icon=":material/restart_alt:",
                  disabled=not sandbox, on_click=st.session_state.__setitem__,
                  args=(RESET_ASK_KEY, True))  # fmt: skip


def render_tour() -> None:
    """The Tour toggle and, when on, the current step with Back / Next, in the sidebar."""
    with st.sidebar:
        st.divider()
        # persist_state: st.switch_page (Next) sends no widget states, the toggles must stay.
        on = st.toggle("Tour", key=TOUR_KEY, help="A guided demo", persist_state="session")
        if not on:
            return
        index = step()
        current = STEPS[index]
        st.markdown(f"### {index + 1} / {len(STEPS)} · {current.title}")
        st.markdown(current.text)
        row = st.container(horizontal=True)
        if row.button("Back", key="tour_back", disabled=index == 0, icon=":material/arrow_back:"):
            _go(index - 1)
        last = index == len(STEPS) - 1
        if row.button("Next", key="tour_next", type="primary", disabled=last,
                      icon=":material/arrow_forward:"):  # fmt: skip
            _go(index + 1)
        st.page_link(current.page, label="Open this step's page", icon=":material/near_me:")
        _last_push()
        _controls()
    _highlight(current.widget)
