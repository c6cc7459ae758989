"""A tagging operation becomes a Plan: batches of ids, diffed against known state. No I/O.

CONTRACT (filled in by the library work): the dataclasses below are shared by providers,
executor, journal, CLI and pages. Change them only together with every user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Provider = Literal["atlas", "nekt", "immuta"]
Action = Literal["add", "remove"]


@dataclass(frozen=True)
class TagOperation:
    """What the analyst asked for.

    target: Atlas {"projection_id": P, "id_field": F (optional)}; Nekt and Immuta {}.
    kinds:  Nekt resource type / Immuta model type; one string for all ids, or one per id
            (same length as ids); None for Atlas.
    """

    provider: Provider
    action: Action
    tags: tuple[str, ...]
    ids: Sequence[str]
    target: Mapping[str, str] = field(default_factory=dict)
    kinds: str | Sequence[str] | None = None


@dataclass(frozen=True)
class Batch:
    """One journaled unit of work: ids (with their kinds) that a provider turns into requests."""

    index: int
    ids: tuple[str, ...]
    kinds: tuple[str, ...] | None = None  # per id, when the provider needs them


@dataclass(frozen=True)
class Plan:
    operation: TagOperation
    batches: tuple[Batch, ...]
    requested: int  # ids asked for (after de-duplication)
    skipped: int  # ids the known state says need no change
    known_state: bool  # True when a diff against known state was made (undo is exact)
    warnings: tuple[str, ...] = ()

    @property
    def to_send(self) -> int:
        return sum(len(b.ids) for b in self.batches)
