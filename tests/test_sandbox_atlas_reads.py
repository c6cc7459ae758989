"""The sandbox's Atlas reads for the nomic client: user, organization, dataset, tiles."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pyarrow as pa
import pytest
from conftest import KEYS, Sandbox
from pyarrow import feather

from tagging.demo import ATLAS_DATASET_ID, ATLAS_PROJECTION_ID
from tagging.sandbox.atlas_tiles import TILE_CAPACITY, tile_layout

LIST = "/v1/project/projection/tags/get/all"
QUADTREE = f"/v1/project/{ATLAS_DATASET_ID}/index/projection/{ATLAS_PROJECTION_ID}/quadtree"


def _client(sandbox: Sandbox) -> httpx.Client:
    headers = {"Authorization": f"Bearer {KEYS['atlas']}"}
    return httpx.Client(base_url=sandbox.api("atlas"), headers=headers, timeout=30)


def _update(sandbox: Sandbox, tag: str, ids: list[str], operation: str = "add") -> None:
    body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": tag, "ids": ids}
    with _client(sandbox) as client:
        response = client.post("/v1/query/update/tag/ids", json=body | {"operation": operation})
    assert response.status_code == 200, response.text


def _tags(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    with _client(sandbox) as client:
        listed = client.get(LIST, params={"projection_id": ATLAS_PROJECTION_ID}).json()
    return {t["tag_name"]: t for t in listed}


def _table(sandbox: Sandbox, path: str) -> pa.Table:
    with _client(sandbox) as client:
        response = client.get(f"{QUADTREE}/{path}")
    assert response.status_code == 200, response.text
    return feather.read_table(io.BytesIO(response.content))


def test_user_organization_and_dataset_lead_to_the_map(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        user = client.get("/v1/user").json()
        org = client.get("/v1/organization/sandbox").json()
        by_slug = client.get("/v1/project/sandbox/research-paper-excerpts").json()
        by_id = client.get(f"/v1/project/{ATLAS_DATASET_ID}").json()
        assert client.get("/v1/organization/other").status_code == 404
        assert client.get("/v1/project/sandbox/other").status_code == 404
    assert user["organizations"][0]["organization_id"] == user["default_organization"]
    assert org["id"] == user["default_organization"] and org["slug"] == "sandbox"
    assert by_slug == by_id and by_id["id"] == ATLAS_DATASET_ID
    assert by_id["unique_id_field"] == "id" and by_id["total_datums_in_project"] == 10_000
    [index] = by_id["atlas_indices"]
    assert [p["id"] for p in index["projections"]] == [ATLAS_PROJECTION_ID]


def test_tag_definition_id_changes_only_with_membership(sandbox: Sandbox) -> None:
    _update(sandbox, "T", ["1", "2"])
    first = _tags(sandbox)["T"]
    _update(sandbox, "T", ["2"])  # already there: nothing changes
    assert _tags(sandbox)["T"]["tag_definition_id"] == first["tag_definition_id"]
    _update(sandbox, "T", ["3"])
    second = _tags(sandbox)["T"]
    assert second["tag_id"] == first["tag_id"]
    assert second["tag_definition_id"] != first["tag_definition_id"]
    _update(sandbox, "T", ["3"], operation="remove")  # back to the first points
    third = _tags(sandbox)["T"]["tag_definition_id"]
    assert third not in (first["tag_definition_id"], second["tag_definition_id"])
    sandbox.reset()
    _update(sandbox, "T", ["1", "2"])  # same content after a reset: still a new id
    assert _tags(sandbox)["T"]["tag_definition_id"] not in (first["tag_definition_id"], third)


def test_tag_status_is_complete_for_known_tags(sandbox: Sandbox) -> None:
    _update(sandbox, "T", ["1"])
    tag_id = _tags(sandbox)["T"]["tag_id"]
    with _client(sandbox) as client:
        status = client.get(
            "/v1/project/projection/tags/status",
            params={"project_id": ATLAS_DATASET_ID, "tag_id": tag_id},
        )
        unknown = client.get("/v1/project/projection/tags/status", params={"tag_id": "x"})
    assert status.json() == {"tag_id": tag_id, "is_complete": True}
    assert unknown.status_code == 404


def test_manifest_and_tiles_hold_every_point_and_its_tag(sandbox: Sandbox) -> None:
    _update(sandbox, "T", ["0", "17", "9999"])
    manifest = _table(sandbox, "manifest.feather")
    assert manifest.column_names == ["key", "nPoints", "z", "x", "y"]
    assert manifest["key"].to_pylist() == [t.key for t in tile_layout(10_000)]
    definition = _tags(sandbox)["T"]["tag_definition_id"]
    ids: list[str] = []
    tagged: list[str] = []
    for key, count in zip(
        manifest["key"].to_pylist(), manifest["nPoints"].to_pylist(), strict=True
    ):
        datum = _table(sandbox, f"{key}.datum_id.feather")
        assert datum.column_names == ["id"] and len(datum) == count
        mask = _table(sandbox, f"{key}._tag.{definition}.feather")
        assert mask.column_names == ["bitmask"] and len(mask) == count
        ids += datum["id"].to_pylist()
        tagged += datum.filter(mask["bitmask"])["id"].to_pylist()
    assert ids == [str(i) for i in range(10_000)]
    assert tagged == ["0", "17", "9999"]


def test_uniform_tiles_are_all_set_and_outdated_definitions_404(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory("--atlas-points", str(TILE_CAPACITY + 10))
    _update(sb, "All", [str(i) for i in range(TILE_CAPACITY)])
    old = _tags(sb)["All"]["tag_definition_id"]
    root = _table(sb, f"0/0/0._tag.{old}.feather")
    rest = _table(sb, f"1/0/0._tag.{old}.feather")
    assert root.to_pydict() == {"all_set": [True]} and rest.to_pydict() == {"all_set": [False]}
    _update(sb, "All", ["5"], operation="remove")
    with _client(sb) as client:
        assert client.get(f"{QUADTREE}/0/0/0._tag.{old}.feather").status_code == 404
        assert client.get(f"{QUADTREE}/0/0/9.datum_id.feather").status_code == 404
        assert client.get(f"{QUADTREE}/0/0/0.nothing.feather").status_code == 404
    new = _tags(sb)["All"]["tag_definition_id"]
    bitmask = _table(sb, f"0/0/0._tag.{new}.feather")["bitmask"].to_pylist()
    assert bitmask.count(False) == 1 and bitmask[5] is False


def test_data_tiles_and_schema_describe_the_demo_points(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        raw = client.get(f"/v1/project/projection/{ATLAS_PROJECTION_ID}/schema").content
    schema = pa.ipc.read_schema(pa.py_buffer(raw))
    sidecars = {f.name: f.metadata[b"sidecar_name"] for f in schema}
    assert sidecars["id"] == b'"datum_id"' and sidecars["title"] == b'""'
    data = _table(sandbox, "0/0/0.feather")
    assert "title" in data.column_names and "id" not in data.column_names
    assert len(data) == min(TILE_CAPACITY, 10_000)


@pytest.mark.parametrize(
    "path",
    ["/v1/user", "/v1/organization/sandbox", f"{QUADTREE}/manifest.feather"],
)
def test_reads_need_the_key(sandbox: Sandbox, path: str) -> None:
    assert httpx.get(sandbox.api("atlas") + path, timeout=10).status_code == 401


def test_faults_apply_to_the_reads(sandbox_factory: Any) -> None:
    sb = sandbox_factory("--fail-rate", "1")
    with _client(sb) as client:
        assert client.get("/v1/user").status_code in (500, 502, 503)
        assert client.get(f"{QUADTREE}/manifest.feather").status_code in (500, 502, 503)
    assert httpx.get(sb.url + "/_sandbox/state", timeout=10).status_code == 200
