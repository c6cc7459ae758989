"""The sandbox as a server: inspection endpoints, faults, scale, concurrency, restarts, launcher."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEYS, Sandbox, free_port

from tagging.demo import ATLAS_PROJECTION_ID, World, WorldSize
from tagging.sandbox.app import SandboxConfig, create_app
from tagging.sandbox.launcher import ensure_running, faults, is_running, reset, set_faults

ATLAS_UPDATE = "/atlas/v1/query/update/tag/ids"


def _atlas_add(client: httpx.Client, ids: list[str], tag: str = "T") -> httpx.Response:
    body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": tag, "ids": ids, "operation": "add"}
    return client.post(
        ATLAS_UPDATE, json=body, headers={"Authorization": f"Bearer {KEYS['atlas']}"}
    )


def test_world_state_and_reset(sandbox: Sandbox) -> None:
    assert sandbox.world() == World().to_json()
    assert sandbox.state() == {
        "atlas": {},
        "nekt": {},
        "immuta": {"datasource:523": ["Discovered.Country.Canada"]},
    }
    with httpx.Client(base_url=sandbox.url) as client:
        assert _atlas_add(client, ["1"]).status_code == 200
    assert sandbox.state()["atlas"] == {ATLAS_PROJECTION_ID: {"T": ["1"]}}
    sandbox.reset()
    assert sandbox.state()["atlas"] == {}


def test_faults_switch_on_and_off_at_run_time(sandbox: Sandbox) -> None:
    set_faults(sandbox.url, fail_rate=0.9)
    assert faults(sandbox.url)["fail_rate"] == 0.9
    with httpx.Client(base_url=sandbox.url) as client:
        codes = [_atlas_add(client, [str(i)]).status_code for i in range(20)]
        assert sum(c >= 500 for c in codes) >= 10
        assert client.get("/_sandbox/state").status_code == 200  # never faulted
    reset(sandbox.url)  # the start again: no tags, no faults
    assert faults(sandbox.url)["fail_rate"] == 0.0
    assert sandbox.state()["atlas"] == {}


def test_world_size_flags(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(
        "--atlas-points", "50", "--nekt-resources", "16", "--immuta-datasources", "30"
    )
    world = sb.world()
    assert (
        world
        == World(WorldSize(atlas_points=50, nekt_resources=16, immuta_datasources=30)).to_json()
    )
    with httpx.Client(base_url=sb.url) as client:
        assert _atlas_add(client, ["49", "50"]).json()["points_tagged"] == 1


def test_fail_rate_one_fails_everything_and_changes_nothing(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory("--fail-rate", "1.0", "--seed", "3")
    statuses, html = set(), 0
    with httpx.Client(base_url=sb.url) as client:
        for _ in range(30):
            response = _atlas_add(client, ["1"])
            statuses.add(response.status_code)
            if response.headers["content-type"].startswith("text/html"):
                html += 1
                assert "Bad Gateway" in response.text or "Service Unavailable" in response.text
            else:
                assert response.json() == {"detail": "Internal server error"}
        immuta = client.post(
            "/immuta/tag/datasource/22",
            json=[{"name": "Confidential"}],
            headers={"Authorization": KEYS["immuta"]},
        )
        assert immuta.status_code >= 500
        if immuta.status_code == 500:
            assert immuta.json() == {
                "statusCode": 500,
                "error": "Internal Server Error",
                "message": "Internal server error",
            }
        # The inspection endpoints are never faulted.
        assert client.get("/_sandbox/world").status_code == 200
        assert client.post("/_sandbox/reset").status_code == 200
    assert statuses == {500, 502, 503}
    assert 0 < html < 30
    assert sb.state() == {
        "atlas": {},
        "nekt": {},
        "immuta": {"datasource:523": ["Discovered.Country.Canada"]},
    }


def test_a_failed_request_changed_nothing(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory("--fail-rate", "0.5", "--seed", "11")
    applied = []
    with httpx.Client(base_url=sb.url) as client:
        for i in range(40):
            response = _atlas_add(client, [str(i)])
            assert response.status_code in (200, 500, 502, 503)
            if response.status_code == 200:
                applied.append(str(i))
    assert 0 < len(applied) < 40
    assert sb.state()["atlas"].get(ATLAS_PROJECTION_ID, {}).get("T", []) == applied


def test_fault_dice_are_deterministic_for_a_seed(sandbox_factory: Callable[..., Sandbox]) -> None:
    runs = []
    for _ in range(2):
        sb = sandbox_factory("--fail-rate", "0.4", "--seed", "42")
        with httpx.Client(base_url=sb.url) as client:
            runs.append([_atlas_add(client, ["1"]).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert 200 in runs[0] and any(s >= 500 for s in runs[0])


def test_rate_limit_answers_429_with_retry_after(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory("--rate-limit", "3")
    applied, limited = [], []
    with httpx.Client(base_url=sb.url) as client:
        for i in range(30):
            response = _atlas_add(client, [str(i)])
            if response.status_code == 429:
                limited.append(response)
            else:
                assert response.status_code == 200
                applied.append(str(i))
        assert limited, "30 requests in a burst must exceed 3 per second"
        for response in limited:
            assert response.headers["retry-after"] == "1"
            assert response.json()["detail"].startswith("Request was throttled")
        nekt = client.get("/nekt/api/v1/tags/", headers={"x-api-key": KEYS["nekt"]})
        assert nekt.status_code in (200, 429)
        for _ in range(10):  # the inspection endpoints are never limited
            assert client.get("/_sandbox/world").status_code == 200
        time.sleep(float(limited[0].headers["retry-after"]) + 0.1)
        assert _atlas_add(client, ["99"]).status_code == 200
    assert sb.state()["atlas"][ATLAS_PROJECTION_ID]["T"] == sorted([*applied, "99"], key=int)


def test_latency_still_applies_the_request(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory("--latency-ms", "50")
    with httpx.Client(base_url=sb.url) as client, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: _atlas_add(client, [str(i)]).status_code, range(16)))
    assert codes == [200] * 16
    assert len(sb.state()["atlas"][ATLAS_PROJECTION_ID]["T"]) == 16


def test_atlas_add_of_a_million_ids_in_chunks_of_ten_thousand(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory("--atlas-points", "1000000")
    ids = [str(i) for i in range(1_000_000)]
    started = time.perf_counter()
    with httpx.Client(base_url=sb.url, timeout=60) as client:
        for k in range(0, len(ids), 10_000):
            response = _atlas_add(client, ids[k : k + 10_000], tag="big")
            assert response.json()["points_tagged"] == 10_000
    elapsed = time.perf_counter() - started
    print(f"\n1,000,000 Atlas ids in 100 requests of 10,000: {elapsed:.2f} s")
    tagged = sb.state()["atlas"][ATLAS_PROJECTION_ID]["big"]
    assert len(tagged) == 1_000_000 and tagged[:3] == ["0", "1", "2"] and tagged[-1] == "999999"


def test_concurrent_requests_across_providers(sandbox: Sandbox) -> None:
    sources = [s["id"] for s in sandbox.world()["nekt"]["sources"]]

    def work(i: int) -> list[int]:
        with httpx.Client(base_url=sandbox.url, timeout=30) as client:
            atlas = _atlas_add(client, [str(i), str(i + 1000)], tag=f"t{i % 4}")
            nekt = client.post(
                "/nekt/api/v1/tags/attach/",
                json={"names": [f"n{i % 3}"], "sources": [sources[i % len(sources)]]},
                headers={"x-api-key": KEYS["nekt"]},
            )
            immuta = client.post(
                f"/immuta/tag/datasource/{i + 1}",
                json=[{"name": "Confidential"}],
                headers={"Authorization": KEYS["immuta"]},
            )
            return [atlas.status_code, nekt.status_code, immuta.status_code]

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(work, range(48)))
    assert codes == [[200, 200, 200]] * 48
    state = sandbox.state()
    atlas = state["atlas"][ATLAS_PROJECTION_ID]
    assert sum(len(v) for v in atlas.values()) == 96
    assert atlas["t0"][:2] == ["0", "4"]
    assert len([k for k in state["immuta"] if k.startswith("datasource:")]) == 48 + 1
    expected: dict[str, set[str]] = {}
    for i in range(48):
        expected.setdefault(sources[i % len(sources)], set()).add(f"n{i % 3}")
    assert state["nekt"] == {k: sorted(v) for k, v in expected.items()}


def _in_process(config: SandboxConfig, calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Run requests against `create_app(config)` in-process (ASGI transport, no server)."""

    async def run() -> list[Any]:
        transport = httpx.ASGITransport(app=create_app(config))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return [await client.request(m, path, **kw) for m, path, kw in calls]

    return asyncio.run(run())


