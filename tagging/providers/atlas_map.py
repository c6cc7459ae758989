"""Reading an Atlas map back the way the official nomic client (3.9, `AtlasMapTags`) does.

`tags/get/all` gives each tag's `tag_definition_id` and the map's dataset id (`project_id`);
`tags/status` says whether the tag's tiles are up to date; the projection's quadtree
`manifest.feather` lists the tiles; per tile, `{key}.datum_id.feather` holds the point ids
(column `id`) and `{key}._tag.{tag_definition_id}.feather` the tag as a `bitmask` aligned
with them, or one row `all_set` for a uniform tile. Tiles are Arrow Feather, read with
pyarrow and joined with numpy: a million points are a few dozen tiles, not a million rows of
Python.

The datum ids also say which ids the map holds at all, so a push's not-found ids are exact.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import feather

from tagging.errors import ApiError
from tagging.id_list import Text, arrow_text, contiguous, numbers
from tagging.values import ApiRequest

LIST_TAGS_PATH = "/v1/project/projection/tags/get/all"
STATUS_PATH = "/v1/project/projection/tags/status"
TILE_CONCURRENCY = 8  # nomic downloads tiles concurrently too
CACHED_MAPS = 4

Fetch = Callable[[ApiRequest], httpx.Response]
Check = Callable[[httpx.Response], None]  # raises for error answers, in Atlas's words


@dataclass(frozen=True)
class MapTag:
    name: str
    tag_id: str
    definition_id: str  # changes whenever the tag's points change
    dataset_id: str  # the map's dataset ("project_id" in the answer)


@dataclass(frozen=True, eq=False)
class MapPoints:
    """A projection's tiles (manifest order) and every point id in tile order."""

    dataset_id: str
    projection_id: str
    keys: tuple[str, ...]
    sizes: np.ndarray  # points per tile
    ids: pa.Array  # string, all points, tile after tile


def map_tags(fetch: Fetch, check: Check, projection_id: str) -> list[MapTag]:
    params = {"projection_id": projection_id, "include_dsl_rule": "false"}
    response = fetch(ApiRequest("GET", LIST_TAGS_PATH, None, params=params))
    check(response)
    return [
        MapTag(
            name=str(t["tag_name"]),
            tag_id=str(t["tag_id"]),
            definition_id=str(t.get("tag_definition_id") or ""),
            dataset_id=str(t.get("project_id") or ""),
        )
        for t in response.json()
    ]


def points(fetch: Fetch, check: Check, dataset_id: str, projection_id: str) -> MapPoints:
    """The map's point ids. Cached per manifest: a projection's points never change (new
    data makes a new projection), so the same manifest means the same datum id tiles."""
    root = _root(dataset_id, projection_id)
    response = fetch(ApiRequest("GET", f"{root}/manifest.feather", None))
    check(response)
    digest = hashlib.sha256(response.content).hexdigest()
    cache_key = (dataset_id, projection_id, digest)
    cached = _POINTS.get(cache_key)
    if cached is not None:
        return cached
    manifest = _table(response)
    keys = tuple(str(k) for k in manifest.column("key").to_pylist())
    sizes = numbers(manifest.column("nPoints")).astype(np.int64)
    tiles = _tiles(fetch, check, [f"{root}/{key}.datum_id.feather" for key in keys])
    chunks = [t.column("id").combine_chunks().cast(pa.string()) for t in tiles]
    ids = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
    found = MapPoints(dataset_id, projection_id, keys, sizes, ids)
    _POINTS.put(cache_key, found)
    return found


