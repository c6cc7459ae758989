"""The sandbox as one ASGI app: the three provider APIs under prefixes, plus inspection.

`provider_root_app` serves one provider's API at the root of a port of its own (same state,
same keys, same faults) for clients that use absolute paths.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp

from tagging.demo import SANDBOX_KEYS, World, WorldSize
from tagging.sandbox.atlas_api import create_atlas_app
from tagging.sandbox.faults import FaultMiddleware, Faults, FaultState
from tagging.sandbox.immuta_api import create_immuta_app
from tagging.sandbox.immuta_hot import HotPath
from tagging.sandbox.nekt_api import create_nekt_app
from tagging.sandbox.store import Store

ARROW_STREAM = "application/vnd.apache.arrow.stream"
KEY_ENV = {p: f"TAGGING_SANDBOX_{p.upper()}_KEY" for p in SANDBOX_KEYS}


def keys_from_env() -> dict[str, str]:
    """Default keys, each overridable by `TAGGING_SANDBOX_<PROVIDER>_KEY`."""
    return {p: os.environ.get(KEY_ENV[p]) or k for p, k in SANDBOX_KEYS.items()}


@dataclass(frozen=True)
class SandboxConfig:
    db: str = ":memory:"
    size: WorldSize = field(default_factory=WorldSize)
    faults: Faults = field(default_factory=Faults)
    keys: dict[str, str] = field(default_factory=keys_from_env)


class FaultsBody(BaseModel):
    latency_ms: int = Field(0, ge=0, le=10_000)
    fail_rate: float = Field(0.0, ge=0.0, le=0.9)
    rate_limit: int = Field(0, ge=0)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build the sandbox app (usable in-process with an ASGI transport or TestClient)."""
    config = config or SandboxConfig()
    world = World(config.size)
    store = Store(config.db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()  # checkpoints the WAL so the file is complete on its own

    app = FastAPI(
        title="Tagging sandbox", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.store = store
    app.state.world = world
    app.state.config = config

    @app.get("/_sandbox/world")
    def sandbox_world() -> dict[str, object]:
        return world.to_json()

    @app.get("/_sandbox/state")
    def sandbox_state() -> dict[str, Any]:
        return store.state()

    @app.get("/_sandbox/state.arrow")
    def sandbox_state_arrow(provider: str, projection_id: str | None = None) -> Response:
        """One provider's part of the state as an Arrow IPC stream (columns id, tag and, for
        Immuta, kind): what the workbench's Coverage page reads, without a JSON list of a
        million ids to build and parse."""
        if provider not in providers:
            raise HTTPException(404, f"no provider {provider!r}: use {', '.join(providers)}")
        table = store.state_table(provider, projection_id)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM)

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> dict[str, bool]:
        store.reset()
        app.state.fault_state.override = None  # back to the start flags' faults too
        return {"reset": True}

    @app.get("/_sandbox/faults")
    def sandbox_faults() -> dict[str, Any]:
        return asdict(app.state.fault_state.override or config.faults)

    @app.post("/_sandbox/faults")
    def sandbox_set_faults(body: FaultsBody) -> dict[str, Any]:
        """Turn faults on or off while running (the app's "flaky API" demo switch)."""
        faults = Faults(**body.model_dump(), seed=config.faults.seed)
        app.state.fault_state.override = faults
        return asdict(faults)

    providers = {
        "atlas": create_atlas_app(store, world, config.keys["atlas"]),
        "nekt": create_nekt_app(store, world, config.keys["nekt"]),
        "immuta": create_immuta_app(store, world, config.keys["immuta"]),
    }
    for name, provider_app in providers.items():
        app.mount(f"/{name}", provider_app)
    app.state.providers = providers
    app.state.fault_state = FaultState(config.faults.seed)
    # Inside the faults (a push's calls still wait the latency and may fail), outside routing.
    app.add_middleware(HotPath, add=providers["immuta"].state.add_tags, prefix="/immuta")
    app.add_middleware(FaultMiddleware, faults=config.faults, state=app.state.fault_state)
    return app


def provider_root_app(app: FastAPI, provider: str) -> ASGIApp:
    """`provider`'s API of the sandbox `app` at the root path, behind the same faults."""
    config: SandboxConfig = app.state.config
    api: ASGIApp = app.state.providers[provider]
    if provider == "immuta":
        api = HotPath(api, add=api.state.add_tags)  # type: ignore[attr-defined]
    return FaultMiddleware(
        api,
        faults=config.faults,
        state=app.state.fault_state,
        provider=provider,
    )
