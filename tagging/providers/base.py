"""What a provider is: everything the workbench needs to know about one tagging API.

Each provider module describes itself once (a `Provider` object); the planner, executor,
journal, coverage, CLI, config and pages ask the registry (`tagging.providers.get`) and never
branch on a provider's name. The executor only sees `ApiRequest` and `RequestResult`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import numpy as np
import pyarrow as pa

from tagging.errors import ApiError, AuthError, InputError
from tagging.id_list import IdList, member, series_text
from tagging.values import ApiRequest, Batch, RequestResult, TagOperation

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class IdsCheck:
    """A read-back, one entry per id asked: held (None: the API cannot say which items it
    holds) and, per tag, carried."""

    held: np.ndarray | None
    carries: Mapping[str, np.ndarray]


# Sends one read (with the retry policy) and returns its final answer; raises on auth errors,
# an unreachable host or an API that stays down.
Fetch = Callable[[ApiRequest], httpx.Response]


@dataclass(frozen=True)
class TargetField:
    """One field of a target (where the ids live), e.g. Atlas's projection_id."""

    name: str  # the key in TagOperation.target
    label: str  # for forms
    help: str
    required: bool = True

    @property
    def flag(self) -> str:
        """The CLI option: `--projection-id` for `projection_id`."""
        return "--" + self.name.replace("_", "-")


