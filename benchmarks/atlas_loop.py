"""The bare baseline for Atlas: a sequential loop of httpx POSTs, one per chunk of ids."""

from __future__ import annotations

import httpx

from benchmarks.sandbox_process import SandboxProcess
from tagging.demo import ATLAS_PROJECTION_ID, SANDBOX_KEYS

TAG_PATH = "/v1/query/update/tag/ids"


def atlas_ids(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def post_chunks(sb: SandboxProcess, ids: list[str], tag: str, chunk: int = 10_000) -> int:
    """POST every chunk in order; returns the points the sandbox reports as tagged."""
    tagged = 0
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['atlas']}"}
    with httpx.Client(base_url=sb.api("atlas"), headers=headers, timeout=120) as client:
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
