"""Reading an Atlas map's tag back (1M points, one tag of 100k) vs bare httpx + pyarrow.

Ours: the Atlas provider's read-back as a push's verification uses it (`check_ids`: tag
list, status, manifest, datum id and tag tiles, concurrent, under the retry policy), for
every id of the map: which exist and which carry the tag. Baseline: the same Feather files
fetched one after another with a bare httpx client and concatenated with pyarrow, then the
same two answers the plain way: one Arrow `is_in` of the ids among all points, one among the
tagged points. Both start from the ids as Arrow text, as a plan holds them, and both read
cold: the provider's cache of datum ids is emptied before each run.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.atlas_loop import carried, read_back
from benchmarks.results import Point, Result, Target
from benchmarks.sandbox_process import SandboxProcess, sandbox
from benchmarks.timing import best_of_pair, repeats_for
from tagging.demo import ATLAS_PROJECTION_ID, SANDBOX_KEYS
from tagging.id_list import IdList
from tagging.providers import atlas_map, get

NAME = "atlas_readback"
TITLE = "Atlas read-back of a tag through the map's tiles"
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (20_000, 50_000)
TAG = "bench"
TAGGED_SHARE = 10  # one point in ten carries the tag


def run(quick: bool) -> list[Result]:
    sizes = QUICK_SIZES if quick else SIZES
    points: list[Point] = []
    notes: dict[str, Any] = {}
    for n in sizes:
        with sandbox("--atlas-points", str(n)) as sb:
            _tag_points(sb, n)
            conn = sb.connect("atlas")
            ids = pa.array([str(i) for i in range(n)], pa.string())
            repeats = repeats_for(n, quick)
            ours, bare = best_of_pair(
                partial(_ours, conn, ids), partial(_bare, sb, ids), repeats, _cold
            )
            points.append(Point(n, ours, bare))
            found = _ours(conn, ids)
            assert found == n // TAGGED_SHARE, f"read {found} tagged points, expected more"
            notes = {"points": n, "tagged": found, "read_s": round(ours, 3),
                     "downloaded_mb": round(_bare(sb, ids) / 1e6, 2)}  # fmt: skip
            conn.close()
    return [
        Result.at_largest(
            scenario=NAME,
            metric=f"read-back of a {points[-1].size:,}-point map's tag / bare httpx+pyarrow",
            unit="s",
            target=Target("<=", 1.5),
            points=points,
            notes=notes,
        )
    ]


def _tag_points(sb: SandboxProcess, n: int) -> None:
    tagged = [str(i) for i in range(0, n, TAGGED_SHARE)]
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['atlas']}"}
    with httpx.Client(base_url=sb.api("atlas"), headers=headers, timeout=120) as client:
        for start in range(0, len(tagged), 10_000):
            body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": TAG,
                    "ids": tagged[start : start + 10_000], "operation": "add"}  # fmt: skip
            client.post("/v1/query/update/tag/ids", json=body).raise_for_status()


def _cold() -> None:
    atlas_map._POINTS = atlas_map._Lru(atlas_map.CACHED_MAPS)


def _ours(conn: Any, ids: pa.Array) -> int:
    """Tagged points of `ids`, every one of which the map holds."""
    target = {"projection_id": ATLAS_PROJECTION_ID}
    found = get("atlas").check_ids(conn.fetch, target, IdList(ids), None, [TAG])
    assert found.held is not None and bool(found.held.all())
    return int(found.carries[TAG].sum())


def _bare(sb: SandboxProcess, ids: pa.Array) -> int:
    """Bytes downloaded; which ids exist and which carry the tag, the plain way."""
    found = read_back(sb, TAG)
    assert bool(pc.all(pc.is_in(ids, value_set=found.ids)).as_py())
    assert pc.sum(carried(found, ids)).as_py() == len(ids) // TAGGED_SHARE
    return found.downloaded
