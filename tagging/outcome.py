"""Values the executor reports and the journal records (shared contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Literal

BatchStatus = Literal["pending", "applied", "partial", "failed"]
JobStatus = Literal["running", "done", "partial", "failed", "interrupted"]


@dataclass(frozen=True)
class BatchOutcome:
    """How one batch ended.

    applied:   ids (or, for Atlas, a count) the API confirmed.
    not_found: count of ids the API did not know; ids listed when the API names them.
    failed_ids / reason: ids whose requests gave up after retries, and why (one line).
    not_found_at / failed_at: the positions in the batch of those ids (ids repeat across
    kinds: Immuta data source 6 and project 6); None when unknown, then an id stands for
    every position holding it.
    """

    index: int
    status: BatchStatus
    applied: int
    not_found: int = 0
    not_found_ids: tuple[str, ...] = ()
    failed_ids: tuple[str, ...] = ()
    reason: str = ""
    attempts: int = 1  # HTTP requests sent for this batch, retries included
    not_found_at: tuple[int, ...] | None = None
    failed_at: tuple[int, ...] | None = None


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

    def _repr_html_(self) -> str:
        """A small table for Jupyter: the counts, then the first ids that need a look."""
        rows = [
            ("job", self.job_id or "(not journaled)"),
            ("applied", f"{self.applied:,}"),
            ("not found", f"{self.not_found:,}"),
            ("failed", f"{self.failed:,}"),
        ]
        for label, ids in (("not found ids", self.not_found_ids), ("failed ids", self.failed_ids)):
            if ids:
                more = f" … and {len(ids) - 10:,} more" if len(ids) > 10 else ""
                rows.append((label, ", ".join(ids[:10]) + more))
        if self.cancelled:
            rows.append(("status", "cancelled: resume the job to finish it"))
        cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"

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
