"""`python -m tagging sandbox`: serve the sandbox with uvicorn until stopped.

With `--atlas-port` (and the like) one process runs several uvicorn servers on one event
loop: the main app on `port`, and each of those providers' APIs at the root of its port.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import uvicorn

from tagging import providers
from tagging.demo import WorldSize
from tagging.sandbox.app import (
    KEY_ENV,
    SandboxConfig,
    create_app,
    keys_from_env,
    provider_root_app,
)
from tagging.sandbox.faults import Faults

# Seconds an idle keep-alive connection stays open: nginx's default, where uvicorn's 5 s let a
# client reuse a pooled connection just as the server closed it (a ReadError) on a busy machine.
KEEP_ALIVE_S = 75


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
    provider_ports: Mapping[str, int] | None = None,
) -> None:
    """Print the base URLs and keys, then serve until interrupted.

    `keys` overrides the default keys per provider (they also come from
    `TAGGING_SANDBOX_ATLAS_KEY`, `..._NEKT_KEY`, `..._IMMUTA_KEY`). `provider_ports`
    (`{"immuta": 8767}`) also serves those APIs at the root of their own ports.
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
    ports = dict(provider_ports or {})
    app = create_app(config)
    print(banner(config, host, port, ports), flush=True)
    if not ports:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        return
    servers = [_server(app, host, port, lifespan="on")]
    servers += [
        _server(provider_root_app(app, p), host, n, lifespan="off") for p, n in ports.items()
    ]
    asyncio.run(_serve_all(servers))


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Each server would take SIGINT/SIGTERM for itself alone; `_serve_all` stops them all.
        yield


def _server(app: object, host: str, port: int, lifespan: str) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        lifespan=lifespan,  # type: ignore[arg-type]
    )
    return _Server(config)


async def _serve_all(servers: list[_Server]) -> None:
    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    # The main app (with the lifespan that closes the store) stops last.
    await asyncio.gather(*(s.serve() for s in reversed(servers)))


def banner(
    config: SandboxConfig, host: str, port: int, ports: Mapping[str, int] | None = None
) -> str:
    base = f"http://{host}:{port}"
    ports = ports or {}
    own = {p: f"  and http://{host}:{n}" for p, n in ports.items()}
    f = config.faults

    # Key variables, never key values: a banner ends up in terminals, logs and screenshots.
    def key(provider: str, header: str) -> str:
        client = providers.get(provider).key_env
        return f"key: ${client} (sandbox side: {KEY_ENV[provider]} or its default; {header})"

    lines = [
        f"Tagging sandbox on {base}  (state: {config.db})",
        f"  Atlas   {base}/atlas    {key('atlas', 'Authorization: Bearer KEY')}"
        + own.get("atlas", ""),
        f"  Nekt    {base}/nekt     {key('nekt', 'x-api-key: KEY')}" + own.get("nekt", ""),
        f"  Immuta  {base}/immuta   {key('immuta', 'Authorization: KEY')}" + own.get("immuta", ""),
        f"  Inspect {base}/_sandbox/state  {base}/_sandbox/world  POST {base}/_sandbox/reset",
    ]
    if f.latency_ms or f.fail_rate or f.rate_limit:
        lines.append(
            f"  Faults: latency {f.latency_ms} ms, fail rate {f.fail_rate}, "
            f"rate limit {f.rate_limit}/s, seed {f.seed}"
        )
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