def test_file_state_survives_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(db=str(tmp_path / "new-dir" / "sandbox.db"))
    body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": "T", "ids": ["7"], "operation": "add"}
    auth = {"Authorization": f"Bearer {KEYS['atlas']}"}
    state = ("GET", "/_sandbox/state", {})
    added, first = _in_process(
        config, [("POST", ATLAS_UPDATE, {"json": body, "headers": auth}), state]
    )
    assert added.status_code == 200
    assert first.json()["atlas"] == {ATLAS_PROJECTION_ID: {"T": ["7"]}}
    assert (tmp_path / "new-dir" / "sandbox.db-wal").exists()  # WAL: a restart can share the file
    again, _, after_reset = _in_process(config, [state, ("POST", "/_sandbox/reset", {}), state])
    assert again.json() == first.json()
    assert after_reset.json()["atlas"] == {}


def test_in_process_app_with_custom_keys() -> None:
    keys = {"atlas": "a-key", "nekt": "n-key", "immuta": "i-key"}
    body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": "x", "ids": ["1"], "operation": "add"}
    default = {"Authorization": f"Bearer {KEYS['atlas']}"}
    responses = _in_process(
        SandboxConfig(keys=keys),
        [
            ("POST", ATLAS_UPDATE, {"json": body, "headers": {"Authorization": "Bearer a-key"}}),
            ("POST", ATLAS_UPDATE, {"json": body, "headers": default}),
            ("GET", "/immuta/tag", {"headers": {"Authorization": "i-key"}}),
            ("GET", "/nekt/api/v1/tags/", {"headers": {"x-api-key": "n-key"}}),
        ],
    )
    assert [r.status_code for r in responses] == [200, 401, 200, 200]


