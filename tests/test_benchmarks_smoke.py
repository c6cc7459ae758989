"""Smoke run of every benchmark scenario at tiny sizes, so the benchmark code cannot rot.

No timing assertions: only that each scenario runs its real code path against a real
sandbox and reports well-formed results (and the behaviour figures that are not timings).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.results import Point, Result, Target, growth
from benchmarks.scenarios import SCENARIOS


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_runs_at_quick_sizes(name: str) -> None:
    results = SCENARIOS[name].run(quick=True)

    assert results, f"{name} reported nothing"
    for r in results:
        assert r.scenario.split(".")[0] == getattr(SCENARIOS[name], "PREFIX", name)
        assert len(r.points) >= 2, "every scenario runs at least two sizes"
        assert [p.size for p in r.points] == sorted({p.size for p in r.points})
        assert r.measured > 0 and r.baseline > 0
        assert math.isfinite(r.ratio)
        assert r.passed in (True, False, None)
        json.dumps(r.to_json())  # serialisable as results.json
    if name == "nekt_requests":  # a count, not a timing: exactly the minimum
        assert [(p.measured, p.baseline) for p in results[0].points] == [(1, 1), (10, 10)]
        assert results[0].passed is True
    if name == "retries":  # every fault retried to the exact final state
        assert all(r.check is True for r in results)


def test_main_writes_results_json_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"

    code = main(["--quick", "--only", "nekt_requests", "--output", str(out)])

    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert set(doc["machine"]) >= {"nproc", "ram_gb", "python"}
    (row,) = doc["results"]
    assert row["scenario"] == "nekt_requests"
    assert row["target"] == "<= 1"
    assert row["passed"] is True
    assert row["growth_per_10x"] == pytest.approx(10.0)
    assert [p["size"] for p in row["points"]] == [1_000, 10_000]
    assert "nekt_requests" in capsys.readouterr().out


def test_unknown_scenario_is_an_argument_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "nope"])
    assert exit_info.value.code == 2


def test_growth_and_targets() -> None:
    points = [Point(10_000, 1.0, 1.0), Point(1_000_000, 100.0, 10.0)]
    assert growth(points, lambda p: p.measured) == pytest.approx(10.0)
    assert growth(points, lambda p: p.baseline) == pytest.approx(10**0.5)
    assert growth(points[:1], lambda p: p.measured) is None
    r = Result("x", "m", "s", 13.0, 10.0, 1.3, Target("<=", 1.3), points)
    assert r.passed is True
    assert Result("x", "m", "s", 1, 1, 1.0, Target("<=", 1.3), check=False).passed is False
    assert Result("x", "m", "s", 1, 1, 25.0, Target(">=", 20)).passed is True
    assert Result("x", "m", "s", 1, 1, 1.0, None).passed is None
