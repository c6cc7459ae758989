"""Atlas: exact requests, response reading, validation, and add/remove against the sandbox."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from conftest import KEYS, Sandbox

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.errors import AuthError, InputError
from tagging.executor import push
from tagging.plan import Batch, TagOperation, plan
from tagging.providers.atlas import PROVIDER as API
from tagging.providers.base import ApiRequest

P = {"projection_id": ATLAS_PROJECTION_ID}


def op(ids: list[str], action: str = "add", tags: tuple[str, ...] = ("New Tag",), **target: str):
    return TagOperation("atlas", action, tags, ids, {**P, **target})  # type: ignore[arg-type]


def conn_to(sandbox: Sandbox):
    return connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])


def test_one_documented_request_per_tag_per_batch() -> None:
    o = op(["0", "89", "295"], tags=("New Tag", "Review"), id_field="my_unique_id_field")
    requests = list(API.requests(o, Batch(0, ("0", "89", "295"))))
    assert [(r.method, r.path) for r in requests] == [("POST", "/v1/query/update/tag/ids")] * 2
    assert requests[0].body == {
        "projection_id": ATLAS_PROJECTION_ID,
        "tag_name": "New Tag",
        "id_field": "my_unique_id_field",
        "ids": ["0", "89", "295"],
        "operation": "add",
    }
    assert requests[1].body["tag_name"] == "Review"


def test_points_tagged_shortfall_is_a_not_found_count() -> None:
    request = ApiRequest("POST", "/x", {}, ("0", "1", "nope"))
    response = httpx.Response(200, json={"success": True, "tag_id": "t", "points_tagged": 2})
    result = API.read(request, response)
    assert (result.not_found, result.not_found_ids, result.failed) == (1, (), False)


def test_validation_error_reason_comes_from_detail_msg() -> None:
    request = ApiRequest("POST", "/x", {}, ("0",))
    detail = [{"loc": ["body", "operation"], "msg": "Input should be 'add' or 'remove'"}]
    result = API.read(request, httpx.Response(422, json={"detail": detail}))
    assert result.reason == "HTTP 422: operation: Input should be 'add' or 'remove'"


def test_401_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="check NOMIC_API_KEY"):
        API.read(ApiRequest("POST", "/x", {}, ("0",)), httpx.Response(401, json={}))


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (op([""]), "Atlas ids must be non-empty strings (row 0 is empty)"),
        (TagOperation("atlas", "add", ("t",), ["1"], {}), "Atlas needs a projection_id"),
        (
            TagOperation("atlas", "add", ("t",), ["1"], {"projection_id": "abc"}),
            "Atlas projection_id 'abc' is not a UUID",
        ),
        (op(["1"], tags=(" ",)), "Atlas tag names must not be empty"),
    ],
)
def test_bad_input_is_refused_before_sending(operation: TagOperation, message: str) -> None:
    with pytest.raises(InputError) as err:
        plan(operation)
    assert str(err.value).startswith(message)


def test_add_then_remove_against_the_sandbox(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    ids = [str(i) for i in range(0, 3000, 7)]
    result = push(plan(op(ids, tags=("New Tag", "Review")), chunk_size=100), conn)
    assert (result.applied, result.not_found, result.failed) == (len(ids), 0, 0)
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]
    assert sorted(state["New Tag"], key=int) == ids
    assert sorted(state["Review"], key=int) == ids
    assert sorted(conn.check(P)) == ["New Tag", "Review"]

    removed = push(plan(op(ids[:10], "remove", ("Review",))), conn)
    assert removed.applied == 10
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]
    assert sorted(state["Review"], key=int) == ids[10:]
    assert len(state["New Tag"]) == len(ids)


def test_unknown_ids_are_named_by_the_read_back(sandbox: Sandbox) -> None:
    result = push(plan(op(["1", "2", "no-such-point", "99999999"])), conn_to(sandbox))
    assert result.summary() == {
        "job_id": None,
        "applied": 2,
        "not_found": 2,
        "not_found_ids": ["no-such-point", "99999999"],  # the map's datum ids say which
        "failed": 0,
        "failed_ids": [],
        "verified": {"checked": 2, "mismatched_ids": []},
    }
    assert result.outcomes[0].status == "partial"
    assert sorted(sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["New Tag"]) == ["1", "2"]


def test_unknown_ids_are_only_counted_without_read_back(sandbox: Sandbox) -> None:
    result = push(plan(op(["1", "2", "no-such-point"])), conn_to(sandbox), verify=False)
    assert (result.not_found, result.not_found_ids, result.verified) == (1, [], None)


def test_id_field_is_sent_and_used(sandbox: Sandbox) -> None:
    result = push(plan(op(["3", "4"], id_field="my_unique_id_field")), conn_to(sandbox))
    assert result.applied == 2
    assert result.verified is None  # tiles are keyed by the unique ids: not read back
    assert sorted(sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["New Tag"]) == ["3", "4"]


def test_diff_skips_already_tagged_ids(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    push(plan(op(["1", "2"])), conn)
    known = pd.DataFrame({"id": ["1", "2"], "tag": ["New Tag", "New Tag"]})
    p = plan(op(["1", "2", "3"]), known=known)
    assert p.batches[0].ids == ("3",)
    result = push(p, conn)
    assert result.applied == 1
    assert sorted(sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["New Tag"]) == ["1", "2", "3"]


def test_bad_id_field_fails_the_batch_with_the_api_reason(sandbox: Sandbox) -> None:
    result = push(plan(op(["1"], id_field="no_such_field")), conn_to(sandbox))
    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert outcome.failed_ids == ("1",)
    assert outcome.reason.startswith("HTTP 422: ")
    assert "\n" not in outcome.reason
    assert sandbox.state()["atlas"] == {}


def test_unknown_projection_fails_with_the_api_reason(sandbox: Sandbox) -> None:
    other = "00000000-0000-0000-0000-000000000000"
    o = TagOperation("atlas", "add", ("t",), ["1"], {"projection_id": other})
    result = push(plan(o), conn_to(sandbox))
    assert result.outcomes[0].reason == f"HTTP 404: projection_id: Projection {other} not found"


def test_requests_carry_exactly_the_documented_json(sandbox: Sandbox) -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True, "tag_id": "t", "points_tagged": 1})

    conn = connect("atlas", transport=httpx.MockTransport(handler))
    push(plan(op(["295"], "remove")), conn, verify=False)
    assert bodies == [
        {
            "projection_id": ATLAS_PROJECTION_ID,
            "tag_name": "New Tag",
            "ids": ["295"],
            "operation": "remove",
        }
    ]


def test_target_from_typed_text_drops_spaces_and_empty_id_field() -> None:
    target = API.target

    assert target({"projection_id": " 52fcac24 ", "id_field": "  "}) == {
        "projection_id": "52fcac24"
    }
    assert target({"projection_id": "p", "id_field": " my_unique_id_field "}) == {
        "projection_id": "p",
        "id_field": "my_unique_id_field",
    }
