"""Immuta: per-model requests, hierarchical names, parent-tag warnings, sandbox round trip."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from conftest import KEYS, Sandbox

from tagging.config import connect
from tagging.errors import InputError
from tagging.executor import push
from tagging.known_state import read_state
from tagging.plan import TagOperation, plan
from tagging.providers.base import ApiRequest
from tagging.providers.immuta import PROVIDER as API
from tagging.render import describe, request_count


def conn_to(sandbox: Sandbox):
    return connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"])


def requests_of(op: TagOperation) -> list[tuple[str, str, object]]:
    p = plan(op)
    return [(r.method, r.path, r.body) for b in p.batches for r in API.requests(p.operation, b)]


def test_add_is_one_request_per_model_with_all_tags() -> None:
    op = TagOperation(
        "immuta",
        "add",
        ("Discovered.Passport", "Confidential"),
        ["22", "6_countrycode", "2"],
        kinds=["datasource", "column", "project"],
    )
    payload = [
        {"name": "Discovered.Passport", "source": "curated"},
        {"name": "Confidential", "source": "curated"},
    ]
    assert requests_of(op) == [
        ("POST", "/tag/datasource/22", payload),
        ("POST", "/tag/column/6_countrycode", payload),
        ("POST", "/tag/project/2", payload),
    ]


def test_remove_is_one_request_per_model_per_tag() -> None:
    op = TagOperation("immuta", "remove", ("A.b c", "Z"), ["523", "7"], kinds="datasource")
    assert requests_of(op) == [
        ("DELETE", "/tag/datasource/523/A.b%20c", None),
        ("DELETE", "/tag/datasource/523/Z", None),
        ("DELETE", "/tag/datasource/7/A.b%20c", None),
        ("DELETE", "/tag/datasource/7/Z", None),
    ]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            TagOperation("immuta", "add", ("T",), ["countrycode"], kinds="column"),
            "Immuta column id 'countrycode' is not valid: use <datasourceId>_<column>",
        ),
        (
            TagOperation("immuta", "add", ("T",), ["1", "x2"], kinds="datasource"),
            "Immuta datasource id 'x2' is not valid: use a number",
        ),
        (
            TagOperation("immuta", "add", ("T",), ["1"], kinds="table"),
            "unknown Immuta model type 'table'",
        ),
        (
            TagOperation("immuta", "add", ("A..B",), ["1"], kinds="project"),
            "Immuta tag 'A..B' has an empty or space-padded part",
        ),
        (
            TagOperation("immuta", "add", (".A",), ["1"], kinds="project"),
            "Immuta tag '.A' must not start or end with a dot or a space",
        ),
        (
            TagOperation("immuta", "add", ("A. B",), ["1"], kinds="project"),
            "Immuta tag 'A. B' has an empty or space-padded part",
        ),
        (TagOperation("immuta", "add", ("T",), ["1"]), "Immuta needs a model type"),
    ],
)
def test_bad_input_is_refused_before_sending(op: TagOperation, message: str) -> None:
    with pytest.raises(InputError) as err:
        plan(op)
    assert str(err.value).startswith(message)


def test_parent_tags_are_warned_about() -> None:
    catalog = ["Discovered.Country.Canada", "Discovered.Country", "Confidential"]
    op = TagOperation("immuta", "add", ("Discovered.Country",), ["1"], kinds="datasource")
    assert plan(op, catalog=catalog).warnings == (
        "'Discovered.Country' is a parent tag (e.g. of 'Discovered.Country.Canada'): "
        "Immuta ignores parent tags, so pick a leaf tag",
    )
    leaf = TagOperation("immuta", "add", ("Discovered.Country.Canada",), ["1"], kinds="project")
    assert plan(leaf, catalog=catalog).warnings == ()
    assert (
        "warning: 'Discovered.Country' is a parent tag" in describe(plan(op, catalog=catalog))[-1]
    )


def test_adding_a_tag_the_catalog_lacks_is_refused() -> None:
    op = TagOperation("immuta", "add", ("Nope.Tag",), ["1"], kinds="datasource")
    with pytest.raises(InputError, match="Immuta has no tag 'Nope.Tag': create it first"):
        plan(op, catalog=["Confidential"])


def test_message_of_an_error_becomes_the_reason() -> None:
    body = {"statusCode": 400, "error": "Bad Request", "message": "No tags were processed"}
    result = API.read(
        ApiRequest("POST", "/tag/datasource/1", [], ("1",)), httpx.Response(400, json=body)
    )
    assert result.reason == "HTTP 400: No tags were processed"


def test_add_then_remove_against_the_sandbox(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    ids = ["22", "6_countrycode", "2", "40"]
    kinds = ["datasource", "column", "project", "datasource"]
    op = TagOperation("immuta", "add", ("Discovered.Passport", "Confidential"), ids, kinds=kinds)
    result = push(plan(op, chunk_size=3, catalog=conn.check()), conn)
    assert (result.applied, result.not_found, result.failed) == (4, 0, 0)
    state = sandbox.state()["immuta"]
    both = ["Confidential", "Discovered.Passport"]
    assert {k: sorted(v) for k, v in state.items()} == {
        "datasource:22": both,
        "column:6_countrycode": both,
        "project:2": both,
        "datasource:40": both,
        "datasource:523": ["Discovered.Country.Canada"],
    }
    remove = TagOperation(
        "immuta",
        "remove",
        ("Confidential", "Discovered.Country.Canada"),
        ["22", "523", "2"],
        kinds=["datasource", "datasource", "project"],
    )
    assert push(plan(remove), conn).applied == 3
    assert {k: sorted(v) for k, v in sandbox.state()["immuta"].items()} == {
        "datasource:22": ["Discovered.Passport"],
        "column:6_countrycode": both,
        "project:2": ["Discovered.Passport"],
        "datasource:40": both,
    }


def test_a_missing_model_is_not_found_and_the_rest_applied(sandbox: Sandbox) -> None:
    op = TagOperation(
        "immuta",
        "add",
        ("Confidential",),
        ["22", "999999", "6_nosuch"],
        kinds=["datasource", "datasource", "column"],
    )
    result = push(plan(op), conn_to(sandbox))
    assert result.not_found_ids == ["999999", "6_nosuch"]
    assert (result.applied, result.failed) == (1, 0)
    assert sandbox.state()["immuta"]["datasource:22"] == ["Confidential"]


def test_an_unknown_tag_fails_every_model_with_the_api_message(sandbox: Sandbox) -> None:
    op = TagOperation(
        "immuta", "add", ("Confidential", "No.Such"), ["22", "23"], kinds="datasource"
    )
    result = push(plan(op), conn_to(sandbox))
    assert result.failed_ids == ["22", "23"]
    assert result.outcomes[0].reason == (
        'HTTP 400: No tags were processed: invalid tags ["No.Such"]'
    )
    assert "datasource:22" not in sandbox.state()["immuta"]


def test_state_read_back_drives_the_diff(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    op = TagOperation(
        "immuta", "remove", ("Discovered.Country.Canada",), ["22", "523", "524"], kinds="datasource"
    )
    known = read_state(conn, op)
    assert known is not None
    assert known.to_dict("records") == [
        {"id": "523", "tag": "Discovered.Country.Canada", "kind": "datasource"}
    ]
    p = plan(op, known=known)
    assert p.batches[0].ids == ("523",)
    assert push(p, conn).applied == 1
    assert "datasource:523" not in sandbox.state()["immuta"]
    assert read_state(conn, TagOperation("immuta", "add", ("X",), ["1"], kinds="project")) is None


def test_a_batch_with_its_own_tags_sends_only_those() -> None:
    op = TagOperation("immuta", "remove", ("A", "B"), ["7", "8"], kinds="datasource")
    known = pd.DataFrame({"id": ["7", "8", "8"], "tag": ["B", "A", "B"]})
    p = plan(op, known=known)
    sent = [(r.method, r.path) for b in p.batches for r in API.requests(p.operation, b)]
    assert sent == [
        ("DELETE", "/tag/datasource/7/B"),
        ("DELETE", "/tag/datasource/8/A"),
        ("DELETE", "/tag/datasource/8/B"),
    ]
    assert request_count(p) == 3
    add = plan(TagOperation("immuta", "add", ("A", "B"), ["7"], kinds="datasource"), known)
    assert [r.body for r in API.requests(add.operation, add.batches[0])] == [
        [{"name": "A", "source": "curated"}]
    ]


def test_create_tags_creates_the_hierarchy_then_a_push_applies_the_leaf(sandbox: Sandbox) -> None:
    conn = conn_to(sandbox)
    assert not API.creates_tags_on_push
    API.create_tags(conn.fetch, ["Team.Finance.Budget", "Team.Finance.Budget"])
    catalog = conn.check()
    assert {"Team", "Team.Finance", "Team.Finance.Budget"} <= set(catalog)
    op = TagOperation("immuta", "add", ("Team.Finance.Budget",), ["22"], kinds="datasource")
    assert push(plan(op, catalog=catalog), conn).applied == 1
    assert sandbox.state()["immuta"]["datasource:22"] == ["Team.Finance.Budget"]
    with pytest.raises(InputError, match="empty"):
        API.create_tags(conn.fetch, ["Team..X"])
