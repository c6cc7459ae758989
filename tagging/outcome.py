"""Values the executor reports and the journal records (shared contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BatchStatus = Literal["pending", "applied", "partial", "failed"]
JobStatus = Literal["running", "done", "partial", "failed", "interrupted"]


@dataclass(frozen=True)
class BatchOutcome:
    """How one batch ended.

    applied:   ids (or, for Atlas, a count) the API confirmed.
    not_found: count of ids the API did not know; ids listed when the API names them.
    failed_ids / reason: ids whose requests gave up after retries, and why (one line).
    """

    index: int
    status: BatchStatus
    applied: int
    not_found: int = 0
    not_found_ids: tuple[str, ...] = ()
    failed_ids: tuple[str, ...] = ()
    reason: str = ""
    attempts: int = 1  # HTTP requests sent for this batch, retries included


@dataclass
class PushResult:
    job_id: str | None
    outcomes: list[BatchOutcome] = field(default_factory=list)
    cancelled: bool = False

    @property
    def applied(self) -> int:
        return sum(o.applied for o in self.outcomes)

    @property
    def not_found(self) -> int:
        return sum(o.not_found for o in self.outcomes)

    @property
    def not_found_ids(self) -> list[str]:
        return [i for o in self.outcomes for i in o.not_found_ids]

    @property
    def failed_ids(self) -> list[str]:
        return [i for o in self.outcomes for i in o.failed_ids]

    @property
    def failed(self) -> int:
        return sum(len(o.failed_ids) for o in self.outcomes)

    def summary(self) -> dict[str, object]:
        """The `push --json` shape from DESIGN.md."""
        return {
            "job_id": self.job_id,
            "applied": self.applied,
            "not_found": self.not_found,
            "not_found_ids": self.not_found_ids,
            "failed": self.failed,
            "failed_ids": self.failed_ids,
        }


@dataclass(frozen=True)
class Progress:
    """Reported to a progress callback after each batch (and once at the start)."""

    done_batches: int
    total_batches: int
    done_ids: int
    total_ids: int
    failed_ids: int = 0
    retries: int = 0
