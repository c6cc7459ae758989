"""Verify: after a push, resume or undo, read the sent ids back and compare.

For every batch, the ids that were sent and did not fail (of kinds the provider can read)
are read back once per kind: do they carry the batch's tags (add) or not (remove)? Ids the
API does not hold (where it can say which, as Atlas's map can) become the batch's exact
not-found ids; ids that exist without the change are mismatched, and the journal's replay
does not count them as changed. Where nothing can be read (Nekt) the answer is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from tagging import providers
from tagging.id_list import IdList, Text, arrow_text, picked
from tagging.providers.base import can_read
from tagging.status import batch_status
from tagging.values import BatchCheck, Plan, PushResult, Verified

if TYPE_CHECKING:
    from tagging.config import Connection


@dataclass(frozen=True)
class Sent:
    """One batch as sent: its ids, kinds and tags, and what its outcome listed."""

    index: int
    ids: Sequence[str]  # a tuple or an IdList
    kinds: tuple[str | None, ...]
    tags: tuple[str, ...]
    failed_at: tuple[int, ...]
    not_found_at: tuple[int, ...]
    not_found: int


def positions(
    ids: Sequence[str], listed_ids: Sequence[str], listed_at: Sequence[int] | None
) -> tuple[int, ...]:
    """Positions an outcome lists: its own, or (older rows without them) those of its ids."""
    if listed_at is not None:
        return tuple(listed_at)
    wanted = set(listed_ids)
    return tuple(n for n, i in enumerate(ids) if i in wanted)


def check_result(plan: Plan, result: PushResult, conn: Connection) -> list[BatchCheck] | None:
    """Read back an unjournaled push (a notebook's `push(plan, conn)`)."""
    op = plan.operation
    by_index = {b.index: b for b in plan.batches}
    sent = []
    for o in result.outcomes:
        b = by_index[o.index]
        kinds = b.kinds if b.kinds is not None else (op.kinds,) * len(b.ids)
        sent.append(
            Sent(
                b.index,
                b.ids,
                tuple(k if isinstance(k, str) or k is None else None for k in kinds),
                plan.tags_for(b),
                positions(b.ids, o.failed_ids, o.failed_at),
                positions(b.ids, o.not_found_ids, o.not_found_at),
                o.not_found,
            )
        )
    return compare(conn, op.provider, dict(op.target), op.action, sent)


def apply(result: PushResult, checks: Sequence[BatchCheck] | None) -> None:
    """Put the read-back into a result: `verified`, and exact not-found ids per batch."""
    if checks is None:
        result.verified = None
        return
    result.verified = summary(checks)
    by_index = {c.index: c for c in checks}
    for n, o in enumerate(result.outcomes):
        c = by_index.get(o.index)
        if c is not None and len(c.not_found_ids) >= len(o.not_found_ids):
            result.outcomes[n] = replace(
                o,
                status=c.status,
                applied=c.applied,
                not_found=c.not_found,
                not_found_ids=c.not_found_ids,
                not_found_at=c.not_found_at,
            )


def compare(
    conn: Connection, provider: str, target: dict[str, str], action: str, sent: Sequence[Sent]
) -> list[BatchCheck] | None:
    """One check per batch; None when the provider can read none of the ids.

    Columnar: every sent position of every batch is one Arrow column, read back once per kind
    and looked up once per tag (a batch's check is then a slice of those masks), so the cost
    grows with the ids, not with batches times ids."""
    api = providers.get(provider)
    kinds = set().union(*(set(s.kinds) for s in sent))
    readable = {k for k in kinds if can_read(api, k, target)}
    if not readable:
        return None
    tags = sorted({t for s in sent for t in s.tags})
    column = Column.of(sent)
    exists: dict[str | None, np.ndarray | None] = {}
    carries: dict[Any, np.ndarray | None] = {}
    for kind in readable:
        rows = column.of_kind(kind) & ~column.failed
        if not rows.any():
            exists[kind] = None
            continue
        asked = column.ids if rows.all() else column.ids.filter(pa.array(rows))
        found = api.check_ids(conn.fetch, target, IdList(asked), kind, tags)
        exists[kind] = None if found.held is None else _spread(found.held, rows)
        for tag in tags:
            carries[(kind, tag)] = _spread(found.carries[tag], rows)
    return [
        _check(s, action, readable, column.at(n, carries), column.at(n, exists))
        for n, s in enumerate(sent)
    ]


@dataclass(frozen=True, eq=False)
class Column:
    """Every position of every sent batch, batch after batch: ids, kinds, failed."""

    ids: Text
    kinds: np.ndarray | None  # per position; None when every batch has the one same kind
    kind: str | None
    failed: np.ndarray
    starts: np.ndarray  # where each batch begins

    @classmethod
    def of(cls, sent: Sequence[Sent]) -> Column:
        sizes = np.array([len(s.ids) for s in sent], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        parts = [arrow_text(s.ids) for s in sent]
        ids = (
            pa.concat_arrays([p.cast(pa.large_string()) for p in parts])
            if parts
            else pa.array([], pa.large_string())
        )
        failed = np.zeros(len(ids), dtype=bool)
        for s, first in zip(sent, starts.tolist(), strict=False):
            failed[[first + at for at in s.failed_at]] = True
        kinds = set().union(*(set(s.kinds) for s in sent))
        one = next(iter(kinds)) if len(kinds) == 1 else None
        per = None
        if len(kinds) > 1:
            per = np.concatenate([np.asarray(s.kinds, dtype=object) for s in sent])
        return cls(ids, per, one, failed, starts)

    def of_kind(self, kind: str | None) -> np.ndarray:
        if self.kinds is None:
            return np.full(len(self.ids), kind == self.kind)
        return np.asarray(self.kinds == kind, dtype=bool)

    def at(self, n: int, masks: dict[Any, np.ndarray | None]) -> dict[Any, np.ndarray | None]:
        """The masks cut to batch n's positions."""
        first, stop = int(self.starts[n]), int(self.starts[n + 1])
        return {k: None if m is None else m[first:stop] for k, m in masks.items()}


def _spread(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Answers for the rows asked, placed back at their positions (False elsewhere)."""
    if rows.all():
        return values
    out = np.zeros(len(rows), dtype=bool)
    out[rows] = values
    return out


def summary(checks: Sequence[BatchCheck]) -> Verified:
    return Verified(
        checked=sum(c.checked for c in checks),
        mismatched_ids=tuple(i for c in checks for i in c.mismatched_ids),
    )


def _check(
    s: Sent,
    action: str,
    readable: set[str | None],
    carries: dict[Any, np.ndarray | None],
    exists: dict[Any, np.ndarray | None],
) -> BatchCheck:
    """One batch's check from the column's masks cut to its positions."""
    n = len(s.ids)
    kinds = np.asarray(s.kinds, dtype=object)
    failed = np.zeros(n, dtype=bool)
    failed[list(s.failed_at)] = True
    named = np.zeros(n, dtype=bool)
    named[list(s.not_found_at)] = True
    checked = np.zeros(n, dtype=bool)
    missing = named.copy()
    mismatched = np.zeros(n, dtype=bool)
    exact = True  # every position's existence is known (then the not-found count is exact)
    for kind in set(s.kinds):
        rows = (kinds == kind) & ~failed
        if kind not in readable:
            exact = exact and not rows.any()
            continue
        known = exists.get(kind)
        held = rows.copy()
        if known is None:
            exact = exact and not rows.any()
            held &= ~named
        else:
            held &= known
            missing |= rows & ~held
        checked |= held
        for tag in s.tags:
            carried = carries.get((kind, tag))
            carries_tag = np.zeros(n, dtype=bool) if carried is None else carried
            wrong = ~carries_tag if action == "add" else carries_tag
            mismatched |= held & wrong
    not_found = int(missing.sum()) if exact or missing.sum() > s.not_found else s.not_found
    missing_at = tuple(int(p) for p in np.flatnonzero(missing))
    mismatched_at = tuple(int(p) for p in np.flatnonzero(mismatched))
    return BatchCheck(
        index=s.index,
        checked=int(checked.sum()),
        mismatched_ids=picked(s.ids, mismatched_at),
        mismatched_at=mismatched_at,
        status=batch_status(n, int(failed.sum()), not_found),
        applied=n - int(failed.sum()) - not_found,
        not_found=not_found,
        not_found_ids=picked(s.ids, missing_at),
        not_found_at=missing_at,
    )
