"""The sandbox's Nekt API: attach, detach, list, DRF-style validation, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import KEYS, Sandbox

ATTACH = "/api/v1/tags/attach/"
DETACH = "/api/v1/tags/detach/"
LIST = "/api/v1/tags/"
TYPES = (
    "sources",
    "transformations",
    "destinations",
    "visualizations",
    "layers",
    "folders",
    "tables",
    "volumes",
)


def _post(sandbox: Sandbox, path: str, body: Any) -> httpx.Response:
    return httpx.post(
        f"{sandbox.api('nekt')}{path}", json=body, headers={"x-api-key": KEYS["nekt"]}
    )


def _get(sandbox: Sandbox, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{sandbox.api('nekt')}{path}", params=params, headers={"x-api-key": KEYS["nekt"]}
    )


def _first(sandbox: Sandbox, rtype: str, n: int = 0) -> str:
    return str(sandbox.world()["nekt"][rtype][n]["id"])


def test_attach_to_every_resource_type(sandbox: Sandbox) -> None:
    body: dict[str, Any] = {"names": ["pii"]} | {t: [_first(sandbox, t)] for t in TYPES}
    response = _post(sandbox, ATTACH, body)
    assert response.status_code == 200
    assert sandbox.state()["nekt"] == {_first(sandbox, t): ["pii"] for t in TYPES}


def test_attach_creates_missing_names_once_and_reuses_existing(sandbox: Sandbox) -> None:
    source = _first(sandbox, "sources")
    first = _post(sandbox, ATTACH, {"names": ["a", "a", "b"], "sources": [source, source]})
    assert [t["name"] for t in first.json()] == ["a", "b"]
    second = _post(sandbox, ATTACH, {"names": ["b", "c"], "sources": [source]})
    assert second.json()[0] == first.json()[1]  # same object, not a new tag
    assert _get(sandbox, LIST).json()["count"] == 3
    assert sandbox.state()["nekt"] == {source: ["a", "b", "c"]}


def test_names_are_trimmed_as_drf_does(sandbox: Sandbox) -> None:
    source = _first(sandbox, "sources")
    attached = _post(sandbox, ATTACH, {"names": [" pii ", "pii", "\tb\n"], "sources": [source]})
    assert [t["name"] for t in attached.json()] == ["pii", "b"]
    padded = "  " + "x" * 255 + "  "  # 255 characters once trimmed
    assert _post(sandbox, ATTACH, {"names": [padded], "sources": [source]}).status_code == 200
    detached = _post(sandbox, DETACH, {"names": ["  pii"], "sources": [source]})
    assert [t["name"] for t in detached.json()] == ["pii"]
    assert sandbox.state()["nekt"] == {source: sorted(["b", "x" * 255])}


def test_uuids_are_accepted_in_any_case(sandbox: Sandbox) -> None:
    source = _first(sandbox, "sources")
    response = _post(sandbox, ATTACH, {"names": ["x"], "sources": [source.upper()]})
    assert response.status_code == 200
    assert sandbox.state()["nekt"] == {source: ["x"]}


def test_detach_skips_unknown_names_and_returns_the_known_ones(sandbox: Sandbox) -> None:
    source, table = _first(sandbox, "sources"), _first(sandbox, "tables")
    _post(sandbox, ATTACH, {"names": ["keep", "drop"], "sources": [source], "tables": [table]})
    response = _post(sandbox, DETACH, {"names": ["drop", "never-existed"], "sources": [source]})
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["drop"]
    assert sandbox.state()["nekt"] == {source: ["keep"], table: ["drop", "keep"]}
    # Detaching what is not attached is fine, and changes nothing.
    again = _post(sandbox, DETACH, {"names": ["drop"], "sources": [source]})
    assert again.status_code == 200 and [t["name"] for t in again.json()] == ["drop"]
    assert _get(sandbox, LIST).json()["count"] == 2  # detach never deletes tags


def test_list_pages_by_100(sandbox: Sandbox) -> None:
    names = [f"tag-{i:03d}" for i in range(150)]
    assert _post(
        sandbox, ATTACH, {"names": names, "layers": [_first(sandbox, "layers")]}
    ).is_success
    page1 = _get(sandbox, LIST).json()
    assert page1["count"] == 150 and page1["previous"] is None
    assert [t["name"] for t in page1["results"]] == names[:100]
    assert set(page1["results"][0]) == {"id", "name", "created_at", "updated_at"}
    assert page1["next"] == f"{sandbox.api('nekt')}{LIST}?page=2"
    page2 = httpx.get(page1["next"], headers={"x-api-key": KEYS["nekt"]}).json()
    assert [t["name"] for t in page2["results"]] == names[100:]
    assert page2["next"] is None
    assert page2["previous"] == f"{sandbox.api('nekt')}{LIST}?page=1"
    for bad in ("3", "0", "x"):
        response = _get(sandbox, LIST, page=bad)
        assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}


def test_list_of_an_empty_organisation(sandbox: Sandbox) -> None:
    assert _get(sandbox, LIST).json() == {"count": 0, "next": None, "previous": None, "results": []}


LONG = "x" * 256
GOOD = "11111111-2222-3333-4444-555555555555"  # a valid UUID that is no resource


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"sources": ["S"]}, {"names": ["This field is required."]}),
        ({"names": None, "sources": ["S"]}, {"names": ["This field may not be null."]}),
        ({"names": [], "sources": ["S"]}, {"names": ["This list may not be empty."]}),
        (
            {"names": "pii", "sources": ["S"]},
            {"names": ['Expected a list of items but got type "str".']},
        ),
        ({"names": [""], "sources": ["S"]}, {"names": ["Item 0: This field may not be blank."]}),
        ({"names": ["ok", 5], "sources": ["S"]}, {"names": ["Item 1: Not a valid string."]}),
        (
            {"names": [LONG], "sources": ["S"]},
            {"names": ["Item 0: Ensure this field has no more than 255 characters."]},
        ),
        (
            {"names": ["a"], "sources": ["nope", 7]},
            {"sources": ['"nope" is not a valid UUID.', '"7" is not a valid UUID.']},
        ),
        (
            {"names": ["a"], "tables": "S"},
            {"tables": ['Expected a list of items but got type "str".']},
        ),
        (
            {"names": [], "volumes": ["bad"]},
            {"names": ["This list may not be empty."], "volumes": ['"bad" is not a valid UUID.']},
        ),
        (
            {"names": ["a"]},
            {"non_field_errors": ["At least one resource list must contain at least one ID."]},
        ),
        (
            {"names": ["a"], "sources": [], "tables": None},
            {"non_field_errors": ["At least one resource list must contain at least one ID."]},
        ),
        (
            {"names": ["a"], "sources": ["S", GOOD]},
            {"sources": [f'Invalid pk "{GOOD}" - object does not exist.']},
        ),
        (
            # A real id under the wrong type is not found there.
            {"names": ["a"], "tables": ["S"]},
            {"tables": ['Invalid pk "S" - object does not exist.']},
        ),
        (
            ["a"],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ],
)
@pytest.mark.parametrize("path", [ATTACH, DETACH])
def test_validation_errors_are_400_by_field(
    sandbox: Sandbox, path: str, body: Any, errors: dict[str, list[str]]
) -> None:
    source = _first(sandbox, "sources")

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [source if v == "S" else v for v in value]
        return source if value == "S" else value

    body = {k: fill(v) for k, v in body.items()} if isinstance(body, dict) else body
    expected = {k: [m.replace('"S"', f'"{source}"') for m in v] for k, v in errors.items()}
    response = _post(sandbox, path, body)
    assert response.status_code == 400
    assert response.json() == expected
    assert sandbox.state()["nekt"] == {}
    assert _get(sandbox, LIST).json()["count"] == 0


def test_malformed_json_is_a_400_parse_error(sandbox: Sandbox) -> None:
    response = httpx.post(
        f"{sandbox.api('nekt')}{ATTACH}",
        content=b"{not json",
        headers={"x-api-key": KEYS["nekt"], "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"x-api-key": "wrong"}, "Invalid API key."),
        (
            {"Authorization": f"Bearer {KEYS['nekt']}"},
            "Authentication credentials were not provided.",
        ),
    ],
)
def test_requests_without_a_valid_key_are_401(
    sandbox: Sandbox, headers: dict[str, str], detail: str
) -> None:
    body = {"names": ["a"], "sources": [_first(sandbox, "sources")]}
    for path in (ATTACH, DETACH):
        response = httpx.post(f"{sandbox.api('nekt')}{path}", json=body, headers=headers)
        assert response.status_code == 401 and response.json() == {"detail": detail}
    listed = httpx.get(f"{sandbox.api('nekt')}{LIST}", headers=headers)
    assert listed.status_code == 401
    assert sandbox.state()["nekt"] == {}
