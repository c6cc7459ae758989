"""Current tags read back from an API, as the ["id", "tag", "kind"] frame `plan(known=...)`
diffs.

Only Immuta data sources can be read back per item (`GET /dataSource/{id}/tags`); Atlas and
Nekt have no such read in their documented APIs, so their known state comes from the journal.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from tagging.config import Connection
from tagging.errors import ApiError, ConfigError
from tagging.plan import TagOperation
from tagging.providers import immuta
from tagging.retry import RetryPolicy, send


def can_read_state(op: TagOperation) -> bool:
    return op.provider == "immuta" and op.kinds == "datasource"


def read_state(
    conn: Connection,
    op: TagOperation,
    *,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
) -> pd.DataFrame | None:
    """The tags each id of `op` carries now, or None when the API cannot say."""
    if not can_read_state(op):
        return None
    policy = retry or RetryPolicy()
    ids = list(dict.fromkeys(str(i) for i in op.ids))

    def tags_of(model_id: str) -> list[str]:
        sent = send(conn.client, immuta.state_request(model_id), policy)
        if sent.response is None:
            raise ConfigError(f"cannot read tags from {conn.base_url}: {sent.gave_up}")
        if sent.gave_up:
            raise ApiError("immuta", sent.response.status_code, sent.gave_up, "try again later")
        return immuta.read_state(sent.response)

    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        found = list(pool.map(tags_of, ids))
    rows = [(i, t, "datasource") for i, tags in zip(ids, found, strict=True) for t in tags]
    return pd.DataFrame(rows, columns=["id", "tag", "kind"], dtype=object)
