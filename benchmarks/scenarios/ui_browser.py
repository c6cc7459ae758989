"""13. The browser path in a real Chromium (Playwright, benchmarks/browser.py): the app as
`streamlit run` serves it, on a sandbox this scenario starts, with the demo Atlas frame
uploaded as Parquet. Steps: first load (the upload until the Dataset page shows its rows),
select all filtered, push (until the result shows and the page is idle again), the Coverage
page after a push, and a facet change. Each is timed until Streamlit's script has finished,
nothing on the page is greyed out and the step's number is on the page, against the library
call it wraps (in-process) plus an empty rerun of the same page in Chromium (the "r" key).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tagging
from benchmarks.app_steps import StepError, measure
from benchmarks.browser import BrowserSession, chromium, running_app
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.scenarios.ui_tag import load_and_check
from benchmarks.timing import repeats_for
from tagging.coverage import coverage
from tagging.coverage_time import coverage_over_time, events_from_journal
from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.filters import Condition, apply_filters
from tagging.known_state import known_state

NAME = "ui_browser"
PREFIX = "ui"  # its results are ui.browser.<step>, beside the AppTest ui.* rows
TITLE = "Tag and Coverage page steps in Chromium"
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (1_000, 2_000)
STEPS = ("first_load", "select_all", "push", "coverage", "facet_change")
METRICS = {
    "first_load": "upload a Parquet dataset until its rows show / load + id checks + empty rerun",
    "select_all": "Select all filtered until the count shows / df.loc[mask, id] + empty rerun",
    "push": "push all selected until the result shows, page idle / tagging.push + empty rerun",
    "coverage": "Coverage page after a push / known_state + coverage + over time + empty rerun",
    "facet_change": "add a filter with all selected / apply_filters + empty rerun",
}
TARGET = {"projection_id": ATLAS_PROJECTION_ID}
BROAD = Condition("field", "not_equals", "cs.CV")  # the "filtered" rows: about 90 %
FACET = Condition("field", "equals", "cs.LG")  # the facet change narrows them
OP_NAMES = {"not_equals": "≠", "equals": "="}
MAX_SHOWN = 10_000  # the Tag page's grid (app_pages/tag.py): more rows say "showing"
# The job id in the push result's caption (ui/push_panel.py show_result).
_JOB = """() => {
  const m = document.querySelector('[data-testid="stMain"]').innerText.match(/Job (\\S+) · see/);
  return m ? m[1] : null;
}"""


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: dict[str, list[Point]] = {s: [] for s in STEPS}
    sent: dict[str, tuple[int, tuple[float, ...]]] = {}  # each step's last run
    with _browser_world(max(sizes)) as (sb, tmp, url, browser):
        for n in sizes:
            w = _World(sb, tmp, url, browser, n, repeats_for(n, quick), sent=sent)
            for step, point in _time_steps(w).items():
                points[step].append(point)
    return [_result(step, points[step], *sent.get(step, (0, (0.0,) * 4))) for step in STEPS]


def _result(step: str, points: list[Point], sent: int, split: tuple[float, ...]) -> Result:
    last = points[-1]
    return Result.at_largest(
        scenario=f"{PREFIX}.browser.{step}",
        metric=f"{METRICS[step]} ({last.size:,} rows)",
        unit="s",
        target=Target("<=", 1.5),
        points=points,
        notes={
            "measured_s": round(last.measured, 3),
            "baseline_s": round(last.baseline, 3),
            "websocket_mb": round(sent / 1e6, 2),  # what the browser received for the step
            # the step's last run in the browser's clock: click to a script run starting,
            # script runs, last run's end to the result shown (rendering, stale elements)
            "to_run_s": round(split[0], 3),
            "script_s": round(split[1], 3),
            "after_end_s": round(split[2], 3),
            "browser_busy_s": round(split[3], 3),  # the tab's main thread (not WebGL's GPU)
        },
    )


@contextmanager
def _browser_world(points: int) -> Iterator[tuple[SandboxProcess, Path, str, Any]]:
    """A sandbox of `points` Atlas points, the app served against it (a fresh journal and
    sessions folder), and a Chromium; yields (sandbox, temp dir, app URL, browser)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox("--atlas-points", str(points), "--db", ":memory:", timeout=300) as sb,
    ):
        env = sb.env() | {
            "TAGGING_JOURNAL": str(Path(tmp) / "journal.db"),
            "TAGGING_SESSIONS": str(Path(tmp) / "sessions"),
        }
        with running_app(env) as url, chromium() as browser:
            yield sb, Path(tmp), url, browser


