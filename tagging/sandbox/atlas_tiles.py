"""Atlas map tiles: the quadtree of Arrow Feather files the nomic client reads tags through.

Exact shapes (what nomic 3.9's `AtlasMapTags` and `AtlasMapData` read, and what a read-back
of the library should use). `D` is the dataset id (`ATLAS_DATASET_ID`), `P` the projection id:

- `GET /v1/project/projection/tags/get/all?projection_id=P` (`project_id`, `include_dsl_rule`
  accepted and ignored) -> `[{"tag_id", "tag_name", "tag_definition_id", "projection_id",
  "project_id", "created_at", "count"}]`, sorted by name. `tag_definition_id` is a UUID that
  changes whenever the tag's points change (and only then), and never repeats with other
  content: nomic caches tag tiles under it and never downloads them again.
- `GET /v1/project/projection/tags/status?project_id=D&tag_id=T` -> `{"tag_id", "is_complete"}`;
  the sandbox applies every update at once, so `is_complete` is always true (404 for an
  unknown tag id).
- `GET /v1/project/D/index/projection/P/quadtree/manifest.feather` -> Feather table, one row
  per tile in quadtree order: `key` (string "z/x/y"), `nPoints` (int64), `z`, `x`, `y` (int32).
- `GET .../quadtree/{key}.datum_id.feather` -> one column `id` (string): the point ids of the
  tile, in tile order. Concatenated in manifest order they are "0".."N-1" in order.
- `GET .../quadtree/{key}._tag.{tag_definition_id}.feather` -> either one column `bitmask`
  (bool, one row per point of the tile, aligned with the datum ids) or, for a tile whose
  points are all tagged or all untagged, one row with one column `all_set` (bool).
  An outdated `tag_definition_id` answers 404.
- `GET .../quadtree/{key}.feather` -> the demo dataset's columns for the tile's points (all of
  `tagging.demo.atlas_frame` but `id`), read by `AtlasMapData` with
  `GET /v1/project/projection/P/schema` (an Arrow IPC schema whose fields carry
  `sidecar_name` metadata: `"datum_id"` for `id`, `""` for the rest).

Tiles hold `TILE_CAPACITY` points each, consecutive ids in key order (breadth first: "0/0/0",
then "1/0/0", "1/0/1", ...): the sandbox's points have no coordinates worth a real quadtree.
Tiles are built with numpy/pyarrow from the SQLite state and cached: datum id and data
tiles per point count, tag tiles per `tag_definition_id`, all tiles of a tag at once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
from pyarrow import feather

from tagging.demo import atlas_frame

TILE_CAPACITY = 16_384
ID_COLUMN = "id"
CACHED_TAG_DEFINITIONS = 64


@dataclass(frozen=True)
class Tile:
    key: str  # "z/x/y"
    start: int  # first point id of the tile
    stop: int  # one past the last

    @property
    def size(self) -> int:
        return self.stop - self.start


def _quadtree_keys() -> Iterator[tuple[int, int, int]]:
    z = 0
    while True:
        for x in range(2**z):
            for y in range(2**z):
                yield z, x, y
        z += 1


@lru_cache(maxsize=8)
def tile_layout(points: int, capacity: int = TILE_CAPACITY) -> tuple[Tile, ...]:
    """The tiles of a map of `points` points; always at least the root tile."""
    tiles: list[Tile] = []
    for z, x, y in _quadtree_keys():
        start = len(tiles) * capacity
        if tiles and start >= points:
            return tuple(tiles)
        tiles.append(Tile(f"{z}/{x}/{y}", start, min(points, start + capacity)))
    raise AssertionError("unreachable")


def feather_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    feather.write_feather(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def manifest(points: int) -> bytes:
    tiles = tile_layout(points)
    zxy = np.array([[int(p) for p in t.key.split("/")] for t in tiles], dtype=np.int32)
    table = pa.table(
        {
            "key": pa.array([t.key for t in tiles], pa.string()),
            "nPoints": pa.array([t.size for t in tiles], pa.int64()),
            "z": zxy[:, 0],
            "x": zxy[:, 1],
            "y": zxy[:, 2],
        }
    )
    return feather_bytes(table)


@lru_cache(maxsize=256)
def datum_id_tile(points: int, key: str) -> bytes | None:
    tile = _tile(points, key)
    if tile is None:
        return None
    ids = np.arange(tile.start, tile.stop).astype(str)
    return feather_bytes(pa.table({ID_COLUMN: pa.array(ids, pa.string())}))


@lru_cache(maxsize=2)
def _data_frame(points: int) -> pa.Table:
    return pa.Table.from_pandas(atlas_frame(points).drop(columns=[ID_COLUMN]), preserve_index=False)


def data_tile(points: int, key: str) -> bytes | None:
    tile = _tile(points, key)
    if tile is None:
        return None
    return feather_bytes(_data_frame(points).slice(tile.start, tile.size))


def data_schema() -> bytes:
    """The projection's Arrow schema (IPC bytes), each field naming the sidecar that holds it."""
    frame = pa.Table.from_pandas(atlas_frame(1), preserve_index=False)
    fields = [
        field.with_metadata(
            {"sidecar_name": json.dumps("datum_id" if field.name == ID_COLUMN else "")}
        )
        for field in frame.schema
    ]
    return bytes(pa.schema(fields).serialize().to_pybytes())


def tag_tiles(points: int, tagged: np.ndarray) -> dict[str, bytes]:
    """Every tile of one tag: `bitmask`, or `all_set` where a tile is uniform."""
    mask = np.zeros(points, dtype=bool)
    mask[tagged[tagged < points]] = True
    out: dict[str, bytes] = {}
    for tile in tile_layout(points):
        part = mask[tile.start : tile.stop]
        count = int(np.count_nonzero(part))
        if count in (0, tile.size):
            table = pa.table({"all_set": pa.array([count > 0], pa.bool_())})
        else:
            table = pa.table({"bitmask": pa.array(part, pa.bool_())})
        out[tile.key] = feather_bytes(table)
    return out


class TagTileCache:
    """Tag tiles by `tag_definition_id`: built once per definition, least recently used out."""

    def __init__(self, size: int = CACHED_TAG_DEFINITIONS) -> None:
        self._size = size
        self._tiles: OrderedDict[str, dict[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def tile(
        self, definition_id: str, key: str, build: Callable[[], dict[str, bytes]]
    ) -> bytes | None:
        # One lock for lookups and builds: nomic asks for a tag's tiles four at a time, and
        # they should wait for the one build rather than each build the whole tag.
        with self._lock:
            tiles = self._tiles.get(definition_id)
            if tiles is None:
                tiles = build()
                self._tiles[definition_id] = tiles
                while len(self._tiles) > self._size:
                    self._tiles.popitem(last=False)
            self._tiles.move_to_end(definition_id)
            return tiles.get(key)


def _tile(points: int, key: str) -> Tile | None:
    return next((t for t in tile_layout(points) if t.key == key), None)
