"""Immuta: `POST /tag/{modelType}/{modelId}` (all tags of a model in one call) and
`DELETE /tag/{modelType}/{modelId}/{tag}` (one call per model per tag).

Immuta has no bulk endpoint, so a batch is many small requests: the executor runs them
concurrently, and the plan diff (current tags read back per data source) avoids useless ones.
Real Immuta silently ignores parent tags of a hierarchy, so plans warn before using them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from tagging.errors import InputError
from tagging.names import twin
from tagging.providers.base import (
    BaseProvider,
    Fetch,
    batch_kinds,
    batch_tags,
    failure,
    fetch_all,
    json_or_none,
    raise_for_auth,
)
from tagging.values import ApiRequest, Batch, RequestResult, TagOperation

if TYPE_CHECKING:
    import pandas as pd

TAG_PATH = "/tag"
MODEL_TYPES = ("datasource", "column", "project")
# ASCII digits only: `\d` also matches fullwidth "６" and other scripts' digits.
_ID_PATTERNS = {"datasource": r"[0-9]+", "project": r"[0-9]+", "column": r"[0-9]+_.+"}
_ID_HINTS = {
    "datasource": "a number such as 22",
    "project": "a number such as 2",
    "column": "<datasourceId>_<column> such as 6_countrycode",
}


class Immuta(BaseProvider):
    name = "immuta"
    label = "Immuta"
    item_noun = "models"
    kinds = MODEL_TYPES
    kind_noun = "model type"
    kind_flag = "--model-type"
    kind_spellings = {"data source": "datasource", "data_source": "datasource"}
    new_tag_hint = (
        "Immuta only applies tags that exist: create new ones first (POST /tag creates their "
        "parents too). Push leaf tags like A.B.C: Immuta ignores parent tags."
    )
    creates_tags_on_push = False  # an unknown tag fails the whole request
    default_chunk = 100  # models per batch: each is its own request
    # Each request is one model, so latency bounds a push: 64 in flight (the connection pool's
    # size) beat 32 in paired runs on 2 cores (benchmarks/scenarios/immuta_concurrency.py).
    # Immuta documents no concurrency limit; a 429 waits its Retry-After (tagging.retry).
    default_concurrency = 64
    key_env = "IMMUTA_API_KEY"
    url_env = "IMMUTA_API_URL"
    default_url: str | None = None

    def auth_headers(self, key: str) -> dict[str, str]:
        # An API key goes as is; a session token is already "Bearer …".
        return {"Authorization": key}

    def validate(self, op: TagOperation, ids: pd.Series, kinds: pd.Series | None) -> None:
        for tag in op.tags:
            check_tag_name(tag)
        if kinds is None:
            return
        for kind, pattern in _ID_PATTERNS.items():
            of_kind = (kinds == kind).to_numpy()
            if len(kinds) == 1:  # one kind for every id
                of_kind = of_kind.repeat(len(ids))
            if not of_kind.any():
                continue
            subset = ids[of_kind]
            bad = ~subset.str.fullmatch(pattern).fillna(False).astype(bool)
            if bad.any():
                value = subset[bad].iloc[0]
                raise InputError(
                    f"Immuta {kind} id {value[:60]!r} is not valid: use {_ID_HINTS[kind]}"
                )

    def warnings(self, op: TagOperation, catalog: Collection[str] | None) -> list[str]:
        """Parent tags are ignored by Immuta; with a catalog, unknown tags cannot be added.

        Raises InputError when adding a tag the catalog does not have (Immuta would reject
        every request of the push).
        """
        known = set(catalog or ())
        if op.action == "add" and catalog is not None:
            missing = [t for t in op.tags if t not in known]
            if missing:
                near = twin(missing[0], known)
                hint = f"did you mean {near!r}?" if near else "create it first (POST /tag)"
                raise InputError(
                    f"Immuta has no tag {missing[0]!r}: {hint} or pick an existing tag"
                )
        names = sorted(known | set(op.tags))
        out = []
        for tag in op.tags:
            child = next((n for n in names if n.startswith(tag + ".")), None)
            if child is not None:
                out.append(
                    f"{tag!r} is a parent tag (e.g. of {child!r}): Immuta ignores parent "
                    "tags, so pick a leaf tag"
                )
        return out

    def requests(self, op: TagOperation, batch: Batch) -> Iterator[ApiRequest]:
        tags = batch_tags(op, batch)
        payload = [{"name": t, "source": "curated"} for t in tags]
        kinds = batch_kinds(op, batch)
        for at, (model_id, kind) in enumerate(zip(batch.ids, kinds, strict=True)):
            base = f"{TAG_PATH}/{kind}/{quote(model_id, safe='')}"
            if op.action == "add":
                yield ApiRequest("POST", base, payload, (model_id,), (at,))
            else:
                for tag in tags:
                    path = f"{base}/{quote(tag, safe='')}"
                    yield ApiRequest("DELETE", path, None, (model_id,), (at,))

    def request_count(self, op: TagOperation, batch: Batch) -> int:
        return len(batch.ids) * (1 if op.action == "add" else len(batch_tags(op, batch)))

    def read(self, request: ApiRequest, response: httpx.Response) -> RequestResult:
        raise_for_auth(self.name, response, self.key_env)
        if response.status_code == 404 and _model_missing(request, response):
            return RequestResult(ids=request.ids, not_found=1, not_found_ids=tuple(request.ids))
        if response.status_code == 404 and request.method == "DELETE":
            return RequestResult(ids=request.ids)  # the tag was not on the model: nothing to do
        if response.status_code >= 400:
            return failure(request, response, self.error_reason(json_or_none(response)))
        return RequestResult(ids=request.ids)

    def list_tags(self, fetch: Fetch, target: Mapping[str, str]) -> list[str]:
        response = fetch(ApiRequest("GET", TAG_PATH, None))
        self.ensure_ok(response)
        return [str(t["name"]) for t in response.json() if not t.get("deleted", False)]

    def create_tags(self, fetch: Fetch, names: Sequence[str]) -> None:
        """`POST /tag` with the fully-qualified names: Immuta creates each hierarchy's missing
        parents with it (A and A.B for A.B.C). Creating an existing tag changes nothing."""
        for name in names:
            check_tag_name(name)
        payload = {"tags": [{"name": n} for n in dict.fromkeys(names)]}
        self.ensure_ok(fetch(ApiRequest("POST", TAG_PATH, payload)))

    def error_reason(self, data: object) -> str:
        """Immuta errors: {"statusCode", "error", "message"}."""
        if isinstance(data, dict):
            return str(data.get("message") or data.get("error") or "")
        return ""

    def reads_state(self, kind: str | None) -> bool:
        # `GET /dataSource/{id}/tags` and the data dictionary; projects have no documented read
        return kind in ("datasource", "column")

    def read_state(
        self, fetch: Fetch, target: Mapping[str, str], ids: Sequence[str], kind: str | None
    ) -> pd.DataFrame:
        """The tags each data source or column carries now (an unknown one carries none)."""
        import pandas as pd

        if kind == "column":
            return _read_columns(fetch, ids, self.default_concurrency)
        requests = [
            ApiRequest("GET", f"/dataSource/{quote(i, safe='')}/tags", None, (i,)) for i in ids
        ]
        rows: list[tuple[str, str]] = []
        for request, response in zip(
            requests, fetch_all(fetch, requests, self.default_concurrency), strict=True
        ):
            if response.status_code == 404:
                continue
            self.ensure_ok(response)
            data = response.json()
            rows.extend((request.ids[0], str(t["name"])) for t in data if not t.get("deleted"))
        return pd.DataFrame(rows, columns=["id", "tag"], dtype=object)


def _read_columns(fetch: Fetch, ids: Sequence[str], concurrency: int) -> pd.DataFrame:
    """Column tags from the data dictionary: one `GET /dictionary/{dataSourceId}` per data
    source, concurrently. Column `<datasourceId>_<column>` carries the tags of the
    dictionary's column of that name; an unknown data source or column carries none."""
    import pandas as pd

    wanted: dict[str, set[str]] = {}
    for column_id in ids:
        source, _, column = column_id.partition("_")
        wanted.setdefault(source, set()).add(column)
    requests = [ApiRequest("GET", f"/dictionary/{quote(s, safe='')}", None, (s,)) for s in wanted]
    rows: list[tuple[str, str]] = []
    for request, response in zip(requests, fetch_all(fetch, requests, concurrency), strict=True):
        if response.status_code == 404:
            continue
        PROVIDER.ensure_ok(response)
        source = request.ids[0]
        for column in response.json().get("metadata") or ():
            name = str(column.get("name"))
            if name not in wanted[source]:
                continue
            rows.extend(
                (f"{source}_{name}", str(t["name"]))
                for t in column.get("tags") or ()
                if str(t.get("deleted", False)).lower() != "true"
            )
    return pd.DataFrame(rows, columns=["id", "tag"], dtype=object)


def check_tag_name(tag: str) -> None:
    """Fully-qualified names: segments joined by '.', none empty or padded with spaces."""
    if not tag.strip():
        raise InputError("Immuta tag names must not be empty")
    if tag != tag.strip() or tag.startswith(".") or tag.endswith("."):
        raise InputError(
            f"Immuta tag {tag!r} must not start or end with a dot or a space: "
            "use Parent.Child names such as Discovered.Passport"
        )
    for segment in tag.split("."):
        if not segment or segment != segment.strip():
            raise InputError(
                f"Immuta tag {tag!r} has an empty or space-padded part between dots: "
                "use Parent.Child names such as Discovered.Passport"
            )


def _model_missing(request: ApiRequest, response: httpx.Response) -> bool:
    """A 404 names either the model (not found) or, for DELETE, a tag it does not carry."""
    if request.method == "POST":
        return True
    message = PROVIDER.error_reason(json_or_none(response)).lower()
    return not ("tag" in message and "model" not in message)


PROVIDER = Immuta()
