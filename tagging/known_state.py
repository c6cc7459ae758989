"""Known tag state, as the long ["id", "tag"] frame `plan(known=...)` diffs and coverage counts,
plus a "kind" column where ids repeat across kinds (Immuta data source 6 and project 6).

Best first: what the provider says now (where it can read an item's tags), else what the
journal confirmed, plus the dataset's own tag column. In sandbox mode the pages may also read
the sandbox's `GET /_sandbox/state` (the truth for demos).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pyarrow as pa
from pyarrow import ipc

from tagging import providers
from tagging.bounded import misshapen
from tagging.columns import parse_tag_column, to_id_strings
from tagging.demo import state_from_sandbox
from tagging.errors import ApiError, ConfigError
from tagging.id_list import IdList, Text
from tagging.membership import isin
from tagging.plan import items
from tagging.providers.base import can_read
from tagging.retry import RetryPolicy, send
from tagging.values import ApiRequest, TagOperation

if TYPE_CHECKING:
    import pandas as pd

    from tagging.config import Connection
    from tagging.journal import Journal

KIND = "kind"


@dataclass(frozen=True, eq=False)
class Known:
    """What is known of some items before a push.

    state:   ["id", "tag"(, "kind")] rows, the tags they carry; None when nothing is known.
             An Arrow table when it is one provider's read alone (no pandas for the CLI).
    source:  where that came from: "provider", "journal", "provider+journal", or "".
    unknown: one bool per item: neither a read nor a change the journal confirmed says what
             it carried (an undo of such an item needs --force).
    """

    state: pd.DataFrame | pa.Table | None
    source: str
    unknown: np.ndarray


def current_state(
    conn: Connection,
    provider: str,
    target: Mapping[str, str],
    ids: Text,
    kinds: pd.Series | None,
    journal: Journal | None,
    tags: Sequence[str] | None = None,
) -> Known:
    """The tags these items carry (of `tags`, or all), and where that came from. Reads only.

    Items of a kind the provider can read are read back; the rest take the journal's
    confirmed state across all its jobs for this provider and target.
    """
    api = providers.get(provider)
    groups = (
        {None: np.ones(len(ids), dtype=bool)}
        if kinds is None
        else {k: (kinds == k).to_numpy() for k in dict.fromkeys(kinds.tolist())}
    )
    parts: list[pd.DataFrame | pa.Table] = []
    unread: list[str | None] = []
    unknown = np.zeros(len(ids), dtype=bool)
    for kind, rows in groups.items():
        if not can_read(api, kind, target):
            unread.append(kind)
            unknown |= rows
            continue
        try:
            asked = IdList(ids if rows.all() else ids.filter(pa.array(rows)))  # no Python strings
            frame = api.read_tags(conn.fetch, target, asked, kind, tags)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise ApiError(api.label, 200, misshapen(exc), "check the API URL") from None
        if kind is not None:
            frame = _frame(frame).assign(**{KIND: kind})
        parts.append(frame)
    sources = ["provider"] if parts else []
    if unread and journal is not None:
        sources.append("journal")
        touched = journal.touched(provider, target)
        if tags is not None:
            touched = touched[isin(touched["tag"], list(tags))]
        if KIND in touched.columns and kinds is not None:
            keep = touched[KIND].isna() | touched[KIND].isin(unread)
            touched = touched[keep.to_numpy()]
        parts.append(touched.loc[touched["add"].to_numpy(), touched.columns[:-1]])
        unknown &= ~_seen(ids, kinds, touched)
    if not parts:
        return Known(None, "", unknown)
    if len(parts) == 1 and isinstance(parts[0], pa.Table):
        return Known(parts[0], "+".join(sources), unknown)  # the plan diffs it in Arrow
    return Known(_merge([_frame(p) for p in parts]), "+".join(sources), unknown)


def _frame(state: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """Known state as a frame (a provider may read it back as an Arrow table)."""
    return state.to_pandas() if isinstance(state, pa.Table) else state


def _seen(ids: Text, kinds: pd.Series | None, touched: pd.DataFrame) -> np.ndarray:
    """Items the journal confirmed a change of (of any of the tags asked for)."""
    if kinds is None or KIND not in touched.columns:
        return isin(ids, touched["id"])
    typed = touched[touched[KIND].notna()]
    any_kind = isin(ids, touched.loc[touched[KIND].isna(), "id"])
    import pandas as pd

    keys = kinds.astype(str) + "\x1f" + pd.Series(pd.array(ids, dtype="str"))
    seen = typed[KIND].astype(str) + "\x1f" + typed["id"].astype(str)
    return any_kind | isin(keys, seen)


def read_state(conn: Connection, op: TagOperation) -> pd.DataFrame | None:
    """The tags the operation's items carry now, read back from the provider; None when it
    cannot read every one of them (Nekt resources, Immuta projects)."""
    import pandas as pd

    checked = items(op)
    api = providers.get(op.provider)
    kinds = [None] if checked.kinds is None else list(pd.unique(checked.kinds))
    if not all(can_read(api, kind, checked.op.target) for kind in kinds):
        return None
    target = checked.op.target
    state = current_state(conn, op.provider, target, checked.ids, checked.kinds, None).state
    return None if state is None else _merge([_frame(state)])


def _merge(parts: list[pd.DataFrame], *, distinct: bool = False) -> pd.DataFrame:
    """The parts as one frame of text without repeated rows; `distinct`: the only part has
    none (drop_duplicates of a sandbox's 833,000 pairs took 0.15 s of a rerun)."""
    import pandas as pd

    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out = out.astype({"id": "str", "tag": "str"})
    if KIND in out.columns:
        out[KIND] = out[KIND].astype(object).where(out[KIND].notna(), None)
    return out if distinct and len(parts) == 1 else out.drop_duplicates(ignore_index=True)


# --- for the workbench pages -------------------------------------------------------------


def sandbox_state(
    sandbox_url: str,
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    timeout: float = 10.0,
) -> pd.DataFrame:
    """Every assignment the sandbox holds for one provider (and Atlas projection); Immuta's
    with the model type in a "kind" column. Read as Arrow columns (`/_sandbox/state.arrow`),
    or as the whole JSON state from a sandbox older than that."""
    base = sandbox_url.rstrip("/")
    target = {k: str(v) for k, v in (target or {}).items() if k == "projection_id"}
    params = {"provider": provider, **target}
    response = _read_sandbox(f"{base}/_sandbox/state.arrow", params, timeout, missing_ok=True)
    if response is not None:
        return _state_frame(ipc.open_stream(response.content).read_all())
    whole = _read_sandbox(f"{base}/_sandbox/state", None, timeout)
    body = whole.json() if whole is not None else {}
    return state_from_sandbox(body, provider, target or None, kinds=True)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One for every read: a client's own cost 0.1 s to load (each page rerun that reads)."""
    return httpx.create_ssl_context()


def _read_sandbox(
    url: str, params: Mapping[str, str] | None, timeout: float, *, missing_ok: bool = False
) -> httpx.Response | None:
    # Under the same retry policy as every other read (a busy sandbox answers 5xx too).
    with httpx.Client(timeout=timeout, verify=_ssl_context()) as client:
        request = ApiRequest("GET", url, None, params=params)
        sent = send(client, request, RetryPolicy(refused_is_final=True))
    response = sent.response
    if missing_ok and response is not None and response.status_code == 404:
        return None
    if response is None or sent.gave_up or response.status_code >= 400:
        raise ConfigError(
            f"cannot read the sandbox state at {url}: start it with `python -m tagging sandbox`"
        )
    return response


def _state_frame(table: pa.Table) -> pd.DataFrame:
    """The long ["id", "tag"(, "kind")] frame of text `state_from_sandbox` returns."""
    table = table.set_column(
        table.column_names.index("tag"), "tag", table.column("tag").cast(pa.string())
    )
    return table.to_pandas().astype(dict.fromkeys(table.column_names, "str"))


def dataset_tags(
    frame: pd.DataFrame, tags_column: str, id_column: str, kinds: str | pd.Series | None = None
) -> pd.DataFrame:
    """The dataset's own tag column as known state ["id", "tag"], plus "kind" when the rows
    have kinds (one for all, or a Series aligned with `frame`)."""
    import pandas as pd

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
    plus `tag_column` (a long frame from tagging.columns.parse_tag_column, with a "kind"
    column when the dataset has kinds). Rows without a kind match an id of any kind."""
    if sandbox_url:
        base = sandbox_state(sandbox_url, provider, target)
    else:
        base = journal.state_for(provider, target)
    parts = [base] if tag_column is None else [base, tag_column]
    return _merge(parts, distinct=bool(sandbox_url) and _one_target(provider, target))


def _one_target(provider: str, target: Mapping[str, Any] | None) -> bool:
    """Every required target field given: the sandbox's pairs are then keys of its tables,
    without repeats (tags of two Atlas projections can share names and points)."""
    fields = providers.get(provider).target_fields
    return all((target or {}).get(f.name) for f in fields if f.required)


def of_kind(state: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The known state of ids of one kind: rows of that kind, and rows without a kind (they
    match an id of any kind). A state with no "kind" column is returned as it is."""
    if "kind" not in state.columns:
        return state
    return state[state["kind"].isna() | state["kind"].eq(kind)]
