"""Nomic Atlas: `POST /v1/query/update/tag/ids`, one request per tag per batch.

The endpoint takes a single `tag_name`, so a batch of ids with two tags is two requests.
The answer's `points_tagged` counts only ids found, so a shortfall is a not-found *count*:
the answer never says which ids it did not know. The map's tiles do (`atlas_map`): which
points carry a tag, and which ids the map holds, read as the nomic client reads them. They
are keyed by the map's unique ids, so a target with an `id_field` is not read back.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagging.errors import ApiError, ConfigError, InputError
from tagging.id_list import IdList, Text, arrow_text, as_list, numbers
from tagging.providers import atlas_map
from tagging.providers.base import (
    BaseProvider,
    Fetch,
    IdsCheck,
    TargetField,
    batch_tags,
    failure,
    json_or_none,
    raise_for_auth,
)
from tagging.values import ApiRequest, Batch, RequestResult, TagOperation

if TYPE_CHECKING:
    import pandas as pd

TAG_PATH = "/v1/query/update/tag/ids"
READ_ATTEMPTS = 10  # reads of a map whose tags change while we read them (busy maps)
LIST_TAGS_PATH = "/v1/project/projection/tags/get/all"


_UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", re.ASCII)


class Atlas(BaseProvider):
    name = "atlas"
    label = "Nomic Atlas"
    item_noun = "points"
    target_fields = (
        TargetField("projection_id", "Atlas projection id", "The map's id, on its dataset page."),
        TargetField(
            "id_field",
            "Id field (optional)",
            "Address points by another unique field of the map (the API's `id_field`).",
            required=False,
        ),
    )
    default_chunk = 10_000
    default_concurrency = 4
    validates_arrow = True
    key_env = "NOMIC_API_KEY"
    url_env = "ATLAS_API_URL"
    default_url: str | None = "https://api-atlas.nomic.ai"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def target_label(self, target: Mapping[str, str], kind: str | None = None) -> str:
        label = f"points of Atlas projection {target.get('projection_id', '?')}"
        if target.get("id_field"):
            label += f" (by {target['id_field']})"
        return label

    def validate(self, op: TagOperation, ids: Text, kinds: pd.Series | None) -> None:
        projection = op.target.get("projection_id", "")
        if not projection:
            raise InputError("Atlas needs a projection_id (find it on your dataset's page)")
        # A pattern, not uuid.UUID(): that also takes fullwidth digits, braces and "urn:".
        if not _UUID.fullmatch(str(projection)):
            raise InputError(f"Atlas projection_id {projection!r} is not a UUID")
        if "id_field" in op.target and not str(op.target["id_field"]).strip():
            raise InputError("Atlas id_field is empty: leave it out to use the unique id field")
        for tag in op.tags:
            if not tag.strip():
                raise InputError("Atlas tag names must not be empty")
        empty = pc.equal(ids, pa.scalar("", ids.type))  # no per-id lengths of 30M ids
        if pc.any(empty).as_py():
            row = int(np.flatnonzero(numbers(empty, fill=False))[0])
            raise InputError(f"Atlas ids must be non-empty strings (row {row} is empty)")

    def body(self, op: TagOperation, tag: str, ids: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"projection_id": op.target["projection_id"], "tag_name": tag}
        if op.target.get("id_field"):
            body["id_field"] = op.target["id_field"]
        body["ids"] = ids
        body["operation"] = op.action
        return body

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]:
        ids = as_list(batch.ids)  # Python strings only now, as the body is built
        for tag in batch_tags(op, batch):
            yield ApiRequest("POST", TAG_PATH, self.body(op, tag, ids), batch.ids)

    def request_count(self, op: TagOperation, batch: Batch) -> int:
        return len(batch_tags(op, batch))

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult:
        raise_for_auth(self.name, response, self.key_env)
        data = json_or_none(response)
        if response.status_code >= 400:
            return failure(request, response, self.error_reason(data))
        if not isinstance(data, dict) or data.get("success") is not True:
            return failure(request, response, "Atlas did not confirm the operation")
        tagged = data.get("points_tagged", 0)
        if not isinstance(tagged, int) or isinstance(tagged, bool) or tagged < 0:
            return failure(request, response, f"Atlas answered points_tagged={tagged!r}: no count")
        if request.body.get("operation") == "remove":
            # A remove counts only the points that carried the tag: the rest exist or not,
            # the answer cannot say which (the map's read-back can).
            return RequestResult(ids=request.ids)
        return RequestResult(ids=request.ids, not_found=max(0, len(request.ids) - tagged))

    def list_tags(self, fetch: Fetch, target: Mapping[str, str]) -> list[str]:
        if not target.get("projection_id"):
            raise ConfigError("give a projection_id to list an Atlas map's tags")
        params = {"projection_id": target["projection_id"]}
        response = fetch(ApiRequest("GET", LIST_TAGS_PATH, None, params=params))
        self.ensure_ok(response)
        return [str(t["tag_name"]) for t in response.json()]

    # --- reading the map back (see atlas_map) ------------------------------------------

    def reads_state(self, kind: str | None) -> bool:
        return True

    def reads_target(self, target: Mapping[str, str]) -> bool:
        return bool(target.get("projection_id")) and not target.get("id_field")

    def read_state(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> pa.Table:
        return self.read_tags(fetch, target, ids, kind, None)

    def read_tags(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: Sequence[str],
        kind: str | None,
        tags: Sequence[str] | None,
    ) -> pa.Table:
        """["id", "tag"] as an Arrow table (a frame only for whoever needs one): which of
        these points carry the tags now (all the map's tags when `tags` is None). A tag the
        map does not list is carried by no point."""
        projection = target["projection_id"]
        for attempt in range(READ_ATTEMPTS):
            try:
                return self._read_tags(fetch, projection, ids, tags)
            except ApiError as exc:
                # A tag's tiles answer 404 once its definition changed under us (another
                # writer tagged meanwhile): list the tags again and read the new tiles.
                if exc.status != 404 or attempt == READ_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt * random.random())  # writers drift apart
        raise AssertionError("unreachable")

    def _read_tags(
        self, fetch: Fetch, projection: str, ids: Sequence[str], tags: Sequence[str] | None
    ) -> pa.Table:
        listed = atlas_map.map_tags(fetch, self.ensure_ok, projection)
        wanted = atlas_map.by_name(listed, tags)
        dataset = atlas_map.dataset_of(listed)
        if not wanted or dataset is None:
            return pa.table(
                {"id": pa.array([], pa.large_string()), "tag": pa.array([], pa.string())}
            )
        where = atlas_map.points(fetch, self.ensure_ok, dataset, projection)
        parts = []
        for name, tag in wanted.items():
            mask = atlas_map.tag_mask(fetch, self.ensure_ok, where, tag)
            found = arrow_text(atlas_map.tagged_ids(where, mask, ids)).cast(pa.large_string())
            # Typed scalars: pyarrow imports pandas to guess an untyped one's type.
            tag_column = pa.repeat(pa.scalar(name, pa.string()), len(found))
            parts.append(pa.table({"id": found, "tag": tag_column}))
        return pa.concat_tables(parts)

    def find_ids(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> np.ndarray | None:
        """Which ids the map holds; None before the map has any tag (the tag list is what
        names the map's dataset, whose tiles hold the ids)."""
        if not self.reads_target(target):
            return None
        projection = target["projection_id"]
        dataset = atlas_map.dataset_of(atlas_map.map_tags(fetch, self.ensure_ok, projection))
        if dataset is None:
            return None
        return atlas_map.held(atlas_map.points(fetch, self.ensure_ok, dataset, projection), ids)

    def check_ids(
        self,
        fetch: Fetch,
        target: Mapping[str, str],
        ids: IdList,
        kind: str | None,
        tags: Sequence[str],
    ) -> IdsCheck:
        """Where each id sits on the map (one hash of the smaller side), then each tag's
        bitmask at those points: the read-back of a million ids in a few array operations."""
        projection = target["projection_id"]
        for attempt in range(READ_ATTEMPTS):
            try:
                return self._check_ids(fetch, projection, ids, tags)
            except ApiError as exc:  # a tag changed under us: read its new tiles (read_tags)
                if exc.status != 404 or attempt == READ_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt * random.random())
        raise AssertionError("unreachable")

    def _check_ids(
        self, fetch: Fetch, projection: str, ids: IdList, tags: Sequence[str]
    ) -> IdsCheck:
        listed = atlas_map.map_tags(fetch, self.ensure_ok, projection)
        dataset = atlas_map.dataset_of(listed)
        none = np.zeros(len(ids), dtype=bool)
        if dataset is None:  # no tag on the map yet: nothing carried, existence unknown
            return IdsCheck(None, {tag: none for tag in tags})
        where = atlas_map.points(fetch, self.ensure_ok, dataset, projection)
        at = atlas_map.locate(where, ids.array)
        held = at >= 0
        wanted = atlas_map.by_name(listed, tags)
        carries = {}
        for tag in tags:
            if tag not in wanted:
                carries[tag] = none
                continue
            mask = atlas_map.tag_mask(fetch, self.ensure_ok, where, wanted[tag])
            carries[tag] = held & mask[np.where(held, at, 0)]
        return IdsCheck(held, carries)

    def error_reason(self, data: object) -> str:
        """Atlas (FastAPI) errors: {"detail": "text"} or {"detail": [{"loc", "msg", "type"}]}."""
        if not isinstance(data, dict) or "detail" not in data:
            return ""
        detail = data["detail"]
        if isinstance(detail, list):
            parts = []
            for item in detail[:3]:
                if isinstance(item, dict):
                    where = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                    msg = str(item.get("msg", ""))
                    parts.append(f"{where}: {msg}" if where else msg)
            return "; ".join(parts)
        return str(detail)


PROVIDER = Atlas()
