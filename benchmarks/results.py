"""What a scenario reports: a figure, its baseline, the ratio, the target, and how cost grows."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Target:
    """`ratio <op> value`, e.g. `<= 1.3` (slower by at most 30 %) or `>= 20` (a speed-up)."""

    op: Literal["<=", ">=", "=="]
    value: float

    def met(self, ratio: float) -> bool:
        if self.op == "<=":
            return ratio <= self.value
        if self.op == ">=":
            return ratio >= self.value
        return math.isclose(ratio, self.value, rel_tol=1e-9)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Point:
    """One size of a scenario: the measured figure and its baseline at that size."""

    size: int
    measured: float
    baseline: float

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else math.inf


@dataclass
class Result:
    """One row of the table. `ratio` is computed by the scenario (a slowdown or a speed-up,
    as `metric` says); `points` hold every size so the growth of cost can be read off."""

    scenario: str
    metric: str  # what is compared, e.g. "CLI push / bare httpx loop"
    unit: str  # of measured and baseline: "s", "requests", "MB"
    measured: float
    baseline: float
    ratio: float
    target: Target | None
    points: list[Point] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    # A pass/miss that is not a ratio (e.g. "final state exact"); None: use the target.
    check: bool | None = None

    @classmethod
    def at_largest(
        cls,
        scenario: str,
        metric: str,
        unit: str,
        points: list[Point],
        target: Target | None,
        notes: dict[str, Any] | None = None,
        check: bool | None = None,
    ) -> Result:
        """The row of a scenario measured at several sizes: its figures are the largest's."""
        last = points[-1]
        return cls(
            scenario=scenario,
            metric=metric,
            unit=unit,
            measured=last.measured,
            baseline=last.baseline,
            ratio=last.ratio,
            target=target,
            points=points,
            notes=notes or {},
            check=check,
        )

    @property
    def passed(self) -> bool | None:
        if self.check is not None and not self.check:
            return False
        if self.target is not None:
            return self.target.met(self.ratio)
        return self.check

    def growth(self) -> float | None:
        """How the measured figure grows per 10x of size (1.0: flat, 10.0: linear)."""
        return growth(self.points, lambda p: p.measured)

    def baseline_growth(self) -> float | None:
        return growth(self.points, lambda p: p.baseline)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = str(self.target) if self.target else None
        out["passed"] = self.passed
        out["growth_per_10x"] = self.growth()
        out["baseline_growth_per_10x"] = self.baseline_growth()
        out["points"] = [asdict(p) | {"ratio": p.ratio} for p in self.points]
        return out


def target_label(target: object, check: bool | None) -> str:
    """The target column: the ratio target, or "state exact" for a pass/miss check."""
    if target:
        return str(target)
    return "state exact" if check is not None else "—"


def growth(points: list[Point], value: Any) -> float | None:
    """(last / first) ** (1 / decades between their sizes); None with fewer than two sizes."""
    if len(points) < 2:
        return None
    first, last = points[0], points[-1]
    decades = math.log10(last.size / first.size)
    a, b = value(first), value(last)
    if decades <= 0 or a <= 0 or b <= 0:
        return None
    return float((b / a) ** (1 / decades))
