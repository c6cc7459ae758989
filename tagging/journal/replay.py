"""Which (kind, id)s a batch really changed, and the journal's state replayed from that.

`changed` is the one answer: undo, `state_for`, coverage events and the per-id frame of the
History page all ask it. Ids are followed by position, not by value: Immuta data source 6 and
project 6 may share a batch, and only the one whose request failed has failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tagging.id_list import IdList
from tagging.journal.records import BatchRecord, JobRecord
from tagging.membership import isin

if TYPE_CHECKING:
    import pandas as pd

CONFIRMED = ("applied", "partial")  # batch statuses whose ids (some of them) the API confirmed


def listed(
    ids: Sequence[str], listed_ids: Sequence[str], listed_at: Sequence[int] | None
) -> np.ndarray:
    """Which positions of a batch's ids an outcome lists (failed or not found): its positions
    when it has them, else every position holding a listed id (older rows name ids only)."""
    mask = np.zeros(len(ids), dtype=bool)
    if listed_at is not None:
        mask[list(listed_at)] = True
    elif listed_ids:
        values = ids.array if isinstance(ids, IdList) else list(ids)
        mask |= isin(values, list(listed_ids))  # arrow's hash lookup, not pandas'
    return mask


def changed(batch: BatchRecord, job_kind: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The ids of a batch the API confirmed (sent, minus failed and named not-found), and
    their kinds by position: the batch's per-id kinds, the job's one kind, or None."""
    kept = changed_at(batch)
    return np.asarray(batch.ids, dtype=object)[kept], kinds_of(batch, job_kind)[kept]


def changed_at(batch: BatchRecord) -> np.ndarray:
    """Which positions of a batch `changed` keeps (a bool per id)."""
    if batch.status not in CONFIRMED:
        return np.zeros(len(batch.ids), dtype=bool)
    if not batch.failed_ids and not batch.not_found_ids and not batch.mismatched_ids:
        return np.ones(len(batch.ids), dtype=bool)
    failed = listed(batch.ids, batch.failed_ids, batch.failed_at)
    missing = listed(batch.ids, batch.not_found_ids, batch.not_found_at)
    # Verify read these back without the change: the API did not keep it.
    mismatched = listed(batch.ids, batch.mismatched_ids, batch.mismatched_at)
    return ~(failed | missing | mismatched)


def kinds_of(batch: BatchRecord, job_kind: str | None) -> np.ndarray:
    if batch.kinds is not None:
        return np.asarray(batch.kinds, dtype=object)
    return np.full(len(batch.ids), job_kind, dtype=object)


def uncertain(batch: BatchRecord) -> bool:
    """The API counted ids it did not find without naming them: any id of the batch may be
    one, so none of them counts as tagged (an undo still reverses them: that is harmless)."""
    return batch.not_found > len(batch.not_found_ids)


@dataclass(frozen=True)
class Change:
    """What one confirmed batch did: `action` of `tags` on these ids (aligned with kinds)."""

    time: str  # when the outcome was recorded (ISO 8601, UTC)
    job_id: str
    actor: str | None
    action: str
    tags: tuple[str, ...]  # the batch's own tags
    ids: np.ndarray
    kinds: np.ndarray


def changes(batches: Iterable[BatchRecord], jobs: Mapping[str, JobRecord]) -> Iterator[Change]:
    """Each batch's change, in the batches' order (storage gives them in replay order)."""
    for batch in batches:
        if uncertain(batch):
            continue
        job = jobs[batch.job_id]
        ids, kinds = changed(batch, job.kind)
        tags = batch.tags if batch.tags is not None else job.tags
        if len(ids) and tags:
            yield Change(batch.updated_at, job.id, job.actor, job.action, tags, ids, kinds)


def state(found: Iterable[Change], *, with_kind: bool, ids: Iterable[str] | None) -> pd.DataFrame:
    """The tags each id carries after the changes in order: a long frame ["id", "tag"], plus
    "kind" where ids are only unique within a kind."""
    last = last_changes(found, with_kind=with_kind, ids=ids)
    return last.loc[last["add"].to_numpy(), last.columns[:-1]].reset_index(drop=True)


def last_changes(
    found: Iterable[Change], *, with_kind: bool, ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Each (kind, id, tag) the changes touched, with the last change's direction: a frame
    ["id", "tag"(, "kind"), "add"]. What the journal knows: tagged (add) or not (remove)."""
    import pandas as pd

    columns = ["id", "tag", "kind"] if with_kind else ["id", "tag"]
    parts = [
        (
            np.repeat(c.ids, len(c.tags)),
            np.repeat(c.kinds, len(c.tags)),
            np.tile(np.asarray(c.tags, dtype=object), len(c.ids)),
            np.full(len(c.ids) * len(c.tags), c.action == "add"),
        )
        for c in found
    ]
    if not parts:
        empty = {c: pd.Series(dtype=str) for c in columns}
        return pd.DataFrame({**empty, "add": pd.Series(dtype=bool)})
    id_parts, kind_parts, tag_parts, add_parts = zip(*parts, strict=True)
    ops = pd.DataFrame(
        {
            "id": np.concatenate(id_parts),
            "tag": np.concatenate(tag_parts),
            "kind": np.concatenate(kind_parts),
            "add": np.concatenate(add_parts),
        }
    )
    if ids is not None:
        ops = ops[isin(ops["id"], list(ids))]
    key = ["kind", "id", "tag"] if with_kind else ["id", "tag"]
    last = ops.drop_duplicates(key, keep="last")  # rows are in replay order
    out = last[[*columns, "add"]].reset_index(drop=True)
    return out.astype({"id": str, "tag": str, "add": bool})


RESULTS = ("applied", "not_found", "failed", "pending", "sent")  # what id_result_codes number


def id_results(batch: BatchRecord) -> list[str]:
    """Each id's result, by position: applied, not_found, failed, pending, or sent (accepted
    by an API that only counts unknown ids, so not confirmed one by one)."""
    return [RESULTS[c] for c in id_result_codes(batch).tolist()]


def id_result_codes(batch: BatchRecord) -> np.ndarray:
    """`id_results` as int8 positions in RESULTS: one numpy pass, no string per id (an
    export of a million ids)."""
    failed = listed(batch.ids, batch.failed_ids, batch.failed_at)
    missing = listed(batch.ids, batch.not_found_ids, batch.not_found_at)
    unnamed = batch.not_found > missing.sum()
    fallback = batch.status if batch.status in ("pending", "failed") else "applied"
    if unnamed and fallback == "applied":
        fallback = "sent"
    codes = np.full(len(batch.ids), RESULTS.index(fallback), dtype=np.int8)
    codes[missing] = RESULTS.index("not_found")
    codes[failed] = RESULTS.index("failed")  # failed wins, as it always has
    return codes
