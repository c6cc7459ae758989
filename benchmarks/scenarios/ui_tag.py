"""10. The browser path on the Tag page, in AppTest, with the demo Atlas frame of up to
1,000,000 rows uploaded as Parquet: first load, select all filtered, plan preview, push and a
facet change, each rerun against the library call it wraps plus an empty rerun of the same
page (what any rerun of that page costs), measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

import tagging
from benchmarks.app_steps import AppSession, StepError, app_world, measure
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess
from benchmarks.timing import repeats_for
from tagging.columns import IdReport, id_column_report, suggest_id_columns
from tagging.datasets import load_dataset
from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.filters import Condition, apply_filters

NAME = "ui_tag"
PREFIX = "ui"  # its results are ui.<step>, beside the other pages' ui.* scenarios
TITLE = "Tag page steps in AppTest"
SIZES = (10_000, 100_000, 1_000_000)
SELECT_ALL_SIZES = (*SIZES, 5_000_000)  # selection is the step that must scale furthest
QUICK_SIZES = (1_000, 10_000)
STEPS = ("first_load", "select_all", "plan_preview", "push", "facet_change")
METRICS = {
    "first_load": "upload and show a Parquet dataset / load + id column checks + empty rerun",
    "select_all": "Select all filtered / df.loc[mask, id] + empty rerun",
    "plan_preview": "plan preview of all selected / prepare + empty rerun",
    "push": "push all selected, result shown / tagging.push + empty rerun",
    "facet_change": "add a filter with all selected / apply_filters + empty rerun",
}
BROAD = Condition("field", "not_equals", "cs.CV")  # the "filtered" rows: about 90 %
# The facet change narrows them, to one field of six: a new one each repeat.
FACETS = tuple(Condition("field", "equals", f) for f in ("cs.LG", "cs.CL", "stat.ML", "q-bio.NC"))


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SELECT_ALL_SIZES
    points: dict[str, list[Point]] = {s: [] for s in STEPS}
    pushed = QUICK_SIZES if quick else SIZES  # 5M rows only select: no 5M-point sandbox
    with app_world("--atlas-points", str(max(pushed))) as (sb, tmp):
        for n in sizes:
            only_select = not quick and n not in SIZES
            for step, point in _time_steps(sb, tmp, n, quick, only_select).items():
                points[step].append(point)
    return [_result(step, points[step]) for step in STEPS]


def _result(step: str, points: list[Point]) -> Result:
    last = points[-1]
    return Result.at_largest(
        scenario=f"{PREFIX}.{step}",
        metric=f"{METRICS[step]} ({last.size:,} rows)",
        unit="s",
        target=Target("<=", 1.5),
        points=points,
        notes={"measured_s": round(last.measured, 3), "baseline_s": round(last.baseline, 3)},
    )


@dataclass
class _World:
    """One size: the Parquet file, its frame, and a page session on the Tag page."""

    sb: SandboxProcess
    path: Path
    n: int
    repeats: int
    app: AppSession | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def page(self) -> AppSession:
        assert self.app is not None
        return self.app

    def new_tag(self) -> str:
        self.tags.append(f"bench-{self.n}-{len(self.tags)}")
        return self.tags[-1]


def _time_steps(
    sb: SandboxProcess, tmp: Path, n: int, quick: bool, only_select: bool
) -> dict[str, Point]:
    path = tmp / f"atlas-{n}.parquet"
    frame = atlas_frame(n)
    frame.to_parquet(path, index=False)
    w = _World(sb, path, n, repeats_for(n, quick))
    out = {"first_load": _first_load(w)}
    w.page.page("tag").add_filter(BROAD.column, BROAD.op, str(BROAD.value))
    broad = apply_filters(frame, [BROAD]).to_numpy()
    out["select_all"] = _select_all(w, frame["id"], broad)
    if only_select:
        return {"select_all": out["select_all"]}
    out["plan_preview"] = _plan_preview(w, frame["id"][broad].tolist())
    out["push"] = _push(w, frame["id"][broad].tolist())
    out["facet_change"] = _facet_change(w, frame)
    return out


def _first_load(w: _World) -> Point:
    def setup() -> None:
        w.app = AppSession.open()

    def check() -> None:
        if f"{w.n:,}" != w.page.metrics().get("Rows"):
            raise StepError(f"the Dataset page does not show {w.n:,} rows")

    return measure(
        w.n,
        step=lambda: w.page.upload(w.path),
        library=partial(load_and_check, w.path),
        empty_rerun=lambda: w.page.run(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def load_and_check(path: Path) -> IdReport:
    """What loading a file runs in the library: read it, find the id columns, check the
    first (the Dataset page shows both)."""
    frame = load_dataset(path, path.name)
    return id_column_report(frame, suggest_id_columns(frame)[0])


def _select_all(w: _World, ids: object, mask: np.ndarray) -> Point:
    def setup() -> None:
        if w.page.has_button("tag_clear_selection") and not _disabled(w, "tag_clear_selection"):
            w.page.click("tag_clear_selection")

    def check() -> None:
        _expect(w, f"**{int(mask.sum()):,} selected**")

    return measure(
        w.n,
        step=lambda: w.page.click("tag_select_all"),
        library=lambda: ids.loc[mask],  # type: ignore[attr-defined]
        empty_rerun=lambda: w.page.run(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def _plan_preview(w: _World, ids: list[str]) -> Point:
    conn = w.sb.connect("atlas")
    journal = tagging.Journal(str(Path(w.path).parent / "library-journal.db"))
    tag: list[str] = []

    def setup() -> None:
        w.page.type("tag_new", "")
        tag[:] = [w.new_tag()]

    def library() -> object:
        op = tagging.TagOperation(
            "atlas", "add", (tag[0],), ids, target={"projection_id": ATLAS_PROJECTION_ID}
        )
        return tagging.prepare(op, conn, journal=journal)

    def check() -> None:
        if w.page.metrics().get("To send") != f"{len(ids):,}":
            raise StepError(f"the preview does not send {len(ids):,} ids: {w.page.metrics()}")

    return measure(
        w.n,
        step=lambda: w.page.type("tag_new", tag[0]),
        library=library,
        empty_rerun=lambda: w.page.run(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def _push(w: _World, ids: list[str]) -> Point:
    conn = w.sb.connect("atlas")
    journal = tagging.Journal(str(Path(w.path).parent / "library-journal.db"))
    n_ids = len(ids)
    plans: list[tagging.Plan] = []

    def setup() -> None:
        w.sb.reset()
        w.page.type("tag_new", w.new_tag())  # a new tag: everything to send again
        op = tagging.TagOperation(
            "atlas", "add", (w.tags[-1],), ids, target={"projection_id": ATLAS_PROJECTION_ID}
        )
        plans[:] = [tagging.prepare(op, conn, journal=journal)]

    def check() -> None:
        if w.page.metrics().get("Applied") != f"{n_ids:,}":
            raise StepError(f"the push did not apply {n_ids:,} ids: {w.page.metrics()}")

    return measure(
        w.n,
        step=lambda: w.page.push(),
        library=lambda: tagging.push(plans[0], conn, journal=journal),
        empty_rerun=lambda: w.page.run(),
        setup=setup,
        check=check,
        repeats=w.repeats,
    )


def _facet_change(w: _World, frame: pd.DataFrame) -> Point:
    """Each repeat adds a facet the session has not drawn before (the map keeps drawn rows'
    hover text: the same facet again would time a cache, not a first change)."""
    facets = iter(FACETS)
    current = [FACETS[0]]

    def both() -> list[Condition]:
        return [BROAD, current[0]]

    def setup() -> None:
        if w.page.has_button("flt_rm_1"):
            w.page.click("flt_rm_1")
        current[0] = next(facets)
        w.page.stage_filter(current[0].column, current[0].op, str(current[0].value))

    def check() -> None:
        narrowed = int(apply_filters(frame, both()).sum())
        _expect(w, f"{narrowed:,} of {w.n:,} rows match" if narrowed <= 10_000 else "showing")

    return measure(
        w.n,
        step=lambda: w.page.click("flt_add"),
        library=lambda: apply_filters(frame, both()),
        empty_rerun=lambda: w.page.run(),
        setup=setup,
        check=check,
        repeats=min(w.repeats, len(FACETS)),
    )


def _disabled(w: _World, key: str) -> bool:
    return bool(w.page.at.button(key=key).disabled)


def _expect(w: _World, text: str) -> None:
    if text not in w.page.markdown():
        raise StepError(f"the page does not say {text!r}")
