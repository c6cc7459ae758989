"""Nomic Atlas: `POST /v1/query/update/tag/ids`, one request per tag per batch.

The endpoint takes a single `tag_name`, so a batch of ids with two tags is two requests.
The answer's `points_tagged` counts only ids found, so a shortfall is a not-found *count*:
Atlas never says which ids it did not know.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd

from tagging.errors import InputError
from tagging.providers.base import (
    ApiRequest,
    RequestResult,
    batch_tags,
    ensure_ok,
    failure,
    json_or_none,
    raise_for_auth,
)

if TYPE_CHECKING:
    from tagging.plan import Batch, TagOperation

TAG_PATH = "/v1/query/update/tag/ids"
LIST_TAGS_PATH = "/v1/project/projection/tags/get/all"


class AtlasAPI:
    name = "atlas"
    default_chunk = 10_000
    default_concurrency = 4
    key_env = "NOMIC_API_KEY"
    url_env = "ATLAS_API_URL"
    default_url: str | None = "https://api-atlas.nomic.ai"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def normalize_kinds(self, kinds: pd.Series | None, n: int) -> pd.Series | None:
        return None

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        projection = op.target.get("projection_id", "")
        if not projection:
            raise InputError("Atlas needs a projection_id (find it on your dataset's page)")
        try:
            uuid.UUID(str(projection))
        except ValueError:
            raise InputError(f"Atlas projection_id {projection!r} is not a UUID") from None
        if "id_field" in op.target and not str(op.target["id_field"]).strip():
            raise InputError("Atlas id_field is empty: leave it out to use the unique id field")
        for tag in op.tags:
            if not tag.strip():
                raise InputError("Atlas tag names must not be empty")
        empty = ids.str.len() == 0
        if empty.any():
            raise InputError(f"Atlas ids must be non-empty strings (row {_first(empty)} is empty)")

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        return []

    def body(self, op: TagOperation, tag: str, ids: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"projection_id": op.target["projection_id"], "tag_name": tag}
        if op.target.get("id_field"):
            body["id_field"] = op.target["id_field"]
        body["ids"] = ids
        body["operation"] = op.action
        return body

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]:
        ids = list(batch.ids)
        for tag in batch_tags(op, batch):
            yield ApiRequest("POST", TAG_PATH, self.body(op, tag, ids), batch.ids)

    def request_count(self, op: TagOperation, batch: Batch) -> int:
        return len(batch_tags(op, batch))

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult:
        raise_for_auth(self.name, response, self.key_env)
        data = json_or_none(response)
        if response.status_code >= 400:
            return failure(request, response, error_reason(data))
        if not isinstance(data, dict) or not data.get("success", False):
            return failure(request, response, "Atlas did not confirm the operation")
        tagged = int(data.get("points_tagged", 0))
        return RequestResult(ids=request.ids, not_found=max(0, len(request.ids) - tagged))

    def list_tags(self, client: httpx.Client, target: Mapping[str, str]) -> list[str]:
        params = {"projection_id": target["projection_id"]}
        response = client.get(LIST_TAGS_PATH, params=params)
        ensure_ok(self.name, response, self.key_env, error_reason(json_or_none(response)))
        return [str(t["tag_name"]) for t in response.json()]


def target(projection_id: str, id_field: str | None = None) -> dict[str, str]:
    """An Atlas target from what a user typed: stray spaces dropped, an empty id_field left out."""
    out = {"projection_id": projection_id.strip()}
    if id_field and id_field.strip():
        out["id_field"] = id_field.strip()
    return out


def error_reason(data: object) -> str:
    """Atlas (FastAPI) errors: {"detail": "text"} or {"detail": [{"loc", "msg", "type"}]}."""
    if not isinstance(data, dict) or "detail" not in data:
        return ""
    detail = data["detail"]
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if isinstance(item, dict):
                loc = [str(x) for x in item.get("loc", []) if x != "body"]
                where = ".".join(loc)
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg")))
        return "; ".join(parts)
    return str(detail)


def _first(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0])


API = AtlasAPI()
