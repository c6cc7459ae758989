"""The official nomic 3.9 client, unmodified, reads the sandbox's map and its tags exactly.

It runs in its own venv (`make clients`: .venv-clients/nomic) as a subprocess, with a temp
HOME holding `~/.nomic/credentials` and `ATLAS_API_PATH` at the sandbox's Atlas.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import KEYS, ROOT, Sandbox, start_sandbox, stop_sandbox

from tagging.demo import ATLAS_PROJECTION_ID
from tagging.sandbox.atlas_tiles import TILE_CAPACITY

CLIENT_PYTHON = ROOT / ".venv-clients" / "nomic" / "bin" / "python"
POINTS = 2 * TILE_CAPACITY + 500  # three tiles, the last one short

READ_TAGS = """
import json
from nomic import AtlasDataset

dataset = AtlasDataset("sandbox/research-paper-excerpts")
projection = dataset.maps[0]
tags = projection.tags.get_tags()
frame = projection.tags.df
data = projection.data.df
print(json.dumps({
    "projection": projection.id,
    "tags": {t["tag_name"]: t["tag_definition_id"] for t in tags},
    "datums": {t["tag_name"]: projection.tags.get_datums_in_tag(t["tag_name"]) for t in tags},
    "df": {t["tag_name"]: frame.loc[frame[t["tag_name"]], "id"].tolist() for t in tags},
    "df_rows": len(frame),
    "df_ids": frame["id"].tolist() == [str(i) for i in range(len(frame))],
    "data_columns": list(data.columns),
    "data_rows": len(data),
}))
"""


@pytest.fixture(scope="module")
def atlas_sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox("--atlas-points", str(POINTS))
    yield sb
    stop_sandbox(sb)


def run_nomic(sandbox: Sandbox, home: Path) -> dict:
    if not CLIENT_PYTHON.exists():
        pytest.fail(f"{CLIENT_PYTHON} is missing: run `make clients` (make test builds it)")
    credentials = home / ".nomic" / "credentials"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    token = {"token": KEYS["atlas"], "tenant": "production", "expires": None}
    credentials.write_text(json.dumps(token))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "ATLAS_API_PATH": sandbox.api("atlas")}
    done = subprocess.run(
        [str(CLIENT_PYTHON), "-c", READ_TAGS],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def update(sandbox: Sandbox, tag: str, ids: list[str], operation: str = "add") -> None:
    body = {
        "projection_id": ATLAS_PROJECTION_ID,
        "tag_name": tag,
        "ids": ids,
        "operation": operation,
    }
    headers = {"Authorization": f"Bearer {KEYS['atlas']}"}
    response = httpx.post(
        sandbox.api("atlas") + "/v1/query/update/tag/ids", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text


def held(sandbox: Sandbox) -> dict[str, list[str]]:
    return sandbox.state()["atlas"][ATLAS_PROJECTION_ID]


def test_nomic_reads_tags_and_points_exactly(atlas_sandbox: Sandbox, tmp_path: Path) -> None:
    atlas_sandbox.reset()
    whole_tile = [str(i) for i in range(TILE_CAPACITY)]  # the root tile: served as all_set
    update(atlas_sandbox, "Whole tile", whole_tile)
    scattered = ["0", "89", "295", str(TILE_CAPACITY + 7), str(POINTS - 1)]
    update(atlas_sandbox, "New Tag", scattered)

    first = run_nomic(atlas_sandbox, tmp_path)
    expected = held(atlas_sandbox)
    assert first["projection"] == ATLAS_PROJECTION_ID
    assert set(first["tags"]) == set(expected) == {"Whole tile", "New Tag"}
    assert {k: sorted(v, key=int) for k, v in first["datums"].items()} == expected
    assert first["df"] == expected
    assert first["df_rows"] == POINTS and first["df_ids"]
    assert first["data_rows"] == POINTS and first["data_columns"][:2] == ["id", "title"]

    # New membership, new tag_definition_id: the same HOME (nomic's tile cache) sees it.
    update(atlas_sandbox, "New Tag", ["89"], operation="remove")
    update(atlas_sandbox, "New Tag", ["1000"])
    second = run_nomic(atlas_sandbox, tmp_path)
    assert second["tags"]["New Tag"] != first["tags"]["New Tag"]
    assert second["tags"]["Whole tile"] == first["tags"]["Whole tile"]
    assert second["df"] == held(atlas_sandbox)
    assert second["df"]["New Tag"] == ["0", "295", "1000", str(TILE_CAPACITY + 7), str(POINTS - 1)]
