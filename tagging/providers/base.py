"""What every provider module offers: requests to build, responses to read, tags to list.

The executor only sees `ApiRequest` and `RequestResult`; it never knows which API it talks to.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import pandas as pd

from tagging.errors import ApiError, AuthError, InputError

if TYPE_CHECKING:
    from tagging.plan import Batch, TagOperation


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request of a batch, and the ids whose fate its answer decides."""

    method: str
    path: str  # relative to the connection's base URL, already percent-encoded
    body: Any  # JSON body, or None
    ids: tuple[str, ...]
    # The positions of `ids` in their batch (ids repeat across kinds); empty: find them by id.
    at: tuple[int, ...] = ()


@dataclass(frozen=True)
class RequestResult:
    """What one request's final answer (after retries) says about its ids."""

    ids: tuple[str, ...]
    at: tuple[int, ...] = ()  # the request's `at`, set by the executor
    not_found: int = 0  # ids the API did not know (a count when it does not name them)
    not_found_ids: tuple[str, ...] = ()
    reason: str = ""  # non-empty: every id of the request failed, for this reason
    transient: bool = False  # failed because the API stayed down (resumable), not bad input
    attempts: int = 1
    # Send this next for the rest of the ids (Nekt rejects a whole call for one unknown id).
    followup: ApiRequest | None = None

    @property
    def failed(self) -> bool:
        return bool(self.reason)


class ProviderAPI(Protocol):
    """The interface the planner, executor and connections use."""

    name: str
    default_chunk: int
    default_concurrency: int
    key_env: str
    url_env: str
    default_url: str | None  # None: no public default (Immuta is self-hosted)

    def auth_headers(self, key: str) -> dict[str, str]: ...

    def normalize_kinds(self, kinds: pd.Series | None, n: int) -> pd.Series | None:
        """Per-id kinds in canonical spelling, or None when the API has none (Atlas)."""
        ...

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        """Raise InputError (one line) for anything the API would reject."""
        ...

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        """Things worth saying before sending (Immuta parent tags), one line each."""
        ...

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]: ...

    def request_count(self, op: TagOperation, batch: Batch) -> int: ...

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult: ...

    def list_tags(self, client: httpx.Client, target: Mapping[str, str]) -> list[str]: ...


def batch_tags(op: TagOperation, batch: Batch) -> tuple[str, ...]:
    """The tags a batch applies: its own (known state said only these change), or all."""
    return batch.tags if batch.tags is not None else op.tags


def batch_kinds(op: TagOperation, batch: Batch) -> Sequence[str]:
    """The kind of each id of a batch: per-id kinds, or the operation's single kind."""
    if batch.kinds is not None:
        return batch.kinds
    if isinstance(op.kinds, str):
        return [op.kinds] * len(batch.ids)
    raise InputError(f"{op.provider} needs a resource/model type for every id")


def canonical_kinds(
    kinds: pd.Series | None,
    spellings: Mapping[str, str],
    allowed: Sequence[str],
    provider: str,
    noun: str,
) -> pd.Series:
    """Per-id kinds in their canonical spelling (case and padding ignored): InputError when
    there are none or one is not a spelling of an allowed kind."""
    if kinds is None:
        raise InputError(f"{provider} needs a {noun} for the ids: one of " + ", ".join(allowed))
    canonical = kinds.astype(str).str.strip().str.lower().map(spellings)
    bad = canonical.isna()
    if bad.any():
        value = kinds[bad].iloc[0]
        raise InputError(f"unknown {provider} {noun} {value!r}: use one of {', '.join(allowed)}")
    return canonical.astype(object)


def body_excerpt(response: httpx.Response) -> str:
    """A short one-line excerpt of a response body (JSON or not)."""
    text = response.text if response.content else ""
    return " ".join(text.split())[:200]


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def raise_for_auth(provider: str, response: httpx.Response, key_env: str) -> None:
    """401/403 abort the whole push: no later request can succeed with this key."""
    if response.status_code in (401, 403):
        raise AuthError(
            f"{provider} API rejected the key (HTTP {response.status_code}): check {key_env}"
        )


def ensure_ok(provider: str, response: httpx.Response, key_env: str, reason: str) -> None:
    """For reads (list tags, state): auth errors and other errors raise."""
    raise_for_auth(provider, response, key_env)
    if response.status_code >= 400:
        raise ApiError(provider, response.status_code, reason or body_excerpt(response))


def failure(request: ApiRequest, response: httpx.Response, reason: str) -> RequestResult:
    """Every id of the request failed, with the API's one-line reason."""
    return RequestResult(
        ids=request.ids,
        reason=f"HTTP {response.status_code}: {reason or body_excerpt(response) or 'no body'}",
    )
