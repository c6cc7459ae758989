"""The attack surface: formula cells in exports, no eval on user text, the sandbox on loopback
and behind its keys on every route, and a schemathesis run that finds no 500s."""

from __future__ import annotations

import inspect
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pandas as pd
import pytest
import schemathesis
from conftest import KEYS, ROOT, Sandbox
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok

from tagging.config import connect
from tagging.demo import ATLAS_PROJECTION_ID, World, WorldSize
from tagging.executor import push
from tagging.export import to_csv_bytes, to_excel_bytes
from tagging.journal import Journal
from tagging.plan import TagOperation, plan
from tagging.sandbox import server
from tagging.sandbox.atlas_api import create_atlas_app
from tagging.sandbox.immuta_api import create_immuta_app
from tagging.sandbox.nekt_api import create_nekt_app
from tagging.sandbox.store import Store

HOSTILE = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "7"]
AUTH = {
    "atlas": {"Authorization": f"Bearer {KEYS['atlas']}"},
    "nekt": {"x-api-key": KEYS["nekt"]},
    "immuta": {"Authorization": KEYS["immuta"]},
}
WRONG_AUTH = {
    "atlas": {"Authorization": "Bearer nope"},
    "nekt": {"x-api-key": "nope"},
    "immuta": {"Authorization": "Bearer nope"},
}


# --- exports -----------------------------------------------------------------------------


def test_journal_exports_neutralise_formula_cells(sandbox: Sandbox, tmp_path: Path) -> None:
    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    book = Journal(tmp_path / "journal.db")
    op = TagOperation(
        "atlas", "add", ("=cmd()", "ok"), HOSTILE, {"projection_id": ATLAS_PROJECTION_ID}
    )
    result = push(plan(op), conn, journal=book)
    assert result.job_id is not None
    csv = pd.read_csv(io.BytesIO(book.export_job(result.job_id, "csv")), dtype=str)
    assert sorted(csv["id"]) == sorted(["'" + i for i in HOSTILE[:-1]] + ["7"])
    assert set(csv["tags"]) == {"'=cmd();ok"}
    frame = book.job_frame(result.job_id)
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    assert sheet is not None
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c[0] in "=+-@"], cells
    assert sheet.cell(row=2, column=1).data_type == "s"  # text, never a formula


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_quoted_in_csv_and_excel(start: str) -> None:
    frame = pd.DataFrame({f"{start}col": [f"{start}1+2", "plain"], "n": [-5, 3]})
    csv = to_csv_bytes(frame).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith(("'", "\"'"))
    assert f"'{start}1+2" in csv and "-5" in csv  # numbers stay numbers
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    assert sheet is not None
    cell = str(sheet["A2"].value)
    assert cell.startswith("'") and cell.endswith("1+2") and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -5


# --- source ------------------------------------------------------------------------------

DANGEROUS = re.compile(r"\beval\(|\bexec\(|\.query\(|pd\.eval|__import__\(|pickle\.loads?\(")


def test_no_eval_exec_or_query_on_user_text_in_the_code() -> None:
    files = [
        *(ROOT / "tagging").rglob("*.py"),
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "app_pages").rglob("*.py"),
        ROOT / "app.py",
    ]
    assert len(files) > 20
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if DANGEROUS.search(line)
    ]
    assert hits == []


# --- the sandbox ---------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (from /proc/net/tcp and tcp6)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                out.add(address)
    return out


def test_the_sandbox_binds_loopback_by_default(sandbox: Sandbox) -> None:
    assert inspect.signature(server.serve).parameters["host"].default == "127.0.0.1"
    port = int(sandbox.url.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else


def sandbox_apps() -> dict[str, Any]:
    world, store = World(WorldSize(atlas_points=100)), Store(":memory:")
    return {
        "atlas": create_atlas_app(store, world, KEYS["atlas"]),
        "nekt": create_nekt_app(store, world, KEYS["nekt"]),
        "immuta": create_immuta_app(store, world, KEYS["immuta"]),
    }


def provider_routes() -> Iterator[tuple[str, str, str]]:
    """(provider, method, path with parameters filled) for every route of every provider."""
    for provider, app in sandbox_apps().items():
        for path, item in app.openapi()["paths"].items():
            filled = re.sub(r"\{[^}]+\}", "1", path)
            for method in item:
                yield provider, method.upper(), filled


ROUTES = list(provider_routes())


def test_every_provider_route_is_listed() -> None:
    assert len(ROUTES) >= 12
    assert {p for p, _, _ in ROUTES} == {"atlas", "nekt", "immuta"}


@pytest.mark.parametrize(("provider", "method", "path"), ROUTES)
def test_every_route_rejects_a_missing_or_wrong_key(
    sandbox: Sandbox, provider: str, method: str, path: str
) -> None:
    before = sandbox.state()
    url = f"{sandbox.api(provider)}{path}"
    body = {"projection_id": ATLAS_PROJECTION_ID, "ids": ["1"], "tag_name": "x", "name": "x"}
    for headers in ({}, WRONG_AUTH[provider], {"Authorization": "", "x-api-key": ""}):
        send: Callable[..., httpx.Response] = httpx.request
        kwargs: dict[str, Any] = {"headers": headers, "timeout": 10}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = body
        response = send(method, url, params={"projection_id": ATLAS_PROJECTION_ID}, **kwargs)
        assert response.status_code == 401, (headers, response.status_code, response.text)
        assert KEYS[provider] not in response.text
    assert sandbox.state() == before


# --- fuzzing the sandbox's OpenAPI --------------------------------------------------------


def fuzz(operation: Any, base_url: str, headers: dict[str, str], codes: set[int]) -> None:
    """A few generated requests to one operation; every answer must be below 500."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        codes.add(response.status_code)
        assert response.status_code < 500, (case.path, response.text[:300])

    call()


def test_schemathesis_finds_no_server_errors(sandbox: Sandbox) -> None:
    """Every operation of the three sandbox APIs, with generated inputs and a valid key:
    bounded (a few examples each, no shrinking or stored examples) and with faults off."""
    seen: dict[str, set[int]] = {}
    for provider, app in sandbox_apps().items():
        schema = schemathesis.openapi.from_dict(app.openapi())
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result  # the schema itself is valid
            operation = result.ok()
            name = f"{provider} {operation.method.upper()} {operation.path}"
            codes = seen.setdefault(name, set())

            fuzz(operation, sandbox.api(provider), AUTH[provider], codes)
    assert len(seen) == len(ROUTES)
    assert all(codes for codes in seen.values())
    assert not [n for n, codes in seen.items() if any(c >= 500 for c in codes)]
