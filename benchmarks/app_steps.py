"""Timing the app's page steps in AppTest (streamlit.testing.v1), for the ui.* scenarios.

`app_world` starts a sandbox (benchmarks/sandbox_process.py) and points the app at it, a
journal and a sessions folder in a temp dir (`app_env` does the pointing, for a sandbox and
journal of the caller's). `AppSession` drives one AppTest session as a user would (upload a
dataset, switch page, click, type, download) and reports what a page shows. `measure` times
one step's rerun against its baseline in the same run: the library call the step wraps plus an
empty rerun of the same page in the state the step leaves (what any rerun costs).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from benchmarks.results import Point
from benchmarks.sandbox_process import ROOT, SandboxProcess, sandbox
from tagging.demo import ATLAS_POINTS_VAR

APP = ROOT / "app.py"
TIMEOUT_S = 900.0  # one AppTest run at 5M rows, with a cold cache
PAGES = {
    "dataset": "app_pages/dataset.py",
    "tag": "app_pages/tag.py",
    "history": "app_pages/history.py",
    "coverage": "app_pages/coverage.py",
}
MIME = {".parquet": "application/octet-stream", ".csv": "text/csv"}


@contextmanager
def app_world(*sandbox_flags: str) -> Iterator[tuple[SandboxProcess, Path]]:
    """A sandbox started with `sandbox_flags`, and the app's environment pointing at it, at a
    fresh journal and sessions folder; yields (sandbox, temp dir). The environment is put
    back afterwards."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(*sandbox_flags) as sb:
        with app_env(sb, Path(tmp) / "journal.db"):
            yield sb, Path(tmp)


@contextmanager
def app_env(sb: SandboxProcess, journal: Path, atlas_points: int | None = None) -> Iterator[None]:
    """The environment an app started next to this sandbox and journal sees (no live
    settings, sessions beside the journal, the demo map at `atlas_points` when given);
    restored afterwards."""
    env = sb.env() | {
        "TAGGING_JOURNAL": str(journal),
        "TAGGING_SESSIONS": str(journal.parent / "sessions"),
    }
    if atlas_points is not None:
        env[ATLAS_POINTS_VAR] = str(atlas_points)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def deferred_files() -> Iterator[dict[str, Callable[[], object]]]:
    """The callables download buttons register for a click, by their deferred file id: the
    browser's click runs exactly that callable (MediaFileManager.execute_deferred)."""
    seen: dict[str, Callable[[], object]] = {}
    original = MediaFileManager.add_deferred

    def add(self: MediaFileManager, data_callable: Any, *args: Any, **kwargs: Any) -> str:
        file_id = original(self, data_callable, *args, **kwargs)
        seen[file_id] = data_callable
        return file_id

    MediaFileManager.add_deferred = add  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        MediaFileManager.add_deferred = original  # type: ignore[method-assign]


class StepError(RuntimeError):
    """The page did not do what the step expects (an exception or an error line)."""


@dataclass
class AppSession:
    """One browser session of the app, driven through AppTest."""

    at: AppTest

    @classmethod
    def open(cls, provider: str = "atlas", app: Path = APP) -> AppSession:
        session = cls(AppTest.from_file(str(app), default_timeout=TIMEOUT_S))
        session.run()
        if provider != "atlas":
            session.at.sidebar.selectbox(key="provider").set_value(provider)
            session.run()
        return session

    def run(self) -> AppSession:
        """One rerun; raises StepError when the page raised or shows an error."""
        self.at.run()
        self.check()
        return self

    def check(self) -> None:
        if self.at.exception:
            raise StepError(f"the page raised: {self.at.exception[0].value}")
        errors = [e.value for e in self.at.error]
        if errors:
            raise StepError(f"the page shows an error: {errors[0]}")

    def upload(self, path: Path) -> AppSession:
        """Upload a file on the Dataset page, as the file uploader sends it; the rerun loads it."""
        data = path.read_bytes()
        mime = MIME.get(path.suffix, "application/octet-stream")
        self.at.file_uploader(key="ds_upload").set_value((path.name, data, mime))
        return self.run()

    def page(self, name: str) -> AppSession:
        self.at.switch_page(PAGES.get(name, name))
        return self.run()

    def click(self, key: str) -> AppSession:
        self.at.button(key=key).click()
        return self.run()

    def type(self, key: str, value: str) -> AppSession:
        self.at.text_input(key=key).set_value(value)
        return self.run()

    def choose(self, key: str, value: object) -> AppSession:
        self.at.selectbox(key=key).set_value(value)
        return self.run()

    def add_filter(self, column: str, op: str, value: str) -> AppSession:
        """Add one filter with a text value (equals, contains, >=, …) as a user does."""
        self.stage_filter(column, op, value)
        return self.click("flt_add")

    def stage_filter(self, column: str, op: str, value: str) -> AppSession:
        """Fill the filter builder without adding it (the rerun a step then times)."""
        self.choose("flt_column", column)
        self.choose("flt_op", op)
        return self.type("flt_value", value)

    def push(self, join_s: float = TIMEOUT_S) -> AppSession:
        """Click the Tag page's push and wait for its result on the page (the push runs in
        a thread, ui/push_panel.py; the run after it ends shows the result)."""
        self.at.button(key="tag_push").click()
        self.run()
        run = self.at.session_state["_push_run"] if "_push_run" in self.at.session_state else None
        if run is not None:
            run.thread.join(join_s)
            self.run()
        return self

    def metrics(self) -> dict[str, str]:
        """Metric label -> value; later metrics with the same label win."""
        return {m.label: m.value for m in self.at.metric}

    def markdown(self) -> str:
        return " ".join(m.value for m in self.at.markdown)

    def has_button(self, key: str) -> bool:
        return key in [b.key for b in self.at.button]

    def download(self, key: str, deferred: dict[str, Callable[[], object]]) -> bytes:
        """What a click on the download button `key` sends, built as the browser asks for
        it (its deferred callable; `deferred` from `deferred_files`)."""
        button = next(b for b in self.at.get("download_button") if b.proto.id.endswith(key))
        data = deferred[button.proto.deferred_file_id]()
        return data if isinstance(data, bytes) else str(data).encode()


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(
    size: int,
    step: Callable[[], object],
    library: Callable[[], object],
    empty_rerun: Callable[[], object],
    setup: Callable[[], object] | None = None,
    check: Callable[[], object] | None = None,
    repeats: int = 2,
) -> Point:
    """The best of `repeats` runs of `step` (after `setup`, untimed; `check` raises when the
    step did not do its work) against the best `library` call plus the best `empty_rerun`,
    each measured right after the step, in the state it leaves."""
    best = [float("inf")] * 3
    for _ in range(max(1, repeats)):
        if setup is not None:
            setup()
        took = seconds(step)
        if check is not None:
            check()
        for i, t in enumerate((took, seconds(library), seconds(empty_rerun))):
            best[i] = min(best[i], t)
    return Point(size, best[0], best[1] + best[2])