def test_launcher_starts_detects_and_reuses_a_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # works from any directory; the db path is relative to it
    url = f"http://127.0.0.1:{free_port()}"
    db = "state/sandbox.db"
    assert not is_running(url)
    pid_file = tmp_path / "state" / "sandbox.pid"
    try:
        assert ensure_running(url, db) is True
        assert is_running(url)
        assert ensure_running(url, db) is False  # one is already answering
        with httpx.Client(base_url=url) as client:
            assert _atlas_add(client, ["5"]).status_code == 200
        assert (tmp_path / "state" / "sandbox.log").exists()
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while is_running(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not is_running(url)
        assert ensure_running(url, db) is True  # restarted on the same file: same state
        state = httpx.get(f"{url}/_sandbox/state").json()
        assert state["atlas"] == {ATLAS_PROJECTION_ID: {"T": ["5"]}}
    finally:
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass


def test_keys_come_from_the_environment(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGGING_SANDBOX_NEKT_KEY", "my-nekt-key")
    sb = sandbox_factory()
    url = f"{sb.api('nekt')}/api/v1/tags/"
    assert httpx.get(url, headers={"x-api-key": "my-nekt-key"}).status_code == 200
    assert httpx.get(url, headers={"x-api-key": KEYS["nekt"]}).status_code == 401
    immuta = httpx.get(f"{sb.api('immuta')}/tag", headers={"Authorization": KEYS["immuta"]})
    assert immuta.status_code == 200


def test_banner_prints_urls_and_key_variables_never_keys() -> None:
    from tagging.sandbox.server import banner

    config = SandboxConfig(keys={"atlas": "own-a", "nekt": "own-n", "immuta": "own-i"})
    for text in (banner(SandboxConfig(), "127.0.0.1", 8765), banner(config, "127.0.0.1", 8765)):
        for provider, key in KEYS.items():
            assert f"http://127.0.0.1:8765/{provider}" in text and key not in text
            assert f"TAGGING_SANDBOX_{provider.upper()}_KEY" in text
        assert "$NOMIC_API_KEY" in text and "$NEKT_API_KEY" in text and "$IMMUTA_API_KEY" in text
        assert not any(k in text for k in config.keys.values())


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_each_api_at_the_root_of_its_own_port(sandbox_factory: Callable[..., Sandbox]) -> None:
    ports = {p: free_port() for p in ("atlas", "nekt", "immuta")}
    flags = [f for p, n in ports.items() for f in (f"--{p}-port", str(n))]
    sb = sandbox_factory(*flags, "--rate-limit", "1000")
    roots = {p: f"http://127.0.0.1:{n}" for p, n in ports.items()}
    for root in roots.values():
        _wait_for(root)
    body = {"projection_id": ATLAS_PROJECTION_ID, "tag_name": "T", "ids": ["1"]}
    atlas = httpx.post(
        f"{roots['atlas']}/v1/query/update/tag/ids",
        json=body | {"operation": "add"},
        headers={"Authorization": f"Bearer {KEYS['atlas']}"},
    )
    assert atlas.status_code == 200
    nekt = httpx.get(f"{roots['nekt']}/api/v1/tags/", headers={"x-api-key": KEYS["nekt"]})
    assert nekt.status_code == 200
    immuta_auth = {"Authorization": KEYS["immuta"]}
    user = httpx.get(f"{roots['immuta']}/bim/rpc/user/current", headers=immuta_auth)
    assert user.status_code == 200
    # Same state and keys as the prefixed mounts; no inspection routes on the API ports.
    assert sb.state()["atlas"] == {ATLAS_PROJECTION_ID: {"T": ["1"]}}
    assert httpx.get(f"{roots['immuta']}/tag").status_code == 401
    assert httpx.get(f"{roots['atlas']}/_sandbox/state").status_code == 401


def test_faults_apply_on_the_provider_ports(sandbox_factory: Callable[..., Sandbox]) -> None:
    port = free_port()
    sb = sandbox_factory("--immuta-port", str(port), "--fail-rate", "1")
    root = f"http://127.0.0.1:{port}"
    _wait_for(root)
    response = httpx.get(f"{root}/tag", headers={"Authorization": KEYS["immuta"]})
    assert response.status_code in (500, 502, 503)
    assert httpx.get(f"{sb.url}/_sandbox/state").status_code == 200
