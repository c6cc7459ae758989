"""Known tag state for the workbench pages: the journal, the dataset's own tag column, and
(in sandbox mode) the sandbox's inspection endpoint, as one long ["id", "tag"] frame.

The sandbox's `GET /_sandbox/state` is the truth for demos: it also sees tags set by the CLI
with another journal, and the demo world's seeded assignments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pandas as pd

from tagging.coverage import empty_state, state_from_sandbox
from tagging.errors import ConfigError
from tagging.journal import Journal


def sandbox_state(
    sandbox_url: str,
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    typed_ids: bool = False,
    timeout: float = 10.0,
) -> pd.DataFrame:
    """Every assignment the sandbox holds for one provider (and Atlas projection)."""
    url = f"{sandbox_url.rstrip('/')}/_sandbox/state"
    try:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError:
        raise ConfigError(
            f"cannot read the sandbox state at {url}: start it with `python -m tagging sandbox`"
        ) from None
    target = {k: v for k, v in (target or {}).items() if k == "projection_id"}
    return state_from_sandbox(response.json(), provider, target or None, typed_ids=typed_ids)


def known_state(
    journal: Journal,
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    tag_column: pd.DataFrame | None = None,
    sandbox_url: str | None = None,
    typed_ids: bool = False,
) -> pd.DataFrame:
    """The sandbox's state when `sandbox_url` is given, else what the journal confirmed;
    plus `tag_column` (a long frame from tagging.datasets.parse_tag_column)."""
    if sandbox_url:
        base = sandbox_state(sandbox_url, provider, target, typed_ids=typed_ids)
    else:
        base = journal.state_for(provider, target)
    parts = [base] if tag_column is None else [base, tag_column]
    out = pd.concat(parts, ignore_index=True) if parts else empty_state()
    return out.astype({"id": "str", "tag": "str"}).drop_duplicates(ignore_index=True)
