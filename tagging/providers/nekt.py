"""Nekt: `POST /api/v1/tags/attach/` and `/detach/`, one request per batch.

A single request carries every tag name and every id of the batch, grouped by resource type,
so a batch costs one call whatever its mix of types.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from tagging.errors import InputError
from tagging.providers.base import (
    BaseProvider,
    Fetch,
    batch_kinds,
    batch_tags,
    failure,
    json_or_none,
    raise_for_auth,
)
from tagging.values import ApiRequest, Batch, RequestResult, TagOperation

if TYPE_CHECKING:
    import pandas as pd

# The 8 catalog resource types, as the attach/detach bodies spell their keys.
RESOURCE_TYPES = (
    "sources",
    "transformations",
    "destinations",
    "visualizations",
    "layers",
    "folders",
    "tables",
    "volumes",
)
ATTACH_PATH = "/api/v1/tags/attach/"
DETACH_PATH = "/api/v1/tags/detach/"
LIST_PATH = "/api/v1/tags/"
MAX_NAME = 255
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class Nekt(BaseProvider):
    name = "nekt"
    label = "Nekt"
    item_noun = "resources"
    kinds = RESOURCE_TYPES
    kind_noun = "resource type"
    kind_flag = "--resource-type"
    # "source", "Sources", " tables " all mean the documented plural key.
    kind_spellings = {t[:-1]: t for t in RESOURCE_TYPES}
    default_chunk = 1_000
    default_concurrency = 4
    key_env = "NEKT_API_KEY"
    url_env = "NEKT_API_URL"
    default_url: str | None = "https://api.nekt.ai"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        for tag in op.tags:
            if not tag.strip():
                raise InputError("Nekt tag names must not be empty")
            if len(tag) > MAX_NAME:
                raise InputError(
                    f"Nekt tag name {tag[:40]!r}… is {len(tag)} characters: the limit is 255"
                )
        bad = ~ids.str.fullmatch(UUID_PATTERN).fillna(False).astype(bool)
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                f"Nekt ids must be resource UUIDs: {ids.iloc[row][:60]!r} (row {row}) is not one"
            )

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        if op.action == "remove" and catalog is not None:
            known = set(catalog)
            unknown = [t for t in op.tags if t not in known]
            if unknown:
                return [f"Nekt has no tag {unknown[0]!r}: detaching it changes nothing"]
        return []

    def body(self, op: TagOperation, batch: Batch) -> dict[str, Any]:
        grouped: dict[str, list[str]] = {}
        for rid, kind in zip(batch.ids, batch_kinds(op, batch), strict=True):
            grouped.setdefault(kind, []).append(rid)
        names = list(batch_tags(op, batch))
        return {"names": names} | {t: grouped[t] for t in RESOURCE_TYPES if t in grouped}

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]:
        path = ATTACH_PATH if op.action == "add" else DETACH_PATH
        at = tuple(range(len(batch.ids)))
        yield ApiRequest("POST", path, self.body(op, batch), batch.ids, at)

    def request_count(self, op: TagOperation, batch: Batch) -> int:
        return 1

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult:
        raise_for_auth(self.name, response, self.key_env)
        data = json_or_none(response)
        if response.status_code == 400:
            unknown = unknown_ids(data, request.ids)
            if unknown:
                return self._without(request, unknown)
        if response.status_code >= 400:
            return failure(request, response, self.error_reason(data))
        if not isinstance(data, list):  # attach and detach answer with the tag objects
            return failure(request, response, "Nekt did not answer with the tags: not confirmed")
        return RequestResult(ids=request.ids)

    def _without(self, request: ApiRequest, unknown: set[str]) -> RequestResult:
        """Nekt rejects the whole call for one unknown id: name those, resend the rest."""
        body = dict(request.body)
        for rtype in RESOURCE_TYPES:
            if rtype in body:
                body[rtype] = [i for i in body[rtype] if i not in unknown]
                if not body[rtype]:
                    del body[rtype]
        named = tuple(i for i in request.ids if i in unknown)
        kept = [n for n, i in enumerate(request.ids) if i not in unknown]
        rest = tuple(request.ids[n] for n in kept)
        rest_at = tuple(request.at[n] for n in kept) if request.at else ()
        followup = ApiRequest(request.method, request.path, body, rest, rest_at) if rest else None
        return RequestResult(
            ids=request.ids, not_found=len(named), not_found_ids=named, followup=followup
        )

    def list_tags(self, fetch: Fetch, target: Mapping[str, str]) -> list[str]:
        """All tag names, following `next` pages (only on this connection's own host)."""
        names: list[str] = []
        page: str | None = None
        for _ in range(10_000):  # a bound, not an expected page count
            params = {"page": page} if page else None
            response = fetch(ApiRequest("GET", LIST_PATH, None, params=params))
            self.ensure_ok(response)
            data = response.json()
            if isinstance(data, list):  # an unpaginated answer
                return names + [str(t["name"]) for t in data]
            names.extend(str(t["name"]) for t in data.get("results", []))
            page = _next_page(data.get("next"))
            if page is None:
                break
        return names

    def error_reason(self, data: object) -> str:
        """Nekt (DRF) errors: {field: [messages]}, possibly nested per list item, or {"detail"}."""
        if isinstance(data, dict):
            parts = [
                f"{k}: {_flatten(v)}" if k != "detail" else _flatten(v) for k, v in data.items()
            ]
            return "; ".join(parts[:3])
        if isinstance(data, list):
            return _flatten(data)
        return ""


_INVALID_PK = re.compile(r'Invalid pk "([^"]+)" - object does not exist')


def unknown_ids(data: object, sent: Sequence[str]) -> set[str]:
    """Ids named by `Invalid pk "<id>" - object does not exist.` messages, when those are
    the only errors; an empty set otherwise (then the call failed for another reason)."""
    if not isinstance(data, dict) or not set(data) <= set(RESOURCE_TYPES):
        return set()
    messages = [m for v in data.values() for m in (v if isinstance(v, list) else [v])]
    found = [_INVALID_PK.search(str(m)) for m in messages]
    if not messages or not all(found):
        return set()
    named = {m.group(1) for m in found if m}
    return {i for i in sent if i in named or i.lower() in named}


def _next_page(url: object) -> str | None:
    if not url:
        return None
    return httpx.URL(str(url)).params.get("page")


def _flatten(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(_flatten(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value[:3])
    return str(value)


PROVIDER = Nekt()
