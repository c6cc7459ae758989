"""What the journal stores, as typed frozen records, and how their lists are packed in a cell.

Both backends store the same text columns; the records are what the rest of the journal
reads, so nothing above storage handles raw rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import tagging.id_list as id_list

# --- compact id lists ---------------------------------------------------------------------
# Newline-joined text is about as small as ids get in a text column; JSON is the fallback for
# ids that would make it ambiguous (a newline inside, or a first id starting with "[").


def pack(values: Sequence[str]) -> str:
    text = "\n".join(values)
    # One newline per gap means no id holds one: a single scan, not a check per id.
    if text.count("\n") != max(len(values) - 1, 0) or text.startswith("["):
        return json.dumps(list(values))
    return text


def unpack(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    if text.startswith("["):
        return tuple(json.loads(text))
    return tuple(text.split("\n"))


def pack_positions(positions: Sequence[int] | None) -> str | None:
    return None if positions is None else "\n".join(map(str, positions))


def unpack_positions(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(p) for p in unpack(text))


def now() -> str:
    """The time as the journal stores it: ISO 8601 UTC to the millisecond, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(target: Mapping[str, Any]) -> str:
    """A target as stored (and compared): sorted JSON of its set values, as text."""
    return json.dumps({str(k): str(v) for k, v in target.items() if v is not None}, sort_keys=True)


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewJob:
    """A job as start_job hands it to storage (storage adds the sequence number)."""

    id: str
    created_at: str
    provider: str
    target: str  # canonical()
    action: str
    tags: tuple[str, ...]
    kind: str | None  # the one kind of every id, if the job has one
    known_state: bool
    chunk_size: int | None
    requested: int
    skipped: int
    warnings: tuple[str, ...]
    undo_of: str | None
    host: str
    pid: int
    actor: str
    state_source: str = ""  # where the plan's prior state came from (Plan.state_source)


@dataclass(frozen=True)
class NewBatch:
    index: int
    ids: Sequence[str]  # a tuple or an IdList
    kinds: tuple[str, ...] | None
    tags: tuple[str, ...] | None
    unknown_at: tuple[int, ...] | None = None  # positions whose prior state was unknown


@dataclass(frozen=True)
class JobRecord:
    id: str
    seq: int
    created_at: str
    updated_at: str
    provider: str
    target: Mapping[str, str]
    action: str
    tags: tuple[str, ...]
    kind: str | None
    status: str
    known_state: bool
    chunk_size: int | None
    requested: int
    skipped: int
    warnings: tuple[str, ...]
    undo_of: str | None
    host: str | None
    pid: int | None
    actor: str | None  # None: journaled before actors were recorded
    state_source: str | None = None  # None: journaled before it was recorded

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobRecord:
        return cls(
            id=row["id"],
            seq=int(row["seq"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            provider=row["provider"],
            target=json.loads(row["target"]),
            action=row["action"],
            tags=tuple(json.loads(row["tags"])),
            kind=row["kind"],
            status=row["status"],
            known_state=bool(row["known_state"]),
            chunk_size=row["chunk_size"],
            requested=int(row["requested"]),
            skipped=int(row["skipped"]),
            warnings=tuple(json.loads(row["warnings"])),
            undo_of=row["undo_of"],
            host=row["host"],
            pid=row["pid"],
            actor=row["actor"],
            state_source=row["state_source"],
        )


@dataclass(frozen=True)
class BatchRecord:
    job_id: str
    index: int
    size: int
    ids: Sequence[str]  # an IdList (rows with ids_arrow), or a tuple (older text rows)
    kinds: tuple[str, ...] | None  # per id, aligned by position; None: the job's kind
    tags: tuple[str, ...] | None  # None: all the job's tags; else known state left only these
    status: str
    applied: int
    not_found: int
    not_found_ids: tuple[str, ...]
    failed: int
    failed_ids: tuple[str, ...]
    # Positions in `ids` of the not-found / failed ids (None: unknown, an older row).
    not_found_at: tuple[int, ...] | None
    failed_at: tuple[int, ...] | None
    reason: str
    attempts: int
    updated_at: str
    # Positions whose prior state was unknown when planned (None: an older row).
    unknown_at: tuple[int, ...] | None = None
    # After a read-back: how many ids were checked (None: not verified), and those that did
    # not carry the change (not counted as changed).
    verified: int | None = None
    mismatched_ids: tuple[str, ...] = ()
    mismatched_at: tuple[int, ...] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> BatchRecord:
        return cls(
            job_id=row["job_id"],
            index=int(row["idx"]),
            size=int(row["size"]),
            ids=_ids(row),
            kinds=None if row["kinds"] is None else unpack(row["kinds"]),
            tags=None if row["tags"] is None else tuple(json.loads(row["tags"])),
            status=row["status"],
            applied=int(row["applied"]),
            not_found=int(row["not_found"]),
            not_found_ids=unpack(row["not_found_ids"]),
            failed=int(row["failed"]),
            failed_ids=unpack(row["failed_ids"]),
            not_found_at=unpack_positions(row["not_found_at"]),
            failed_at=unpack_positions(row["failed_at"]),
            reason=row["reason"],
            attempts=int(row["attempts"]),
            updated_at=row["updated_at"],
            unknown_at=unpack_positions(row["unknown_at"]),
            verified=None if row["verified"] is None else int(row["verified"]),
            mismatched_ids=unpack(row["mismatched_ids"]),
            mismatched_at=unpack_positions(row["mismatched_at"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The `batches()` shape (lists, not tuples: it is also the JSON export)."""

        def listed(values: tuple[Any, ...] | None) -> list[Any] | None:
            return None if values is None else list(values)

        return {
            "index": self.index,
            "ids": list(self.ids),
            "kinds": listed(self.kinds),
            "tags": listed(self.tags),
            "status": self.status,
            "applied": self.applied,
            "not_found": self.not_found,
            "not_found_ids": list(self.not_found_ids),
            "failed": self.failed,
            "failed_ids": list(self.failed_ids),
            "not_found_at": listed(self.not_found_at),
            "failed_at": listed(self.failed_at),
            "reason": self.reason,
            "attempts": self.attempts,
            "updated_at": self.updated_at,
            "unknown_at": listed(self.unknown_at),
            "verified": self.verified,
            "mismatched_ids": list(self.mismatched_ids),
        }


def _ids(row: Mapping[str, Any]) -> Sequence[str]:
    """A batch's ids: the compact Arrow buffer, or the text of rows written before it (and
    of journals opened read-only, which have no such column)."""
    blob = row["ids_arrow"] if "ids_arrow" in row.keys() else None
    if blob is not None:
        return id_list.unpack(bytes(blob))
    return unpack(row["ids"])


@dataclass(frozen=True)
class Counts:
    """A job's counts, summed over its batches (the `counts` of the `jobs --json` shape)."""

    ids: int = 0
    applied: int = 0
    not_found: int = 0
    failed: int = 0
    pending: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counts:
        # SUM over no rows is NULL: a job without batches counts zeros.
        return cls(
            **{k: int(row[k] or 0) for k in ("ids", "applied", "not_found", "failed", "pending")}
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "ids": self.ids,
            "applied": self.applied,
            "not_found": self.not_found,
            "failed": self.failed,
            "pending": self.pending,
        }
