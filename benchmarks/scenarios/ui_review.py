"""12. The review pages in AppTest: the Coverage page after a push, and History's export of a
job, each vs the library calls the step wraps plus an empty rerun of the same page, measured
in the same run against a sandbox this scenario starts (and a journal in a temp dir).

- ui.coverage: switching to the Coverage page after a push (untimed) / the library's known
  state read + `coverage(facet=...)` + `coverage_over_time` + an empty rerun of the page.
- ui.history_export: opening a job on the History page + its "Export CSV" click (the
  download button's deferred build, as the browser asks for it; above 100,000 ids the
  click's run that builds the file with its progress, then the "Download CSV" click) /
  `journal.export_job` + an empty rerun of the page; notes: the floor, a bare pyarrow CSV
  of the job's ids. Both drive the app through benchmarks/app_steps.py.
"""

from __future__ import annotations

import io
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.app_steps import AppSession, app_env, deferred_files, seconds
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from tagging.coverage import coverage
from tagging.coverage_time import coverage_over_time, events_from_journal
from tagging.demo import ATLAS_PROJECTION_ID, demo_datasets
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
TARGET = {"projection_id": ATLAS_PROJECTION_ID}
NOT_FOUND_SHARE = 10  # every 10th id of the exported job is one the map does not hold
# Above this many ids History builds a CSV on the page with its progress, then offers it
# (app_pages/history.py EXPORT_PROGRESS_ABOVE): the step clicks Export, then Download.
PROGRESS_ABOVE = 100_000


def run(quick: bool) -> list[Result]:
    return [
        _coverage_result(QUICK_SIZES if quick else COVERAGE_SIZES, quick),
        _export_result(QUICK_SIZES if quick else EXPORT_SIZES, quick),
    ]


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
        with tempfile.TemporaryDirectory() as tmp, app_env(sb, Path(tmp) / "j.db", n):
            journal = Journal(Path(tmp) / "j.db")
            conn = sb.connect("atlas")
            _tag(conn, journal, "alpha", range(0, n, 4))
            _tag(conn, journal, "beta", range(0, n, 10))
            frame = demo_datasets(n)["atlas"].frame()
            app = AppSession.open()
            page, bare = float("inf"), float("inf")
            for rep in range(repeats + 1):  # the first visit also builds per-dataset caches
                app.page("dataset")
                _tag(conn, journal, f"round {rep}", range(rep, n, max(n // 50, 1)))
                page = min(page, seconds(partial(app.page, "coverage")))
                library = seconds(partial(_library_coverage, sb, journal, frame))
                bare = min(bare, library + seconds(app.run))
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
        with app_env(sb, path, 1_000), deferred_files() as deferred:
            journal = Journal(path)
            app = AppSession.open().page("history")
            page, bare, floor, csv = float("inf"), float("inf"), float("inf"), b""
            for _ in range(repeats):
                job_id = _journal_job(journal, n)  # a new job each time: a first click
                app.run()
                start = time.perf_counter()
                app.choose("hist_job", job_id)
                csv = _export_csv(app, n, deferred)
                page = min(page, time.perf_counter() - start)
                library = seconds(partial(journal.export_job, job_id, "csv"))
                bare = min(bare, library + seconds(app.run))
                floor = min(floor, seconds(partial(_bare_export, journal, job_id)))
    return Point(n, page, bare), _export_exact(csv, n), floor


def _export_csv(app: AppSession, n: int, deferred: dict[str, Any]) -> bytes:
    """The CSV a user gets: one click on Export CSV, or above PROGRESS_ABOVE ids that click
    (the file built on the page, its progress shown) and one on Download CSV."""
    if n <= PROGRESS_ABOVE:
        return app.download("hist_export_csv", deferred)
    app.click("hist_export_csv")
    return app.download("hist_download_csv", deferred)


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
