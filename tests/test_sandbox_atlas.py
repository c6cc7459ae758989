"""The sandbox's Atlas API: tagging by id, listing tags, validation, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import KEYS, Sandbox

PROJECTION = "52fcac24-9ab0-4545-8065-0d2fe8350d09"
UPDATE = "/v1/query/update/tag/ids"
LIST = "/v1/project/projection/tags/get/all"


def _client(sandbox: Sandbox, key: str | None = KEYS["atlas"]) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=sandbox.api("atlas"), headers=headers, timeout=30)


def _update(sandbox: Sandbox, **body: Any) -> httpx.Response:
    payload = {"projection_id": PROJECTION, "tag_name": "T", "operation": "add"} | body
    with _client(sandbox) as client:
        return client.post(UPDATE, json=payload)


def test_add_counts_only_ids_that_exist(sandbox: Sandbox) -> None:
    # The demo projection has 10,000 points: "0".."9999", canonical decimal strings only.
    ids = ["0", "5", "5", "9999", "10000", "007", "-1", "1.0", " 3", "abc", "", "٣"]
    response = _update(sandbox, ids=ids)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["points_tagged"] == 3
    assert sandbox.state()["atlas"] == {PROJECTION: {"T": ["0", "5", "9999"]}}


def test_add_is_idempotent_and_tag_id_stable(sandbox: Sandbox) -> None:
    first = _update(sandbox, ids=["1", "2"]).json()
    again = _update(sandbox, ids=["2", "3"]).json()
    assert first["tag_id"] == again["tag_id"]
    assert again["points_tagged"] == 2
    assert sandbox.state()["atlas"][PROJECTION]["T"] == ["1", "2", "3"]


def test_remove_counts_only_ids_that_carried_the_tag(sandbox: Sandbox) -> None:
    _update(sandbox, ids=["1", "2", "3"])
    # "4" exists but is not tagged, "123456" does not exist: neither counts.
    response = _update(sandbox, ids=["2", "4", "123456"], operation="remove")
    assert response.status_code == 200
    assert response.json()["points_tagged"] == 1
    assert sandbox.state()["atlas"][PROJECTION]["T"] == ["1", "3"]
    again = _update(sandbox, ids=["2"], operation="remove")
    assert again.json() == {
        "success": True,
        "tag_id": response.json()["tag_id"],
        "points_tagged": 0,
    }


def test_remove_of_a_tag_never_created_is_404_and_creates_nothing(sandbox: Sandbox) -> None:
    response = _update(sandbox, tag_name="never", ids=["1"], operation="remove")
    assert response.status_code == 404
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "tag_name"] and error["type"] == "not_found"
    with _client(sandbox) as client:
        assert client.get(LIST, params={"projection_id": PROJECTION}).json() == []


@pytest.mark.parametrize("operation", ["add", "remove"])
def test_empty_ids_are_rejected_and_create_no_tag(sandbox: Sandbox, operation: str) -> None:
    assert _errors(_update(sandbox, ids=[], operation=operation)) == [
        (("body", "ids"), "too_short")
    ]
    with _client(sandbox) as client:
        assert client.get(LIST, params={"projection_id": PROJECTION}).json() == []


def test_tag_names_are_at_most_255_characters(sandbox: Sandbox) -> None:
    assert _update(sandbox, tag_name="x" * 255, ids=["1"]).status_code == 200
    too_long = _update(sandbox, tag_name="x" * 256, ids=["1"])
    assert _errors(too_long) == [(("body", "tag_name"), "string_too_long")]


def test_state_sorts_ids_numerically(sandbox: Sandbox) -> None:
    _update(sandbox, ids=["10", "9", "100", "2"])
    assert sandbox.state()["atlas"][PROJECTION]["T"] == ["2", "9", "10", "100"]


@pytest.mark.parametrize("field", ["id", "my_unique_id_field"])
def test_id_field_accepts_known_fields(sandbox: Sandbox, field: str) -> None:
    response = _update(sandbox, ids=["1"], id_field=field)
    assert response.status_code == 200 and response.json()["points_tagged"] == 1


def test_list_tags_returns_every_tag_of_the_projection(sandbox: Sandbox) -> None:
    a = _update(sandbox, tag_name="b-tag", ids=["1", "2"]).json()
    b = _update(sandbox, tag_name="a-tag", ids=["3"]).json()
    with _client(sandbox) as client:
        response = client.get(LIST, params={"projection_id": PROJECTION})
    assert response.status_code == 200
    tags = response.json()
    assert [(t["tag_id"], t["tag_name"]) for t in tags] == [
        (b["tag_id"], "a-tag"),
        (a["tag_id"], "b-tag"),
    ]


def test_unknown_projection_is_404_in_atlas_style(sandbox: Sandbox) -> None:
    other = "00000000-0000-0000-0000-000000000000"
    response = _update(sandbox, projection_id=other, ids=["1"])
    assert response.status_code == 404
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "projection_id"],
                "msg": f"Projection {other} not found",
                "type": "not_found",
            }
        ]
    }
    with _client(sandbox) as client:
        listed = client.get(LIST, params={"projection_id": other})
    assert listed.status_code == 404
    assert listed.json()["detail"][0]["loc"] == ["query", "projection_id"]
    assert sandbox.state()["atlas"] == {}


def _errors(response: httpx.Response) -> list[tuple[tuple[Any, ...], str]]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert all({"loc", "msg", "type"} <= set(d) for d in detail)
    return [(tuple(d["loc"]), d["type"]) for d in detail]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"operation": "tag"}, [(("body", "operation"), "literal_error")]),
        ({"id_field": "paper_id"}, [(("body", "id_field"), "value_error")]),
        ({"tag_name": ""}, [(("body", "tag_name"), "string_too_short")]),
        (
            {"ids": [1, 2]},
            [(("body", "ids", 0), "string_type"), (("body", "ids", 1), "string_type")],
        ),
        ({"ids": "1,2"}, [(("body", "ids"), "list_type")]),
        ({"ids": None}, [(("body", "ids"), "list_type")]),
    ],
)
def test_validation_errors_are_422_detail_lists(
    sandbox: Sandbox, body: dict[str, Any], errors: list[Any]
) -> None:
    payload = {"ids": ["1"]} | body
    assert _errors(_update(sandbox, **payload)) == errors
    assert sandbox.state()["atlas"] == {}


def test_missing_fields_are_each_reported(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        response = client.post(UPDATE, json={})
    assert sorted(_errors(response)) == [
        (("body", name), "missing") for name in ("ids", "operation", "projection_id", "tag_name")
    ]
    with _client(sandbox) as client:
        response = client.get(LIST)
    assert _errors(response) == [(("query", "projection_id"), "missing")]


def test_id_field_error_names_the_allowed_fields(sandbox: Sandbox) -> None:
    response = _update(sandbox, ids=["1"], id_field="paper_id")
    [error] = response.json()["detail"]
    assert "id, my_unique_id_field" in error["msg"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": KEYS["atlas"]},  # Atlas wants the Bearer scheme
        {"x-api-key": KEYS["atlas"]},
    ],
)
def test_requests_without_a_valid_key_are_401(sandbox: Sandbox, headers: dict[str, str]) -> None:
    url = sandbox.api("atlas")
    body = {"projection_id": PROJECTION, "tag_name": "T", "ids": ["1"], "operation": "add"}
    response = httpx.post(f"{url}{UPDATE}", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    listed = httpx.get(f"{url}{LIST}", params={"projection_id": PROJECTION}, headers=headers)
    assert listed.status_code == 401
    assert sandbox.state()["atlas"] == {}
