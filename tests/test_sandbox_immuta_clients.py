"""The sandbox's Immuta routes for clients such as fh-immuta-utils: sign-in, data sources,
data dictionaries, new root tags and protected system tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import KEYS, Sandbox


def _call(
    sandbox: Sandbox,
    method: str,
    path: str,
    body: Any = None,
    auth: str | None = KEYS["immuta"],
    **params: Any,
) -> httpx.Response:
    headers = {"Authorization": auth} if auth else {}
    return httpx.request(
        method, f"{sandbox.api('immuta')}{path}", json=body, params=params, headers=headers
    )


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message"} and body["statusCode"] == status
    return str(body["message"])


def test_api_key_exchange_gives_a_token_the_routes_accept(sandbox: Sandbox) -> None:
    login = _call(sandbox, "POST", "/bim/apikey/authenticate", {"apikey": KEYS["immuta"]}, None)
    token = login.json()["token"]
    assert token != KEYS["immuta"]
    user = _call(sandbox, "GET", "/bim/rpc/user/current", auth=f"Bearer {token}")
    assert user.status_code == 200 and user.json()["id"] == 2
    bad = _call(sandbox, "POST", "/bim/apikey/authenticate", {"apikey": "wrong"}, None)
    assert _error(bad, 401) == "Invalid API key"
    missing = _call(sandbox, "POST", "/bim/apikey/authenticate", {}, None)
    assert _error(missing, 401) == "Missing API key"
    assert _call(sandbox, "GET", "/tag", auth="Bearer not-a-token").status_code == 401


def test_data_sources_page_by_size_and_offset(sandbox: Sandbox) -> None:
    first = _call(sandbox, "GET", "/dataSource", size=2, offset=0, searchText="TABLE_00").json()
    assert first["count"] == 99 and [d["id"] for d in first["hits"]] == [1, 2]
    last = _call(sandbox, "GET", "/dataSource", size=50, offset=90, searchText="table_00")
    assert [d["id"] for d in last.json()["hits"]] == list(range(91, 100))
    schema = _call(sandbox, "GET", "/dataSource", schema="finance", size=1000).json()
    assert schema["count"] == 100 and all(d["schemaName"] == "finance" for d in schema["hits"])
    one = _call(sandbox, "GET", "/dataSource/6").json()
    assert one == _call(sandbox, "GET", f"/dataSource/name/{one['name']}").json()
    assert {"id", "name", "blobHandlerType", "connectionString"} <= set(one)
    assert _error(_call(sandbox, "GET", "/dataSource/601"), 404) == "Data source 601 not found"
    assert _error(_call(sandbox, "GET", "/dataSource", size=0), 400)
    assert _error(_call(sandbox, "GET", "/dataSource", offset=-1), 400)


def test_dictionary_column_tags_are_the_column_models_tags(sandbox: Sandbox) -> None:
    added = _call(sandbox, "POST", "/tag/column/6_countrycode", [{"name": "Confidential"}])
    assert added.status_code == 200
    dictionary = _call(sandbox, "GET", "/dictionary/6").json()
    columns = {c["name"]: c for c in dictionary["metadata"]}
    assert dictionary["dataSource"] == 6 and "countrycode" in columns
    assert [t["name"] for t in columns["countrycode"]["tags"]] == ["Confidential"]

    columns["countrycode"]["tags"] = [
        {"name": "Discovered.Passport", "source": "curated", "deleted": "False"},
        {"name": "Confidential", "source": "curated", "deleted": True},  # dropped
    ]
    columns["zip"]["tags"] = [{"name": "Confidential"}]
    del columns["id"]["tags"]  # a column without `tags` keeps its tags
    put = _call(sandbox, "PUT", "/dictionary/6", dictionary)
    assert put.status_code == 200, put.text
    assert sandbox.state()["immuta"] == {
        "column:6_countrycode": ["Discovered.Passport"],
        "column:6_zip": ["Confidential"],
        "datasource:523": ["Discovered.Country.Canada"],
    }
    assert put.json() == _call(sandbox, "GET", "/dictionary/6").json()


def test_dictionary_put_is_all_or_nothing(sandbox: Sandbox) -> None:
    body = {"metadata": [{"name": "zip", "tags": [{"name": "Confidential"}, {"name": "No"}]}]}
    message = _error(_call(sandbox, "PUT", "/dictionary/6", body), 400)
    assert message == 'No tags were processed: invalid tags ["No"]'
    wrong_column = {"metadata": [{"name": "nope", "tags": []}]}
    assert _error(_call(sandbox, "PUT", "/dictionary/6", wrong_column), 400)
    assert _error(_call(sandbox, "PUT", "/dictionary/6", [1]), 400)
    assert _error(_call(sandbox, "GET", "/dictionary/9999"), 404)
    assert "column:6_zip" not in sandbox.state()["immuta"]


def test_root_tag_that_does_not_exist_is_created_with_its_children(sandbox: Sandbox) -> None:
    body = {
        "rootTag": {"name": "PHI", "deleteHierarchy": False},
        "tags": [{"name": "PHI"}, {"name": "PHI.Name"}, {"name": "PHI.Dob"}],
    }
    created = _call(sandbox, "POST", "/tag", body)
    assert created.status_code == 200, created.text
    assert [t["name"] for t in created.json()] == ["PHI", "PHI.Name", "PHI.Dob"]
    names = [t["name"] for t in _call(sandbox, "GET", "/tag", searchText="phi").json()]
    assert names == ["PHI", "PHI.Dob", "PHI.Name"]


def test_system_tags_are_protected_and_cannot_be_updated(sandbox: Sandbox) -> None:
    seeded = _call(sandbox, "GET", "/tag", searchText="Passport").json()
    assert [(t["name"], t["protected"], t["systemCreated"]) for t in seeded] == [
        ("Discovered.Passport", True, True)
    ]
    rename = {"tags": [{"id": seeded[0]["id"], "name": "Discovered.Visa"}]}
    message = _error(_call(sandbox, "POST", "/tag", rename), 403)
    assert message == 'Tag "Discovered.Passport" is protected and cannot be updated'
    under = {"rootTag": {"name": "Discovered"}, "tags": [{"name": "Discovered.New"}]}
    assert _error(_call(sandbox, "POST", "/tag", under), 403)
    mine = _call(sandbox, "POST", "/tag", {"tags": [{"name": "Mine"}]}).json()
    assert mine[0]["protected"] is False
    assert _call(sandbox, "GET", "/tag", searchText="visa").json() == []


@pytest.mark.parametrize("length", [256, 1000])
def test_tag_names_are_at_most_255_characters(sandbox: Sandbox, length: int) -> None:
    message = _error(_call(sandbox, "POST", "/tag", {"tags": [{"name": "x" * length}]}), 400)
    assert "255" in message
    assert _call(sandbox, "POST", "/tag", {"tags": [{"name": "x" * 255}]}).status_code == 200
