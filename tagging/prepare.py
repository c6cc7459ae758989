"""The one planning path: an operation and a connection become the Plan a push will send.

The CLI (`push`, `push --dry-run`), the Tag page and notebooks all call `prepare`, so the same
input gives the same plan everywhere. It only reads: the provider's tag catalog (which also
proves the connection and key work), the tags the items carry now where the provider can say,
else what the journal confirmed, plus any known state the caller adds (a dataset's tag column).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from tagging.id_list import Text
from tagging.known_state import current_state
from tagging.membership import isin
from tagging.plan import items, plan
from tagging.values import Plan, TagOperation

if TYPE_CHECKING:
    import pandas as pd

    from tagging.config import Connection
    from tagging.journal import Journal


def prepare(
    op: TagOperation,
    conn: Connection,
    *,
    journal: Journal | None = None,
    known: pd.DataFrame | None = None,
    chunk_size: int | None = None,
    catalog: list[str] | None = None,
) -> Plan:
    """Check the operation, read what is known, and plan. Sends reads only.

    known:   extra ["id", "tag"(, "kind")] rows the caller knows of (a dataset's tag column).
    catalog: the provider's tag names when the caller has just read them; read otherwise.
    Raises InputError (bad ids, tags or kinds, before anything is sent), ConfigError /
    AuthError (unreachable host, rejected key) and ApiError.
    """
    checked = items(op)  # bad input fails here, before any request
    if catalog is None:
        catalog = conn.tags(checked.op.target)
    found = current_state(
        conn, op.provider, checked.op.target, checked.ids, checked.kinds, journal,
        tags=checked.op.tags,
    )  # fmt: skip
    state, source = found.state, found.source
    if known is not None and len(known):
        import pandas as pd  # a dataset's tag column: a frame already

        if isinstance(state, pa.Table):
            state = state.to_pandas()
        state = known if state is None else pd.concat([state, known], ignore_index=True)
        source = source or "dataset"
    made = plan(checked, state, chunk_size, catalog=catalog, state_source=source)
    return with_unknown(made, checked.ids, checked.kinds, found.unknown)


def with_unknown(made: Plan, ids: Text, kinds: pd.Series | None, unknown: np.ndarray) -> Plan:
    """Each batch marks the positions of ids whose prior state nothing knew, so an undo can
    say how many it cannot vouch for before it sends anything."""
    if not unknown.any():
        batches = tuple(replace(b, unknown_at=()) for b in made.batches)
        return replace(made, batches=batches)
    picked = ids.filter(pa.array(unknown)).to_pylist()
    unknown_keys = _keys(picked, None if kinds is None else kinds[unknown].tolist())
    out = []
    for b in made.batches:
        keys = _keys(list(b.ids), None if b.kinds is None else list(b.kinds))
        at = tuple(int(p) for p in np.flatnonzero(isin(keys, unknown_keys)))
        out.append(replace(b, unknown_at=at))
    return replace(made, batches=tuple(out))


def _keys(ids: list[str], kinds: list[str] | None) -> list[str]:
    if kinds is None:
        return ids
    return [f"{k}\x1f{i}" for k, i in zip(kinds, ids, strict=True)]
