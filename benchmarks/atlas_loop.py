"""The bare baselines for Atlas, written the way a user would with httpx and pyarrow: a
sequential loop of POSTs, one per chunk of ids, and a read-back of a tag through the map's
Feather tiles (the same tiles the provider's read-back reads)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import feather

from benchmarks.sandbox_process import SandboxProcess
from tagging.demo import ATLAS_PROJECTION_ID, SANDBOX_KEYS

TAG_PATH = "/v1/query/update/tag/ids"
LIST_TAGS_PATH = "/v1/project/projection/tags/get/all"


def atlas_ids(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def _client(sb: SandboxProcess) -> httpx.Client:
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['atlas']}"}
    return httpx.Client(base_url=sb.api("atlas"), headers=headers, timeout=120)


def post_chunks(sb: SandboxProcess, ids: list[str], tag: str, chunk: int = 10_000) -> int:
    """POST every chunk in order; returns the points the sandbox reports as tagged."""
    tagged = 0
    with _client(sb) as client:
        for start in range(0, len(ids), chunk):
            body = {
                "projection_id": ATLAS_PROJECTION_ID,
                "tag_name": tag,
                "ids": ids[start : start + chunk],
                "operation": "add",
            }
            response = client.post(TAG_PATH, json=body)
            response.raise_for_status()
            tagged += int(response.json()["points_tagged"])
    return tagged


@dataclass(frozen=True)
class ReadBack:
    ids: pa.ChunkedArray  # every point id, tile after tile
    mask: np.ndarray  # per point: it carries the tag
    downloaded: int  # bytes of Feather read


def read_back(sb: SandboxProcess, tag: str) -> ReadBack:
    """The tag's points read back the plain way: the tag list, the manifest, then each
    tile's datum ids and tag bitmask, one GET after another (no membership work)."""
    size = 0
    with _client(sb) as client:
        listed = client.get(LIST_TAGS_PATH, params={"projection_id": ATLAS_PROJECTION_ID})
        found = next(t for t in listed.raise_for_status().json() if t["tag_name"] == tag)
        root = f"/v1/project/{found['project_id']}/index/projection/{ATLAS_PROJECTION_ID}/quadtree"
        manifest = client.get(f"{root}/manifest.feather").raise_for_status().content
        size += len(manifest)
        table = feather.read_table(pa.BufferReader(manifest))
        ids, masks = [], []
        for key, count in zip(table["key"].to_pylist(), table["nPoints"].to_pylist(), strict=True):
            datum = client.get(f"{root}/{key}.datum_id.feather").raise_for_status().content
            tile = f"{root}/{key}._tag.{found['tag_definition_id']}.feather"
            bits = client.get(tile).raise_for_status().content
            size += len(datum) + len(bits)
            ids.append(feather.read_table(pa.BufferReader(datum))["id"])
            mask = feather.read_table(pa.BufferReader(bits))
            if "all_set" in mask.column_names:
                masks.append(np.full(count, bool(mask["all_set"][0].as_py())))
            else:
                masks.append(np.asarray(mask["bitmask"].to_numpy(), dtype=bool))
    every = pa.chunked_array([c for part in ids for c in part.chunks], pa.string())
    return ReadBack(every, np.concatenate(masks), size)


def carried(found: ReadBack, ids: pa.Array) -> pa.Array:
    """Per id: it is among the tagged points (one Arrow `is_in`)."""
    return pc.is_in(ids, value_set=found.ids.filter(pa.array(found.mask)))


def all_tagged(sb: SandboxProcess, ids: list[str], tag: str) -> bool:
    """A user's check after a push: read the tag back, and every sent id is among the
    tagged points."""
    return bool(pc.all(carried(read_back(sb, tag), pa.array(ids, pa.string()))).as_py())
