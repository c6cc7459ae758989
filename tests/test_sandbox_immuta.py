"""The sandbox's Immuta API: hierarchy, search, all-or-nothing adds, deletes, errors, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import KEYS, Sandbox

SEED_STATE = {"datasource:523": ["Discovered.Country.Canada"]}


def _call(
    sandbox: Sandbox, method: str, path: str, body: Any = None, **params: Any
) -> httpx.Response:
    return httpx.request(
        method,
        f"{sandbox.api('immuta')}{path}",
        json=body,
        params=params,
        headers={"Authorization": KEYS["immuta"]},
    )


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message"} and body["statusCode"] == status
    return str(body["message"])


def _names(sandbox: Sandbox, **params: Any) -> list[str]:
    response = _call(sandbox, "GET", "/tag", **params)
    assert response.status_code == 200, response.text
    return [t["name"] for t in response.json()]


def test_seed_tags_and_hierarchy(sandbox: Sandbox) -> None:
    assert _names(sandbox) == [
        "Confidential",
        "DataProperties",
        "DataProperties.Cross-Sectional",
        "Discovered",
        "Discovered.Country",
        "Discovered.Country.Argentina",
        "Discovered.Country.Australia",
        "Discovered.Country.Canada",
        "Discovered.Passport",
    ]
    assert sandbox.state()["immuta"] == SEED_STATE


def test_create_makes_parents_after_the_leaves(sandbox: Sandbox) -> None:
    created = _call(sandbox, "POST", "/tag", {"tags": [{"name": "A.B.c"}, {"name": "A.d"}]})
    assert [(t["id"], t["name"]) for t in created.json()] == [(129, "A.B.c"), (130, "A.d")]
    by_name = {t["name"]: t for t in _call(sandbox, "GET", "/tag", searchText="A").json()}
    assert by_name["A"]["id"] == 131 and by_name["A.B"]["id"] == 132
    assert by_name["A.B.c"]["displayName"] == "c" and by_name["A.B.c"]["systemCreated"] is False


def test_create_is_idempotent_and_revives_deleted_tags(sandbox: Sandbox) -> None:
    first = _call(sandbox, "POST", "/tag", {"tags": [{"name": "Team.Red"}]}).json()
    again = _call(sandbox, "POST", "/tag", {"tags": [{"name": "Team.Red"}]}).json()
    assert first[0]["id"] == again[0]["id"]
    _call(sandbox, "DELETE", "/tag/Team.Red")
    revived = _call(sandbox, "POST", "/tag", {"tags": [{"name": "Team.Red"}]}).json()
    assert revived[0]["id"] == first[0]["id"] and revived[0]["deleted"] is False


def test_root_tag_update_with_delete_hierarchy_replaces_children(sandbox: Sandbox) -> None:
    _call(sandbox, "POST", "/tag", {"tags": [{"name": "Address.email"}, {"name": "Address.work"}]})
    _call(sandbox, "POST", "/tag/datasource/22", [{"name": "Address.work"}])
    body = {
        "rootTag": {"name": "Address", "deleteHierarchy": True},
        "tags": [{"id": 129, "name": "Address.state"}, {"name": "Address.zip"}],
    }
    response = _call(sandbox, "POST", "/tag", body)
    assert response.status_code == 200
    assert [(t["id"], t["name"]) for t in response.json()] == [
        (129, "Address.state"),
        (132, "Address.zip"),
    ]
    assert _names(sandbox, searchText="address") == ["Address", "Address.state", "Address.zip"]
    # Address.work was deleted with the old hierarchy, and so was its assignment.
    assert sandbox.state()["immuta"] == SEED_STATE


def test_root_tag_errors(sandbox: Sandbox) -> None:
    outside = {"rootTag": {"name": "Discovered"}, "tags": [{"name": "Other.a"}]}
    message = _error(_call(sandbox, "POST", "/tag", outside), 400)
    assert message == 'Tag "Other.a" is not a child of "Discovered"'
    unknown_id = {"rootTag": {"name": "Discovered"}, "tags": [{"id": 999, "name": "Discovered.x"}]}
    assert _error(_call(sandbox, "POST", "/tag", unknown_id), 404) == "Tag with id 999 not found"
    assert "Other" not in _names(sandbox)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], '"value" must be an object'),
        ({}, '"tags" must be a non-empty array'),
        ({"tags": []}, '"tags" must be a non-empty array'),
        ({"tags": ["x"]}, '"tags[0]" must be an object'),
        ({"tags": [{"name": ""}]}, '"tags[0].name" must be a non-empty string'),
        ({"tags": [{"name": "a..b"}]}, '"tags[0].name" has an empty level in "a..b"'),
        ({"tags": [{"name": "a", "id": "1"}]}, '"tags[0].id" must be an integer'),
        ({"tags": [{"name": "a.b"}], "rootTag": "a"}, '"rootTag" must be an object'),
        (
            {"tags": [{"name": "a.b"}], "rootTag": {"name": "a", "source": "x"}},
            '"rootTag.source" must be [curated]',
        ),
        (
            {"tags": [{"name": "a.b"}], "rootTag": {"name": "a", "deleteHierarchy": "yes"}},
            '"rootTag.deleteHierarchy" must be a boolean',
        ),
    ],
)
def test_create_validation(sandbox: Sandbox, body: Any, message: str) -> None:
    assert _error(_call(sandbox, "POST", "/tag", body), 400) == message
    assert len(_names(sandbox)) == 9


def test_search_filters(sandbox: Sandbox) -> None:
    _call(sandbox, "POST", "/tag", {"tags": [{"name": "Mine.one"}]})
    assert _names(sandbox, searchText="country.a") == [
        "Discovered.Country.Argentina",
        "Discovered.Country.Australia",
    ]
    assert _names(sandbox, includeAllSystemTags="false") == ["Mine", "Mine.one"]
    assert len(_names(sandbox, source="curated")) == 11
    assert _names(sandbox, source="external") == []
    assert _names(sandbox, excludedSource="curated") == []
    assert _names(sandbox, limit=2) == ["Confidential", "DataProperties"]
    kept = _names(sandbox, excludedHierarchies=["Discovered.Country", "Mine"])
    assert kept == [
        "Confidential",
        "DataProperties",
        "DataProperties.Cross-Sectional",
        "Discovered",
        "Discovered.Passport",
    ]
    assert _names(sandbox, excludedHierarchies="Discovered,DataProperties,Mine") == ["Confidential"]
    assert _names(sandbox, excludedHierarchies='["Discovered"]', searchText="o") == [
        "Confidential",
        "DataProperties",
        "DataProperties.Cross-Sectional",
        "Mine.one",
    ]


def test_search_includes_deleted_system_tags_only_when_asked(sandbox: Sandbox) -> None:
    _call(sandbox, "DELETE", "/tag/Confidential")
    assert "Confidential" not in _names(sandbox)
    every = _call(sandbox, "GET", "/tag", includeAllSystemTags="true").json()
    [confidential] = [t for t in every if t["name"] == "Confidential"]
    assert confidential["deleted"] is True and confidential["systemCreated"] is True
    # A deleted tag of our own never shows.
    _call(sandbox, "POST", "/tag", {"tags": [{"name": "Mine"}]})
    _call(sandbox, "DELETE", "/tag/Mine")
    assert "Mine" not in _names(sandbox, includeAllSystemTags="true")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, '"limit" must be a positive integer'),
        ({"limit": "x"}, '"limit" must be a positive integer'),
        ({"includeAllSystemTags": "maybe"}, '"includeAllSystemTags" must be a boolean'),
        ({"excludedHierarchies": "[1]"}, '"excludedHierarchies" must be an array'),
    ],
)
def test_search_validation(sandbox: Sandbox, params: dict[str, str], message: str) -> None:
    assert _error(_call(sandbox, "GET", "/tag", **params), 400) == message


def test_add_to_every_model_type(sandbox: Sandbox) -> None:
    for path in ("/tag/datasource/1", "/tag/column/6_countrycode", "/tag/project/10"):
        response = _call(sandbox, "POST", path, [{"name": "Confidential"}])
        assert response.status_code == 200
        assert response.json() == [
            {
                "name": "Confidential",
                "source": "curated",
                "context": "manual",
                "addedBy": 2,
                "deleted": False,
            }
        ]
    assert sandbox.state()["immuta"] == SEED_STATE | {
        "column:6_countrycode": ["Confidential"],
        "datasource:1": ["Confidential"],
        "project:10": ["Confidential"],
    }


def test_add_is_all_or_nothing(sandbox: Sandbox) -> None:
    _call(sandbox, "DELETE", "/tag/Discovered.Passport")
    body = [{"name": "Confidential"}, {"name": "No.Such"}, {"name": "Discovered.Passport"}]
    message = _error(_call(sandbox, "POST", "/tag/datasource/22", body), 400)
    assert message == 'No tags were processed: invalid tags ["No.Such", "Discovered.Passport"]'
    assert sandbox.state()["immuta"] == SEED_STATE


def test_add_of_a_parent_tag_is_silently_ignored(sandbox: Sandbox) -> None:
    body = [{"name": "Discovered.Country"}, {"name": "Discovered.Country.Argentina"}]
    response = _call(sandbox, "POST", "/tag/datasource/22", body)
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["Discovered.Country.Argentina"]
    assert sandbox.state()["immuta"]["datasource:22"] == ["Discovered.Country.Argentina"]


def test_add_is_idempotent(sandbox: Sandbox) -> None:
    for _ in range(2):
        response = _call(sandbox, "POST", "/tag/datasource/22", [{"name": "Confidential"}])
        assert response.status_code == 200
    assert sandbox.state()["immuta"]["datasource:22"] == ["Confidential"]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/tag/table/1", 400, '"modelType" must be one of [datasource, column, project]'),
        ("/tag/datasource/601", 404, "Data source 601 not found"),
        ("/tag/datasource/abc", 404, "Data source abc not found"),
        ("/tag/project/11", 404, "Project 11 not found"),
        ("/tag/column/6_nosuchcolumn", 404, "Column 6_nosuchcolumn not found"),
        ("/tag/column/6", 404, "Column 6 not found"),
        ("/tag/column/9999_countrycode", 404, "Column 9999_countrycode not found"),
    ],
)
def test_add_to_a_model_that_does_not_exist(
    sandbox: Sandbox, path: str, status: int, message: str
) -> None:
    assert _error(_call(sandbox, "POST", path, [{"name": "Confidential"}]), status) == message
    assert _error(_call(sandbox, "DELETE", f"{path}/Confidential"), status) == message
    assert sandbox.state()["immuta"] == SEED_STATE


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "Confidential"}, '"value" must be an array'),
        (["Confidential"], '"[0]" must be an object'),
        ([{"source": "curated"}], '"[0].name" must be a non-empty string'),
    ],
)
def test_add_payload_validation(sandbox: Sandbox, body: Any, message: str) -> None:
    assert _error(_call(sandbox, "POST", "/tag/datasource/22", body), 400) == message


def test_malformed_json_is_400(sandbox: Sandbox) -> None:
    response = httpx.post(
        f"{sandbox.api('immuta')}/tag/datasource/22",
        content=b"[{",
        headers={"Authorization": KEYS["immuta"]},
    )
    assert _error(response, 400) == "Invalid request payload JSON format"


def test_remove_from_a_model(sandbox: Sandbox) -> None:
    removed = _call(sandbox, "DELETE", "/tag/datasource/523/Discovered.Country.Canada")
    assert removed.status_code == 200
    assert [t["name"] for t in removed.json()] == ["Discovered.Country.Canada"]
    again = _call(sandbox, "DELETE", "/tag/datasource/523/Discovered.Country.Canada")
    assert again.status_code == 200 and again.json() == []  # idempotent: nothing to remove
    assert sandbox.state()["immuta"] == {}
    missing = _call(sandbox, "DELETE", "/tag/datasource/523/No.Such")
    assert _error(missing, 404) == 'Tag "No.Such" not found'


def test_delete_tag_needs_delete_hierarchy_for_a_parent(sandbox: Sandbox) -> None:
    message = _error(_call(sandbox, "DELETE", "/tag/Discovered.Country"), 400)
    assert message == 'Tag "Discovered.Country" has child tags; pass deleteHierarchy=true'
    response = _call(sandbox, "DELETE", "/tag/Discovered.Country", deleteHierarchy="true")
    assert response.status_code == 200
    assert sorted(t["name"] for t in response.json()) == [
        "Discovered.Country",
        "Discovered.Country.Argentina",
        "Discovered.Country.Australia",
        "Discovered.Country.Canada",
    ]
    assert all(t["deleted"] for t in response.json())
    assert sandbox.state()["immuta"] == {}  # Canada's assignment went with it
    assert _error(_call(sandbox, "DELETE", "/tag/Discovered.Country"), 404)
    # Discovered is now a leaf? No: Discovered.Passport is still under it.
    response = _call(sandbox, "POST", "/tag/datasource/22", [{"name": "Discovered"}])
    assert response.json() == [] and "datasource:22" not in sandbox.state()["immuta"]


def test_delete_tag_validation(sandbox: Sandbox) -> None:
    response = _call(sandbox, "DELETE", "/tag/Confidential", deleteHierarchy="perhaps")
    assert _error(response, 400) == '"deleteHierarchy" must be a boolean'
    assert _error(_call(sandbox, "DELETE", "/tag/No.Such"), 404) == 'Tag "No.Such" not found'


def test_datasource_tags(sandbox: Sandbox) -> None:
    _call(sandbox, "POST", "/tag/datasource/22", [{"name": "Confidential"}])
    _call(sandbox, "POST", "/tag/column/22_" + _a_column(sandbox, 22), [{"name": "Confidential"}])
    response = _call(sandbox, "GET", "/dataSource/22/tags")
    assert response.status_code == 200
    assert response.json() == [
        {"name": "Confidential", "source": "curated", "addedBy": 2, "deleted": False}
    ]
    assert _call(sandbox, "GET", "/dataSource/7/tags").json() == []
    assert _error(_call(sandbox, "GET", "/dataSource/999/tags"), 404) == "Data source 999 not found"


def _a_column(sandbox: Sandbox, datasource: int) -> str:
    sources = sandbox.world()["immuta"]["datasources"]
    return str(next(d for d in sources if d["id"] == datasource)["columns"][0])


def test_column_names_with_underscores(sandbox: Sandbox) -> None:
    sources = sandbox.world()["immuta"]["datasources"]
    ds = next(d for d in sources if "created_at" in d["columns"])
    path = f"/tag/column/{ds['id']}_created_at"
    assert _call(sandbox, "POST", path, [{"name": "Confidential"}]).status_code == 200
    assert sandbox.state()["immuta"][f"column:{ds['id']}_created_at"] == ["Confidential"]


def test_unknown_path_is_404_in_immuta_style(sandbox: Sandbox) -> None:
    assert _error(_call(sandbox, "GET", "/nothing/here"), 404) == "Not Found"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing authentication"),
        ({"Authorization": "wrong"}, "Invalid token"),
        ({"Authorization": "Bearer wrong"}, "Invalid token"),
        ({"x-api-key": KEYS["immuta"]}, "Missing authentication"),
    ],
)
def test_requests_without_a_valid_key_are_401(
    sandbox: Sandbox, headers: dict[str, str], message: str
) -> None:
    base = sandbox.api("immuta")
    calls = [
        httpx.get(f"{base}/tag", headers=headers),
        httpx.post(f"{base}/tag/datasource/22", json=[{"name": "Confidential"}], headers=headers),
        httpx.delete(f"{base}/tag/datasource/523/Discovered.Country.Canada", headers=headers),
        httpx.delete(f"{base}/tag/Confidential", headers=headers),
    ]
    for response in calls:
        assert _error(response, 401) == message
    assert sandbox.state()["immuta"] == SEED_STATE


@pytest.mark.parametrize("scheme", ["", "Bearer "])
def test_key_with_or_without_bearer(sandbox: Sandbox, scheme: str) -> None:
    response = httpx.get(
        f"{sandbox.api('immuta')}/tag", headers={"Authorization": f"{scheme}{KEYS['immuta']}"}
    )
    assert response.status_code == 200


def test_update_by_id_renames_and_keeps_assignments(sandbox: Sandbox) -> None:
    # A tag of ours: the seeded ones are protected (test_sandbox_immuta_clients).
    [made] = _call(sandbox, "POST", "/tag", {"tags": [{"name": "Internal"}]}).json()
    mine = made["id"]
    _call(sandbox, "POST", "/tag/project/1", [{"name": "Internal"}])
    renamed = _call(sandbox, "POST", "/tag", {"tags": [{"id": mine, "name": "Secret"}]})
    assert renamed.status_code == 200
    assert [(t["id"], t["name"]) for t in renamed.json()] == [(mine, "Secret")]
    assert sandbox.state()["immuta"]["project:1"] == ["Secret"]
    clash = _call(sandbox, "POST", "/tag", {"tags": [{"id": mine, "name": "Discovered.Passport"}]})
    assert _error(clash, 409) == 'Tag "Discovered.Passport" already exists'
    missing = _call(sandbox, "POST", "/tag", {"tags": [{"id": 4242, "name": "X"}]})
    assert _error(missing, 404) == "Tag with id 4242 not found"
    assert "X" not in _names(sandbox)


_HOT_CALLS: list[tuple[str, bytes, dict[str, str]]] = [
    ("/tag/datasource/1", b'[{"name": "Confidential", "source": "curated"}]', {}),
    ("/tag/datasource/1", b'[{"name": "Confidential"}]', {}),  # again: idempotent
    ("/tag/column/6_countrycode", b'[{"name": "Confidential"}]', {}),
    ("/tag/datasource/1", b'[{"name": "Discovered.Country"}]', {}),  # a parent: ignored
    ("/tag/datasource/1", b'[{"name": "No.Such.Tag"}]', {}),
    ("/tag/datasource/999999", b'[{"name": "Confidential"}]', {}),
    ("/tag/table/1", b'[{"name": "Confidential"}]', {}),
    ("/tag/datasource/1", b"not json", {}),
    ("/tag/datasource/1", b'{"name": "Confidential"}', {}),
    ("/tag/datasource/1", b'[{"name": "Confidential"}]', {"Authorization": "wrong"}),
    ("/tag/datasource/1/", b'[{"name": "Confidential"}]', {}),
    ("/tag/datasource/1%2F2", b'[{"name": "Confidential"}]', {}),
]


def test_hot_path_answers_exactly_as_the_full_app() -> None:
    """`POST /tag/{type}/{id}` is answered in front of FastAPI's routing (immuta_hot): every
    answer, success or error, and the state it leaves, match the routed app's."""
    import asyncio

    from tagging.sandbox.app import SandboxConfig, create_app

    async def run(prefix: str, app: Any) -> tuple[list[tuple[int, str, bytes]], Any]:
        transport = httpx.ASGITransport(app=app)
        answers = []
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            for path, body, headers in _HOT_CALLS:
                sent = {"Authorization": KEYS["immuta"], **headers}
                r = await client.post(prefix + path, content=body, headers=sent)
                answers.append((r.status_code, r.headers.get("content-type", ""), r.content))
            state = (await client.get("/_sandbox/state")).json() if prefix else None
        return answers, state

    hot = create_app(SandboxConfig())
    hot_answers, hot_state = asyncio.run(run("/immuta", hot))
    full = create_app(SandboxConfig())
    routed = full.state.providers["immuta"]  # the Immuta app alone: no hot path in front
    full_answers, _ = asyncio.run(run("", routed))
    assert hot_answers == full_answers
    statuses = [a[0] for a in hot_answers]
    assert statuses == [200, 200, 200, 200, 400, 404, 400, 400, 400, 401, 307, 405]
    assert full.state.store.state() == hot_state
    assert hot_state["immuta"]["datasource:1"] == ["Confidential"]
