"""12. The review pages in AppTest: the Coverage page after a push, and History's export of a
job, each vs the library calls the step wraps plus an empty rerun of the same page, measured
in the same run against a sandbox this scenario starts (and a journal in a temp dir).

- ui.coverage: switching to the Coverage page after a push (untimed) / the library's known
  state read + `coverage(facet=...)` + `coverage_over_time` + an empty rerun of the page.
- ui.history_export: opening a job on the History page + its "Export CSV" click (the
  download button's deferred build, as the browser asks for it) / `journal.export_job`
  + an empty rerun of the page; notes: the floor, a bare pyarrow CSV of the job's ids.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import ROOT, SandboxProcess, sandbox
from tagging.coverage import coverage
from tagging.coverage_time import coverage_over_time, events_from_journal
from tagging.demo import ATLAS_POINTS_VAR, ATLAS_PROJECTION_ID, demo_datasets
from tagging.executor import push
from tagging.journal import Journal
from tagging.known_state import known_state
from tagging.plan import TagOperation, plan
from tagging.values import BatchOutcome

NAME = "ui_review"
PREFIX = "ui"  # its results are ui.<step>, beside the other pages' ui.* scenarios
TITLE = "Coverage page and History export (AppTest)"
COVERAGE_SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
EXPORT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 2_000)
APP = str(ROOT / "app.py")
COVERAGE_PAGE = "app_pages/coverage.py"
HISTORY_PAGE = "app_pages/history.py"
DATASET_PAGE = "app_pages/dataset.py"
TARGET = {"projection_id": ATLAS_PROJECTION_ID}
NOT_FOUND_SHARE = 10  # every 10th id of the exported job is one the map does not hold
_LIVE_VARS = ("ATLAS_API_URL", "NEKT_API_URL", "IMMUTA_API_URL")
_KEY_VARS = ("NOMIC_API_KEY", "NEKT_API_KEY", "IMMUTA_API_KEY")


def run(quick: bool) -> list[Result]:
    return [
        _coverage_result(QUICK_SIZES if quick else COVERAGE_SIZES, quick),
        _export_result(QUICK_SIZES if quick else EXPORT_SIZES, quick),
    ]


# --- AppTest timing (self-contained; folds into the shared app-steps harness) --------------


@contextmanager
def _app_env(sb: SandboxProcess, journal: Path, points: int) -> Iterator[None]:
    """The environment an app started next to this sandbox and journal sees; restored after."""
    saved = dict(os.environ)
    for name in (*_LIVE_VARS, *_KEY_VARS):
        os.environ.pop(name, None)
    os.environ |= {
        "TAGGING_SANDBOX_URL": sb.url,
        "TAGGING_JOURNAL": str(journal),
        ATLAS_POINTS_VAR: str(points),
    }
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _open_app(timeout: float = 900) -> Any:
    from streamlit.testing.v1 import AppTest

    return _checked(AppTest.from_file(APP, default_timeout=timeout).run())


def _checked(at: Any) -> Any:
    if at.exception or at.error:
        raise RuntimeError(f"the app failed: {[e.value for e in (*at.exception, *at.error)]}")
    return at


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _switch(at: Any, page: str) -> None:
    _checked(at.switch_page(page).run())


def _rerun(at: Any) -> None:
    _checked(at.run())


@contextmanager
def _deferred_files() -> Iterator[dict[str, Callable[[], object]]]:
    """The callables download buttons register for a click, by their deferred file id: the
    browser's click runs exactly that callable (MediaFileManager.execute_deferred)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

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


def _click_download(at: Any, key: str, deferred: dict[str, Callable[[], object]]) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    data = deferred[button.proto.deferred_file_id]()
    return data if isinstance(data, bytes) else str(data).encode()


# --- ui.coverage ---------------------------------------------------------------------------


def _coverage_result(sizes: tuple[int, ...], quick: bool) -> Result:
    points = [_coverage_point(n, quick) for n in sizes]
    last = points[-1]
    return Result.at_largest(
        scenario="ui.coverage",
        metric=(
            "Coverage page after a push / known_state + coverage + coverage_over_time "
            f"+ empty rerun ({last.size:,} rows)"
        ),
        unit="s",
        target=Target("<=", 1.5),
        points=points,
        notes={"s_at_largest": round(last.measured, 2)},
    )


