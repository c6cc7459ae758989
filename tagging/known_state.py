"""Known tag state, as the long ["id", "tag"] frame `plan(known=...)` diffs and coverage counts,
plus a "kind" column where ids repeat across kinds (Immuta data source 6 and project 6).

Two sources:
- read back from the API (`read_state`): only Immuta data sources can be read per item
  (`GET /dataSource/{id}/tags`); Atlas and Nekt have no such read in their documented APIs.
- for the workbench pages (`known_state`): what the journal confirmed, or in sandbox mode the
  sandbox's `GET /_sandbox/state` (the truth for demos: it also sees tags set by the CLI with
  another journal, and the demo world's seeded assignments), plus the dataset's own tag column.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd

from tagging.config import Connection
from tagging.coverage import empty_state, state_from_sandbox
from tagging.datasets import parse_tag_column, to_id_strings
from tagging.errors import ApiError, ConfigError
from tagging.journal import Journal
from tagging.plan import TagOperation
from tagging.providers import immuta
from tagging.retry import RetryPolicy, send

# --- read back from the API --------------------------------------------------------------


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


# --- for the workbench pages -------------------------------------------------------------


def sandbox_state(
    sandbox_url: str,
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    timeout: float = 10.0,
) -> pd.DataFrame:
    """Every assignment the sandbox holds for one provider (and Atlas projection); Immuta's
    with the model type in a "kind" column."""
    url = f"{sandbox_url.rstrip('/')}/_sandbox/state"
    try:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError:
        raise ConfigError(
            f"cannot read the sandbox state at {url}: start it with `python -m tagging sandbox`"
        ) from None
    target = {k: v for k, v in (target or {}).items() if k == "projection_id"}
    return state_from_sandbox(response.json(), provider, target or None, kinds=True)


def dataset_tags(
    frame: pd.DataFrame, tags_column: str, id_column: str, kinds: str | pd.Series | None = None
) -> pd.DataFrame:
    """The dataset's own tag column as known state ["id", "tag"], plus "kind" when the rows
    have kinds (one for all, or a Series aligned with `frame`)."""
    positions = pd.Series(range(len(frame)), dtype="int64")
    long = parse_tag_column(frame[tags_column], ids=positions)  # ids: row positions
    rows = long["id"].astype("int64").to_numpy()
    out = pd.DataFrame(
        {"id": to_id_strings(frame[id_column]).to_numpy(dtype=object)[rows], "tag": long["tag"]}
    )
    if kinds is not None:
        per_row = kinds if isinstance(kinds, str) else pd.Series(kinds).to_numpy(dtype=object)[rows]
        out["kind"] = per_row
    return out.dropna(subset=["id"]).reset_index(drop=True)


def known_state(
    journal: Journal,
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    tag_column: pd.DataFrame | None = None,
    sandbox_url: str | None = None,
) -> pd.DataFrame:
    """The sandbox's state when `sandbox_url` is given, else what the journal confirmed;
    plus `tag_column` (a long frame from tagging.datasets.parse_tag_column, with a "kind"
    column when the dataset has kinds). Rows without a kind match an id of any kind."""
    if sandbox_url:
        base = sandbox_state(sandbox_url, provider, target)
    else:
        base = journal.state_for(provider, target)
    parts = [base] if tag_column is None else [base, tag_column]
    out = pd.concat(parts, ignore_index=True) if parts else empty_state()
    out = out.astype({"id": "str", "tag": "str"})
    if "kind" in out.columns:
        out["kind"] = out["kind"].astype(object).where(out["kind"].notna(), None)
    return out.drop_duplicates(ignore_index=True)


def of_kind(state: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The known state of ids of one kind: rows of that kind, and rows without a kind (they
    match an id of any kind). A state with no "kind" column is returned as it is."""
    if "kind" not in state.columns:
        return state
    return state[state["kind"].isna() | state["kind"].eq(kind)]
