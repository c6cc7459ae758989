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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tagging import providers
from tagging.membership import isin
from tagging.providers.base import can_read
from tagging.status import batch_status
from tagging.values import BatchCheck, Plan, PushResult, Verified

if TYPE_CHECKING:
    from tagging.config import Connection


@dataclass(frozen=True)
class Sent:
    """One batch as sent: its ids, kinds and tags, and what its outcome listed."""

    index: int
    ids: tuple[str, ...]
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
    """One check per batch; None when the provider can read none of the ids."""
    api = providers.get(provider)
    kinds = {k for s in sent for k in s.kinds}
    readable = {k for k in kinds if can_read(api, k, target)}
    if not readable:
        return None
    tags = sorted({t for s in sent for t in s.tags})
    # One read per kind, of every id of that kind that was sent and did not fail.
    asked: dict[str | None, list[str]] = {k: [] for k in readable}
    for s in sent:
        failed = set(s.failed_at)
        for at, (i, k) in enumerate(zip(s.ids, s.kinds, strict=True)):
            if k in readable and at not in failed:
                asked[k].append(i)
    carried: dict[tuple[str | None, str], np.ndarray] = {}
    held: dict[str | None, np.ndarray | None] = {}
    for kind, ids in asked.items():
        unique = list(dict.fromkeys(ids))
        state = api.read_tags(conn.fetch, target, unique, kind, tags) if unique else _empty()
        for tag in tags:
            carried[(kind, tag)] = state.loc[state["tag"] == tag, "id"].to_numpy(dtype=object)
        found = api.find_ids(conn.fetch, target, unique, kind) if unique else None
        held[kind] = None if found is None else np.asarray(unique, dtype=object)[found]
    return [_check(s, action, readable, carried, held) for s in sent]


def summary(checks: Sequence[BatchCheck]) -> Verified:
    return Verified(
        checked=sum(c.checked for c in checks),
        mismatched_ids=tuple(i for c in checks for i in c.mismatched_ids),
    )


def _check(
    s: Sent,
    action: str,
    readable: set[str | None],
    carried: dict[tuple[str | None, str], np.ndarray],
    held: dict[str | None, np.ndarray | None],
) -> BatchCheck:
    ids = pd.Series(s.ids, dtype=object)
    kinds = np.asarray(s.kinds, dtype=object)
    failed = np.zeros(len(ids), dtype=bool)
    failed[list(s.failed_at)] = True
    named = np.zeros(len(ids), dtype=bool)
    named[list(s.not_found_at)] = True
    checked = np.zeros(len(ids), dtype=bool)
    missing = named.copy()
    mismatched = np.zeros(len(ids), dtype=bool)
    exact = True  # every position's existence is known (then the not-found count is exact)
    for kind in set(s.kinds):
        rows = (kinds == kind) & ~failed
        if kind not in readable:
            exact = exact and not rows.any()
            continue
        known = held.get(kind)
        exists = rows.copy()
        if known is None:
            exact = exact and not rows.any()
            exists &= ~named
        else:
            exists &= isin(ids, known)
            missing |= rows & ~exists
        checked |= exists
        for tag in s.tags:
            carries = isin(ids, carried[(kind, tag)])
            wrong = ~carries if action == "add" else carries
            mismatched |= exists & wrong
    not_found = int(missing.sum()) if exact or missing.sum() > s.not_found else s.not_found
    missing_at = tuple(int(p) for p in np.flatnonzero(missing))
    mismatched_at = tuple(int(p) for p in np.flatnonzero(mismatched))
    return BatchCheck(
        index=s.index,
        checked=int(checked.sum()),
        mismatched_ids=tuple(s.ids[p] for p in mismatched_at),
        mismatched_at=mismatched_at,
        status=batch_status(len(ids), int(failed.sum()), not_found),
        applied=len(ids) - int(failed.sum()) - not_found,
        not_found=not_found,
        not_found_ids=tuple(s.ids[p] for p in missing_at),
        not_found_at=missing_at,
    )


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series(dtype=object), "tag": pd.Series(dtype=object)})
