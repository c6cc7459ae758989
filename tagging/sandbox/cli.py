"""`python -m tagging sandbox`: the sandbox's command-line options (the server is imported
only when the command runs)."""

from __future__ import annotations

import typer


def sandbox_command(
    host: str = typer.Option("127.0.0.1", help="Interface to bind; loopback by default."),
    port: int = typer.Option(8765, help="Port to listen on."),
    db: str = typer.Option(":memory:", help="SQLite file for state, or :memory:."),
    atlas_points: int = typer.Option(10_000, help="Points in the demo Atlas projection."),
    nekt_resources: int = typer.Option(96, help="Nekt resources, spread over the 8 types."),
    immuta_datasources: int = typer.Option(600, help="Immuta data sources (ids 1..N)."),
    latency_ms: int = typer.Option(0, help="Added latency per API request."),
    fail_rate: float = typer.Option(0.0, help="Share of API requests answered 500/502/503."),
    rate_limit: int = typer.Option(0, help="Requests per second before 429 (0: no limit)."),
    seed: int = typer.Option(0, help="Seed for the fault dice."),
    atlas_port: int | None = typer.Option(None, help="Also serve Atlas at the root of this port."),
    nekt_port: int | None = typer.Option(None, help="Also serve Nekt at the root of this port."),
    immuta_port: int | None = typer.Option(
        None, help="Also serve Immuta at the root of this port (for absolute-path clients)."
    ),
) -> None:
    """Run the local sandbox that speaks all three tagging APIs."""
    from tagging.sandbox.server import serve

    own_ports = {"atlas": atlas_port, "nekt": nekt_port, "immuta": immuta_port}

    serve(
        host=host,
        port=port,
        db=db,
        atlas_points=atlas_points,
        nekt_resources=nekt_resources,
        immuta_datasources=immuta_datasources,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        seed=seed,
        provider_ports={p: n for p, n in own_ports.items() if n is not None},
    )
