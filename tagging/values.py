"""The values that flow between steps: operation -> plan -> requests -> outcomes -> result.

A leaf: imports nothing else of tagging, so every step (providers, planner, executor,
journal, pages) can share these without cycles. Rendering lives beside, in `render.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["add", "remove"]
BatchStatus = Literal["pending", "applied", "partial", "failed"]
JobStatus = Literal["running", "done", "partial", "failed", "interrupted"]


@dataclass(frozen=True)
class TagOperation:
    """What the analyst asked for.

    provider: a registered provider's name (a built-in one, or a plugin's).
    target:   where the ids live, e.g. Atlas {"projection_id": P, "id_field": F (optional)}.
    kinds:    the ids' kinds where the provider has them (Nekt resource type, Immuta model
              type): one string for all ids, or one per id (same length as ids); else None.
    """

    provider: str
    action: Action
    tags: tuple[str, ...]
    ids: Sequence[str]
    target: Mapping[str, str] = field(default_factory=dict)
    kinds: str | Sequence[str] | None = None


@dataclass(frozen=True)
class Batch:
    """One journaled unit of work: ids (with their kinds) that a provider turns into requests."""

    index: int
    # A tuple, or an IdList (a slice of the plan's Arrow column: no Python string per id).
    ids: Sequence[str]
    # Per id, when ids have kinds; None when the operation's single kind (or none) applies.
    kinds: tuple[str, ...] | None = None
    # The tags this batch applies, when known state says only some of the operation's tags
    # change for its ids; None: all of them.
    tags: tuple[str, ...] | None = None
    # Positions of ids whose prior state no read nor journal knew (an undo of them needs
    # --force); None: not recorded.
    unknown_at: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Plan:
    """What a push will send: batches diffed against what is known to be tagged already."""

    operation: TagOperation
    batches: tuple[Batch, ...]
    requested: int  # ids asked for (after de-duplication; on (kind, id) with per-id kinds)
    skipped: int  # ids the known state says need no change
    known_state: bool  # True when a diff against known state was made (see state_source)
    warnings: tuple[str, ...] = ()
    # Where the known state came from: "provider", "journal", "provider+journal", "" (none).
    state_source: str = ""

    @property
    def to_send(self) -> int:
        return sum(len(b.ids) for b in self.batches)

    @property
    def provider(self) -> str:
        return self.operation.provider

    def tags_for(self, batch: Batch) -> tuple[str, ...]:
        """The tags a batch applies: its own, or all the operation's."""
        return batch.tags if batch.tags is not None else self.operation.tags

    @property
    def tags_differ(self) -> bool:
        """True when some batch applies only part of the operation's tags."""
        return any(b.tags is not None for b in self.batches)


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request of a batch, and the ids whose fate its answer decides."""

    method: str
    path: str  # relative to the connection's base URL, already percent-encoded
    body: Any  # JSON body, or None
    ids: Sequence[str] = ()
    # The positions of `ids` in their batch (ids repeat across kinds); empty: find them by id.
    at: tuple[int, ...] = ()
    params: Mapping[str, str] | None = None  # query string (reads)


@dataclass(frozen=True)
class RequestResult:
    """What one request's final answer (after retries) says about its ids."""

    ids: Sequence[str]
    at: tuple[int, ...] = ()  # the request's `at`, set by the executor
    not_found: int = 0  # ids the API did not know (a count when it does not name them)
    not_found_ids: tuple[str, ...] = ()
    reason: str = ""  # non-empty: every id of the request failed, for this reason
    transient: bool = False  # failed because the API stayed down (resumable), not bad input
    attempts: int = 1
    # Send this next for the rest of the ids (Nekt rejects a whole call for one unknown id).
    followup: ApiRequest | None = None

    @property
    def failed(self) -> bool:
        return bool(self.reason)


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


@dataclass(frozen=True)
class BatchCheck:
    """What the read-back after a batch found: ids checked, those that do not carry the
    change, and the batch's outcome with exact not-found ids (the map says which exist)."""

    index: int
    checked: int
    mismatched_ids: tuple[str, ...]
    mismatched_at: tuple[int, ...]
    status: BatchStatus
    applied: int
    not_found: int
    not_found_ids: tuple[str, ...]
    not_found_at: tuple[int, ...] | None


@dataclass(frozen=True)
class Verified:
    """The read-back after a push: how many ids were checked, and those that did not end in
    the state asked for (ids the API does not hold are not-found, not mismatched)."""

    checked: int
    mismatched_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"checked": self.checked, "mismatched_ids": list(self.mismatched_ids)}


@dataclass
class PushResult:
    """A push, resume or undo as it ended: one outcome per batch sent."""

    job_id: str | None
    outcomes: list[BatchOutcome] = field(default_factory=list)
    cancelled: bool = False
    verified: Verified | None = None  # None: not read back (skipped, or the API cannot)
    unverified_reason: str = ""  # why a read-back was not made (API down, job interrupted)

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
            "verified": None if self.verified is None else self.verified.as_dict(),
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