def tag_mask(fetch: Fetch, check: Check, where: MapPoints, tag: MapTag) -> np.ndarray:
    """One bool per point of the map (tile order): the point carries the tag."""
    status = fetch(ApiRequest("GET", STATUS_PATH, None, params={
        "project_id": tag.dataset_id, "tag_id": tag.tag_id}))  # fmt: skip
    check(status)
    if not bool(status.json().get("is_complete", True)):
        raise ApiError("atlas", 409, f"tag {tag.name!r} is still being updated", "try again")
    root = _root(where.dataset_id, where.projection_id)
    paths = [f"{root}/{key}._tag.{tag.definition_id}.feather" for key in where.keys]
    parts: list[np.ndarray] = []
    for size, table in zip(where.sizes.tolist(), _tiles(fetch, check, paths), strict=True):
        if "all_set" in table.column_names:
            parts.append(np.full(size, bool(table.column("all_set")[0].as_py())))
        else:
            mask = table.column("bitmask").combine_chunks()
            parts.append(numbers(mask, fill=False))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def dataset_of(tags: Sequence[MapTag]) -> str | None:
    """The map's dataset id, as the tag list names it (None: the map has no tags yet)."""
    return next((t.dataset_id for t in tags if t.dataset_id), None)


def tagged_ids(where: MapPoints, mask: np.ndarray, ids: Sequence[str] | None) -> Text:
    """The ids (of `ids`, or all) of the points the mask marks, as Arrow text."""
    chosen = where.ids.filter(pa.array(mask))
    if ids is not None:
        chosen = common(chosen, arrow_text(ids))
    return chosen


def held(where: MapPoints, ids: Sequence[str]) -> np.ndarray:
    """One bool per id: the map holds a point with that id."""
    asked = arrow_text(ids)
    # Hash the smaller side: a few ids on a 30M-point map, or 30M ids on a small map.
    lookup = where.ids if len(where.ids) <= len(asked) else common(where.ids, asked)
    hits = pc.is_in(asked, value_set=lookup, skip_nulls=True)
    return numbers(hits, fill=False)


def locate(where: MapPoints, ids: Text) -> np.ndarray:
    """Per id, the position of its point on the map (tile order), or -1 where it has none."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    points_ = where.ids
    offset = np.arange(len(points_), dtype=np.int64)
    if len(points_) > 4 * len(ids):  # a big map, few ids: hash the ids, then the few points
        on_map = pc.is_in(points_, value_set=contiguous(ids).cast(points_.type), skip_nulls=True)
        points_ = points_.filter(on_map)
        offset = offset[numbers(on_map, fill=False)]
    if len(points_) == 0:  # not one of the ids is on the map
        return np.full(len(ids), -1, dtype=np.int64)
    found = pc.index_in(ids.cast(points_.type), value_set=points_, skip_nulls=True)
    index = numbers(found, fill=-1).astype(np.int64, copy=False)
    return np.where(index >= 0, offset[np.maximum(index, 0)], -1)


def common(values: pa.Array, other: Text) -> Text:
    """The values also in `other` (as a set), hashing the smaller side
    (an `is_in` hashes its value set: 30M distinct strings take seconds)."""
    if len(other) <= len(values):
        return values.filter(pc.is_in(values, value_set=contiguous(other), skip_nulls=True))
    return other.filter(pc.is_in(other, value_set=values, skip_nulls=True)).cast(values.type)


def _root(dataset_id: str, projection_id: str) -> str:
    d, p = quote(dataset_id, safe=""), quote(projection_id, safe="")
    return f"/v1/project/{d}/index/projection/{p}/quadtree"


def _table(response: httpx.Response) -> pa.Table:
    return feather.read_table(pa.BufferReader(response.content))


def _tiles(fetch: Fetch, check: Check, paths: Sequence[str]) -> list[pa.Table]:
    def one(path: str) -> pa.Table:
        response = fetch(ApiRequest("GET", path, None))
        check(response)
        return _table(response)

    if len(paths) <= 1:
        return [one(p) for p in paths]
    from tagging.workers import map_daemon  # Ctrl-C is not held up by a hung read

    return map_daemon(one, paths, TILE_CONCURRENCY, "tiles")


class _Lru:
    """A few maps' point ids (a million ids are about 10 MB of Arrow strings)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, str], MapPoints] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> MapPoints | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], value: MapPoints) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_POINTS = _Lru(CACHED_MAPS)


def by_name(tags: Sequence[MapTag], wanted: Sequence[str] | None) -> Mapping[str, MapTag]:
    """The listed tags of interest (all when `wanted` is None), by name."""
    return {t.name: t for t in tags if wanted is None or t.name in set(wanted)}