def _coverage_point(n: int, quick: bool) -> Point:
    repeats = 1 if quick else 3 if n <= 1_000_000 else 2
    with sandbox("--atlas-points", str(n), "--db", ":memory:", timeout=300) as sb:
        with tempfile.TemporaryDirectory() as tmp, _app_env(sb, Path(tmp) / "j.db", n):
            journal = Journal(Path(tmp) / "j.db")
            conn = sb.connect("atlas")
            _tag(conn, journal, "alpha", range(0, n, 4))
            _tag(conn, journal, "beta", range(0, n, 10))
            frame = demo_datasets(n)["atlas"].frame()
            at = _open_app()
            page, bare = float("inf"), float("inf")
            for rep in range(repeats + 1):  # the first visit also builds per-dataset caches
                _switch(at, DATASET_PAGE)
                _tag(conn, journal, f"round {rep}", range(rep, n, max(n // 50, 1)))
                page = min(page, _seconds(partial(_switch, at, COVERAGE_PAGE)))
                library = _seconds(partial(_library_coverage, sb, journal, frame))
                bare = min(bare, library + _seconds(partial(_rerun, at)))
    return Point(n, page, bare)


def _tag(conn: Any, journal: Journal, tag: str, ids: range) -> None:
    op = TagOperation("atlas", "add", (tag,), [str(i) for i in ids], target=TARGET)
    push(plan(op), conn, journal=journal, verify=False)


def _library_coverage(sb: SandboxProcess, journal: Journal, frame: Any) -> None:
    """What a notebook does for the same numbers and over-time line."""
    state = known_state(journal, "atlas", TARGET, sandbox_url=sb.url)
    coverage(frame, "id", state, facet="field")
    coverage_over_time(events_from_journal(journal, "atlas", TARGET), ids=frame["id"])


# --- ui.history_export ---------------------------------------------------------------------


def _export_result(sizes: tuple[int, ...], quick: bool) -> Result:
    points, exact, floor = [], True, 0.0
    for n in sizes:
        point, ok, floor = _export_point(n, quick)
        points.append(point)
        exact &= ok
    last = points[-1]
    return Result.at_largest(
        scenario="ui.history_export",
        metric=(
            "History: open job + Export CSV click / journal.export_job + empty rerun "
            f"({last.size:,} ids)"
        ),
        unit="s",
        target=Target("<=", 1.5),
        points=points,
        notes={"s_at_largest": round(last.measured, 2), "bare_ids_csv_s": round(floor, 3)},
        check=exact,
    )


def _export_point(n: int, quick: bool) -> tuple[Point, bool, float]:
    repeats = 1 if quick else 3
    with sandbox("--db", ":memory:") as sb, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.db"
        with _app_env(sb, path, 1_000), _deferred_files() as deferred:
            journal = Journal(path)
            at = _open_app()
            _switch(at, HISTORY_PAGE)
            page, bare, floor, csv = float("inf"), float("inf"), float("inf"), b""
            for _ in range(repeats):
                job_id = _journal_job(journal, n)  # a new job each time: a first click
                _rerun(at)
                start = time.perf_counter()
                _checked(at.selectbox(key="hist_job").set_value(job_id).run())
                csv = _click_download(at, "hist_export_csv", deferred)
                page = min(page, time.perf_counter() - start)
                seconds = _seconds(partial(journal.export_job, job_id, "csv"))
                bare = min(bare, seconds + _seconds(partial(_rerun, at)))
                floor = min(floor, _seconds(partial(_bare_export, journal, job_id)))
    return Point(n, page, bare), _export_exact(csv, n), floor


def _journal_job(journal: Journal, n: int) -> str:
    """A job of `n` ids as a finished push leaves it, recorded straight into the journal:
    every NOT_FOUND_SHARE-th id named not found (a push of a million ids takes a minute)."""
    ids = [str(i) if i % NOT_FOUND_SHARE else f"gone-{i}" for i in range(n)]
    op = TagOperation("atlas", "add", ("reviewed",), ids, target=TARGET)
    p = plan(op)
    job = journal.start_job(p)
    for b in p.batches:
        missing = tuple(i for i in b.ids if i.startswith("gone-"))
        outcome = BatchOutcome(
            b.index, "partial" if missing else "applied", len(b.ids) - len(missing),
            len(missing), not_found_ids=missing,
        )  # fmt: skip
        journal.record_batch(job, outcome)
    return job


def _bare_export(journal: Journal, job_id: str) -> bytes:
    """The job's ids as pyarrow writes a CSV: the floor any export of them stands on."""
    batches = journal.batches(job_id)
    ids = pa.chunked_array([pa.array(b["ids"], pa.string()) for b in batches], pa.string())
    buf = io.BytesIO()
    pacsv.write_csv(pa.table({"id": ids}), buf)
    return buf.getvalue()


def _export_exact(csv: bytes, n: int) -> bool:
    """Exactly the job's ids, once each, not-found ones labelled so."""
    table = pacsv.read_csv(io.BytesIO(csv.removeprefix(b"\xef\xbb\xbf")))
    ids = table.column("id").cast(pa.string()).to_pylist()
    results = table.column("result").to_pylist()
    expected = [str(i) if i % NOT_FOUND_SHARE else f"gone-{i}" for i in range(n)]
    labels = ["applied" if i % NOT_FOUND_SHARE else "not_found" for i in range(n)]
    return ids == expected and results == labels
