"""Nekt: one attach/detach request per batch grouped by type, UUID checks, sandbox round trip."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from conftest import KEYS, Sandbox

from tagging.config import connect
from tagging.errors import InputError
from tagging.executor import push
from tagging.plan import TagOperation, plan
from tagging.providers.base import ApiRequest
from tagging.providers.nekt import PROVIDER as API
from tagging.render import request_count

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def resources(sandbox: Sandbox, rtype: str, n: int) -> list[str]:
    return [r["id"] for r in sandbox.world()["nekt"][rtype][:n]]


def conn_to(sandbox: Sandbox):
    return connect("nekt", url=sandbox.api("nekt"), key=KEYS["nekt"])


def test_one_request_per_batch_grouped_by_type() -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(5)]
    kinds = ["tables", "source", "tables", "Volumes", "sources"]
    op = TagOperation("nekt", "add", ("finance", "pii"), ids, kinds=kinds)
    p = plan(op, chunk_size=1_000)
    requests = list(API.requests(p.operation, p.batches[0]))
    assert len(requests) == 1
    assert (requests[0].method, requests[0].path) == ("POST", "/api/v1/tags/attach/")
    assert requests[0].body == {
        "names": ["finance", "pii"],
        "sources": [ids[1], ids[4]],
        "tables": [ids[0], ids[2]],
        "volumes": [ids[3]],
    }
    detach = plan(TagOperation("nekt", "remove", ("pii",), ids, kinds=kinds))
    assert next(API.requests(detach.operation, detach.batches[0])).path == "/api/v1/tags/detach/"


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            TagOperation("nekt", "add", ("x",), ["not-a-uuid"], kinds="tables"),
            "Nekt ids must be resource UUIDs: 'not-a-uuid' (row 0) is not one",
        ),
        (
            TagOperation("nekt", "add", ("x",), [UNKNOWN], kinds="dashboards"),
            "unknown Nekt resource type 'dashboards': use one of sources, transformations",
        ),
        (
            TagOperation("nekt", "add", ("x" * 256,), [UNKNOWN], kinds="tables"),
            "Nekt tag name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… is 256 characters",
        ),
        (TagOperation("nekt", "add", ("",), [UNKNOWN], kinds="tables"), "Nekt tag names must"),
        (TagOperation("nekt", "add", ("x",), [UNKNOWN]), "Nekt needs a resource type"),
    ],
)
def test_bad_input_is_refused_before_sending(op: TagOperation, message: str) -> None:
    with pytest.raises(InputError) as err:
        plan(op)
    assert str(err.value).startswith(message)


def test_field_errors_become_the_reason() -> None:
    request = ApiRequest("POST", "/x", {"names": ["a"]}, ("id",))
    body = {"names": ["This field is required."], "non_field_errors": ["At least one id."]}
    result = API.read(request, httpx.Response(400, json=body))
    assert result.reason == (
        "HTTP 400: names: This field is required.; non_field_errors: At least one id."
    )


def test_attach_then_detach_against_the_sandbox(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    sources = resources(sandbox, "sources", 3)
    tables = resources(sandbox, "tables", 4)
    ids = sources + tables
    kinds = ["sources"] * 3 + ["tables"] * 4
    op = TagOperation("nekt", "add", ("marketing", "reviewed"), ids, kinds=kinds)
    result = push(plan(op, chunk_size=3), conn)
    assert (result.applied, result.not_found, result.failed) == (7, 0, 0)
    assert [o.attempts for o in result.outcomes] == [1, 1, 1]  # one request per batch
    state = sandbox.state()["nekt"]
    assert {i: sorted(state[i]) for i in ids} == {i: ["marketing", "reviewed"] for i in ids}
    assert sorted(conn.check()) == ["marketing", "reviewed"]

    undo = TagOperation("nekt", "remove", ("reviewed",), tables, kinds="tables")
    assert push(plan(undo), conn).applied == 4
    state = sandbox.state()["nekt"]
    assert {i: state[i] for i in tables} == {i: ["marketing"] for i in tables}
    assert {i: sorted(state[i]) for i in sources} == {i: ["marketing", "reviewed"] for i in sources}


def test_unknown_resources_are_named_and_the_rest_still_tagged(sandbox: Sandbox) -> None:
    tables = resources(sandbox, "tables", 2)
    op = TagOperation("nekt", "add", ("t",), [tables[0], UNKNOWN, tables[1]], kinds="tables")
    result = push(plan(op), conn_to(sandbox))
    assert result.summary()["not_found_ids"] == [UNKNOWN]
    assert (result.applied, result.not_found, result.failed) == (2, 1, 0)
    assert result.outcomes[0].status == "partial"
    assert sorted(sandbox.state()["nekt"]) == sorted(tables)


def test_a_resource_of_the_wrong_type_is_not_found(sandbox: Sandbox) -> None:
    source = resources(sandbox, "sources", 1)[0]
    result = push(
        plan(TagOperation("nekt", "add", ("t",), [source], kinds="tables")), conn_to(sandbox)
    )
    assert result.outcomes[0].status == "partial"
    assert result.not_found_ids == [source]
    assert sandbox.state()["nekt"] == {}


def test_list_tags_follows_pages(sandbox: Sandbox) -> None:
    table = resources(sandbox, "tables", 1)
    names = tuple(f"tag-{i:03d}" for i in range(230))
    assert (
        push(
            plan(TagOperation("nekt", "add", names, table, kinds="tables")), conn_to(sandbox)
        ).applied
        == 1
    )
    assert sorted(conn_to(sandbox).check()) == list(names)


def test_wire_format_is_the_documented_json() -> None:
    seen: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["x-api-key"], json.loads(request.content)))
        return httpx.Response(201, json=[{"id": "1", "name": "a"}])

    conn = connect("nekt", key="k-123", transport=httpx.MockTransport(handler))
    push(plan(TagOperation("nekt", "add", ("a",), [UNKNOWN], kinds="layer")), conn)
    assert seen == [("k-123", {"names": ["a"], "layers": [UNKNOWN]})]


def test_a_batch_with_its_own_tags_names_only_those() -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(3)]
    op = TagOperation("nekt", "remove", ("finance", "pii"), ids, kinds="tables")
    known = pd.DataFrame({"id": [ids[0], ids[1], ids[1]], "tag": ["pii", "pii", "finance"]})
    p = plan(op, known=known)
    bodies = [r.body for b in p.batches for r in API.requests(p.operation, b)]
    assert bodies == [
        {"names": ["pii"], "tables": [ids[0]]},
        {"names": ["finance", "pii"], "tables": [ids[1]]},
    ]
    assert request_count(p) == 2