@dataclass
class _World:
    """One size: the Parquet file, its frame and one tab of the app."""

    sb: SandboxProcess
    tmp: Path
    url: str
    browser: Any
    n: int
    repeats: int
    tab: BrowserSession | None = None
    tags: list[str] = field(default_factory=list)
    sent: dict[str, tuple[int, tuple[float, ...]]] = field(default_factory=dict)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def path(self) -> Path:
        return self.tmp / f"atlas-{self.n}.parquet"

    @property
    def s(self) -> BrowserSession:
        if self.tab is None:
            raise StepError("no tab of the app is open")
        return self.tab

    @property
    def journal(self) -> tagging.Journal:
        return tagging.Journal(str(self.tmp / "journal.db"))  # the app's own

    def timed(self, step: str, action: Callable[[], object]) -> Callable[[], None]:
        """`action` as a timed step that notes the websocket bytes it took."""

        def run() -> None:
            action()
            self.sent[step] = (self.s.last_bytes, (*self.s.last_split, self.s.last_busy))

        return run

    def new_tag(self) -> str:
        self.tags.append(f"bench-{self.n}-{len(self.tags)}")
        return self.tags[-1]


def _time_steps(w: _World) -> dict[str, Point]:
    w.frame = atlas_frame(w.n)
    w.frame.to_parquet(w.path, index=False)
    out = {"first_load": _first_load(w)}
    _nav(w, "Tag")
    _stage_filter(w, BROAD)
    w.s.click("flt_add")
    broad = apply_filters(w.frame, [BROAD]).to_numpy()
    out["select_all"] = _select_all(w, broad)
    out["push"] = _push(w, w.frame["id"][broad].tolist())
    out["coverage"] = _coverage(w, int(broad.sum()))
    _nav(w, "Tag")
    out["facet_change"] = _facet_change(w)
    w.s.page.close()
    return out


def _nav(w: _World, title: str) -> None:
    nav = w.s.page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True)
    w.s.act(nav.click)


def _stage_filter(w: _World, cond: Condition) -> None:
    """Fill the filter builder (opening its expander if a filter closed it), not adding it."""
    if not w.s.visible("flt_column"):
        expander = w.s.page.get_by_test_id("stExpander").filter(has_text="Add a filter")
        expander.locator("summary").click()
        w.s.key("flt_column").wait_for(state="visible")
    w.s.choose("flt_column", cond.column)
    w.s.choose("flt_op", OP_NAMES[cond.op])
    w.s.fill("flt_value", str(cond.value))


def _first_load(w: _World) -> Point:
    def setup() -> None:
        if w.tab is not None:
            w.tab.page.close()
        w.tab = BrowserSession.open(w.browser, w.url)

    def upload() -> None:
        picker = w.s.key("ds_upload").locator('input[type="file"]')
        w.s.act(lambda: picker.set_input_files(w.path), f"return metric('Rows') === '{w.n:,}';")

    return measure(
        w.n,
        step=w.timed("first_load", upload),
        library=partial(load_and_check, w.path),
        empty_rerun=lambda: w.s.rerun(),
        setup=setup,
        repeats=w.repeats,
    )


def _select_all(w: _World, mask: np.ndarray) -> Point:
    count = f"{int(mask.sum()):,} selected"
    ids = w.frame["id"]

    def setup() -> None:
        clear = w.s.key("tag_clear_selection").locator("button")
        if clear.count() and clear.first.is_enabled():
            w.s.click("tag_clear_selection")

    return measure(
        w.n,
        step=w.timed("select_all", lambda: w.s.click("tag_select_all", f"return text({count!r});")),
        library=lambda: ids.loc[mask],
        empty_rerun=lambda: w.s.rerun(),
        setup=setup,
        repeats=w.repeats,
    )


