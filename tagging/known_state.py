"""Known tag state for the workbench pages: the journal, the dataset's own tag column, and
(in sandbox mode) the sandbox's inspection endpoint, as one long ["id", "tag"] frame, plus a
"kind" column for Immuta (and Nekt from the journal), whose ids repeat across kinds.

The sandbox's `GET /_sandbox/state` is the truth for demos: it also sees tags set by the CLI
with another journal, and the demo world's seeded assignments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pandas as pd

from tagging.coverage import empty_state, state_from_sandbox
from tagging.datasets import parse_tag_column, to_id_strings
from tagging.errors import ConfigError
from tagging.journal import Journal


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
