"""`python -m tagging sandbox`: serve the sandbox with uvicorn until stopped."""

from __future__ import annotations

import uvicorn

from tagging.demo import WorldSize
from tagging.sandbox.app import SandboxConfig, create_app, keys_from_env
from tagging.sandbox.faults import Faults


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    db: str = ":memory:",
    atlas_points: int = 10_000,
    nekt_resources: int = 96,
    immuta_datasources: int = 600,
    latency_ms: int = 0,
    fail_rate: float = 0.0,
    rate_limit: int = 0,
    seed: int = 0,
    keys: dict[str, str] | None = None,
) -> None:
    """Print the base URLs and keys, then serve until interrupted.

    `keys` overrides the default keys per provider (they also come from
    `TAGGING_SANDBOX_ATLAS_KEY`, `..._NEKT_KEY`, `..._IMMUTA_KEY`).
    """
    config = SandboxConfig(
        db=db,
        size=WorldSize(
            atlas_points=atlas_points,
            nekt_resources=nekt_resources,
            immuta_datasources=immuta_datasources,
        ),
        faults=Faults(latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, seed=seed),
        keys=keys_from_env() | (keys or {}),
    )
    app = create_app(config)
    print(banner(config, host, port), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def banner(config: SandboxConfig, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    f = config.faults
    lines = [
        f"Tagging sandbox on {base}  (state: {config.db})",
        f"  Atlas   {base}/atlas    key: {config.keys['atlas']}   (Authorization: Bearer KEY)",
        f"  Nekt    {base}/nekt     key: {config.keys['nekt']}   (x-api-key: KEY)",
        f"  Immuta  {base}/immuta   key: {config.keys['immuta']}   (Authorization: KEY)",
        f"  Inspect {base}/_sandbox/state  {base}/_sandbox/world  POST {base}/_sandbox/reset",
    ]
    if f.latency_ms or f.fail_rate or f.rate_limit:
        lines.append(
            f"  Faults: latency {f.latency_ms} ms, fail rate {f.fail_rate}, "
            f"rate limit {f.rate_limit}/s, seed {f.seed}"
        )
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
