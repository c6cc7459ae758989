"""The one planning path: an operation and a connection become the Plan a push will send.

The CLI (`push`, `push --dry-run`), the Tag page and notebooks all call `prepare`, so the same
input gives the same plan everywhere. It only reads: the provider's tag catalog (which also
proves the connection and key work), the tags the items carry now where the provider can say,
else what the journal confirmed, plus any known state the caller adds (a dataset's tag column).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from tagging.known_state import current_state
from tagging.plan import items, plan
from tagging.values import Plan, TagOperation

if TYPE_CHECKING:
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
    state, source = current_state(
        conn, op.provider, checked.op.target, checked.ids, checked.kinds, journal
    )
    if known is not None and len(known):
        state = known if state is None else pd.concat([state, known], ignore_index=True)
        source = source or "dataset"
    return plan(checked, state, chunk_size, catalog=catalog, state_source=source)