def _push(w: _World, ids: list[str]) -> Point:
    conn = w.sb.connect("atlas")
    journal = tagging.Journal(str(w.tmp / "library-journal.db"))
    applied = f"{len(ids):,}"
    plans: list[tagging.Plan] = []
    done: list[str] = []

    def setup() -> None:
        w.sb.reset()
        w.s.fill("tag_new", w.new_tag())  # a new tag: everything to send again
        op = tagging.TagOperation("atlas", "add", (w.tags[-1],), ids, target=TARGET)
        plans[:] = [tagging.prepare(op, conn, journal=journal)]
        # Done: the result of a job other than the one shown now (the last push's).
        done[:] = [
            f"const job = ({_JOB})(); return job !== null && job !== {json.dumps(_job(w))}"
            f" && metric('Applied') === {applied!r} && metric('Failed') === '0';"
        ]

    def check() -> None:
        if w.s.metric("Applied") != applied:
            raise StepError(f"the push did not apply {applied} ids: {w.s.metric('Applied')}")

    return measure(
        w.n,
        step=w.timed("push", lambda: w.s.click("tag_push", done[0])),
        library=lambda: tagging.push(plans[0], conn, journal=journal),
        empty_rerun=lambda: w.s.rerun(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def _job(w: _World) -> str | None:
    """The job id of the push result the Tag page shows (None: no result shown)."""
    job: str | None = w.s.page.evaluate(_JOB)
    return job


def _coverage(w: _World, tagged: int) -> Point:
    """Each visit follows a new small push through the app's journal, as after a push: the
    page's per-state caches are cold, as a person coming from the Tag page finds them."""
    conn = w.sb.connect("atlas")
    rounds = [0]

    def setup() -> None:
        _nav(w, "Tag")
        rounds[0] += 1
        op = tagging.TagOperation(
            "atlas", "add", (f"round {rounds[0]}",), [str(i) for i in range(0, w.n, 10)],
            target=TARGET,
        )  # fmt: skip
        tagging.push(tagging.prepare(op, conn, journal=w.journal), conn, journal=w.journal)

    def step() -> None:
        nav = w.s.page.get_by_test_id("stSidebarNav").get_by_text("Coverage", exact=True)
        w.s.act(nav.click, "return metric('Tagged') !== null;")

    def check() -> None:
        shown = w.s.metric("Rows")
        if shown != f"{w.n:,}" or w.s.metric("Tagged") is None:
            raise StepError(f"the Coverage page shows {shown} rows, not {w.n:,}")

    return measure(
        w.n,
        step=w.timed("coverage", step),
        library=partial(_library_coverage, w),
        empty_rerun=lambda: w.s.rerun(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def _library_coverage(w: _World) -> None:
    """What a notebook does for the page's numbers and its over-time line."""
    state = known_state(w.journal, "atlas", TARGET, sandbox_url=w.sb.url)
    coverage(w.frame, "id", state, facet="field")
    coverage_over_time(events_from_journal(w.journal, "atlas", TARGET), ids=w.frame["id"])


def _facet_change(w: _World) -> Point:
    both = [BROAD, FACET]
    narrowed = int(apply_filters(w.frame, both).sum())
    done = (
        f"return text({f'{narrowed:,} of {w.n:,} rows match'!r});"
        if narrowed <= MAX_SHOWN
        else f"return text({f'of {narrowed:,} filtered rows'!r});"
    )

    def setup() -> None:
        if w.s.key("flt_rm_1").count():
            w.s.click("flt_rm_1")
        _stage_filter(w, FACET)

    return measure(
        w.n,
        step=w.timed("facet_change", lambda: w.s.click("flt_add", done)),
        library=partial(apply_filters, w.frame, both),
        empty_rerun=lambda: w.s.rerun(),
        setup=setup,
        repeats=w.repeats,
    )