class Provider(Protocol):
    """The description every provider module exports as `PROVIDER`."""

    name: str  # registry key and journal value, e.g. "atlas"
    label: str  # for people, e.g. "Nomic Atlas"
    item_noun: str  # what an id names, plural: "points", "resources", "models"
    kinds: tuple[str, ...]  # canonical kinds of ids (Nekt resource types); () when none
    kind_noun: str  # "resource type"; "" when there are no kinds
    kind_flag: str  # the CLI option naming one kind for all ids, e.g. "--resource-type"
    new_tag_hint: str  # what happens to a tag name the API does not know yet
    creates_tags_on_push: bool  # False: tags must exist before a push (see create_tags)
    target_fields: tuple[TargetField, ...]
    key_env: str
    url_env: str
    default_url: str | None  # None: no public default (Immuta is self-hosted)
    default_chunk: int
    default_concurrency: int

    def auth_headers(self, key: str) -> dict[str, str]: ...

    def target(self, values: Mapping[str, str | None]) -> dict[str, str]:
        """A target from what a user typed: stray spaces dropped, empty optional fields left
        out. Validation happens in `validate`."""
        ...

    def target_label(self, target: Mapping[str, str], kind: str | None = None) -> str:
        """Where the ids live, for people: "points of Atlas projection P"."""
        ...

    def normalize_kinds(self, kinds: pd.Series | None, n: int) -> pd.Series | None:
        """Per-id kinds in canonical spelling, or None when the API has none (Atlas)."""
        ...

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        """Raise InputError (one line) for anything the API would reject."""
        ...

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        """Things worth saying before sending (Immuta parent tags), one line each; raises
        InputError for what the catalog says the API would refuse."""
        ...

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]: ...

    def request_count(self, op: TagOperation, batch: Batch) -> int: ...

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult: ...

    def error_reason(self, data: object) -> str:
        """The one-line reason of an error body in this API's own shape."""
        ...

    def list_tags(self, fetch: Fetch, target: Mapping[str, str]) -> list[str]:
        """The tag names the API knows (for a target where tags are per target)."""
        ...

    def create_tags(self, fetch: Fetch, names: Sequence[str]) -> None:
        """Create tags the API does not know yet; only called when not
        `creates_tags_on_push`. Raises TaggingError (one line) when the API refuses."""
        ...

    def reads_state(self, kind: str | None) -> bool:
        """True when the API can say which tags an item of this kind carries now."""
        ...

    def read_state(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> pd.DataFrame:
        """["id", "tag"] rows: the tags these ids (of one kind) carry now. Only called when
        `reads_state(kind)`; may send several requests (the caller runs calls concurrently)."""
        ...

    def reads_target(self, target: Mapping[str, str]) -> bool:
        """False when this target cannot be read back even for kinds that can (Atlas points
        addressed by another `id_field` than the map's unique ids)."""
        ...

    def read_tags(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: Sequence[str],
        kind: str | None,
        tags: Sequence[str] | None,
    ) -> pd.DataFrame:
        """`read_state` limited to some tags (None: all), for APIs that read per tag."""
        ...

    def find_ids(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> np.ndarray | None:
        """One bool per id: the API holds that item; None when it cannot say."""
        ...

    def check_ids(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: IdList,
        kind: str | None,
        tags: Sequence[str],
    ) -> IdsCheck:
        """The read-back of a push in one pass: per id, whether the API holds it and, per
        tag, whether it carries it (`read_tags` and `find_ids` by default)."""
        ...


class BaseProvider:
    """Defaults a provider inherits (and overrides where its API differs): no kinds, no
    target, no read-back, nothing to warn about, errors as `{"detail": ...}` or plain text."""

    kinds: tuple[str, ...] = ()
    kind_noun = ""
    kind_flag = ""
    kind_spellings: Mapping[str, str] = {}  # other spellings users type -> canonical kind
    new_tag_hint = "Tags that do not exist yet are created by the API."
    creates_tags_on_push = True
    # validate() takes the ids as Arrow text when True, else as a text pandas Series.
    validates_arrow = False
    target_fields: tuple[TargetField, ...] = ()
    default_url: str | None = None
    default_chunk = 1_000
    default_concurrency = 4
    name = ""
    label = ""
    item_noun = "items"
    key_env = ""
    url_env = ""

    def target(self, values: Mapping[str, str | None]) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self.target_fields:
            value = (values.get(f.name) or "").strip()
            if value or f.required:
                out[f.name] = value  # a missing required field is reported by validate()
        return out

    def target_label(self, target: Mapping[str, str], kind: str | None = None) -> str:
        return f"{self.label} {self.item_noun}" + (f" ({kind})" if kind else "")

    def normalize_kinds(self, kinds: pd.Series | None, n: int) -> pd.Series | None:
        if not self.kinds:
            return None
        spellings = {k: k for k in self.kinds} | dict(self.kind_spellings)
        return canonical_kinds(kinds, spellings, self.kinds, self.label, self.kind_noun)

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        return []

    def error_reason(self, data: object) -> str:
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
        return ""

    def create_tags(self, fetch: Fetch, names: Sequence[str]) -> None:
        return None  # not needed: the API creates a missing tag when a push first uses it

    def reads_state(self, kind: str | None) -> bool:
        return False

    def read_state(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> pd.DataFrame:
        raise NotImplementedError(f"{self.label} cannot say which tags its items carry")

    def reads_target(self, target: Mapping[str, str]) -> bool:
        return True

    def read_tags(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: Sequence[str],
        kind: str | None,
        tags: Sequence[str] | None,
    ) -> pd.DataFrame:
        state = self.read_state(fetch, target, ids, kind)
        return state if tags is None else state[state["tag"].isin(list(tags))]

    def find_ids(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> np.ndarray | None:
        return None

    def check_ids(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: IdList,
        kind: str | None,
        tags: Sequence[str],
    ) -> IdsCheck:
        state = self.read_tags(fetch, target, ids, kind, tags)
        carries = {}
        for tag in tags:
            carried = series_text(state.loc[(state["tag"] == tag).to_numpy(), "id"])
            carries[tag] = member(ids.array, carried)
        found = self.find_ids(fetch, target, ids, kind)
        held = None if found is None else member(ids.array, ids.array.filter(pa.array(found)))
        return IdsCheck(held, carries)

    def ensure_ok(self, response: httpx.Response) -> None:
        """For reads: auth errors and other error answers raise, in this API's words."""
        ensure_ok(self.name, response, self.key_env, self.error_reason(json_or_none(response)))


def fetch_all(
    fetch: Fetch, requests: Sequence[ApiRequest], concurrency: int
) -> list[httpx.Response]:
    """Send reads concurrently (one model per request APIs), answers in request order."""
    if len(requests) <= 1:
        return [fetch(r) for r in requests]
    from tagging.workers import map_daemon  # Ctrl-C is not held up by a hung read

    return map_daemon(fetch, requests, max(1, concurrency), "read")


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


def can_read(api: Provider, kind: str | None, target: Mapping[str, str]) -> bool:
    """The provider can say which tags items of this kind, in this target, carry now."""
    return api.reads_state(kind) and api.reads_target(target)
