"""Hostile and broken input as one corpus: files, ids, tag names, configuration, API answers.

Every case runs the real CLI and expects one clear line: exit 2 with exactly one `error: …`
line on stderr, or exit 1 with the reason on stdout; never a traceback. Before each case the
journal holds a finished job, and after it that job and its tags are still there. The cases
the app can reach (uploads, tag names, configuration) also run in AppTest, where they must show
one st.error, raise nothing, and keep the loaded dataset and the journal.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pandas as pd
import pytest
from app_harness import app_env, errors, open_app, select_rows  # noqa: F401
from cli_support import P, cli_env, run_cli
from conftest import KEYS, Sandbox, free_port
from streamlit.testing.v1 import AppTest

import tagging.config
from tagging.__main__ import run as cli_run
from tagging.config import connect
from tagging.demo import nekt_resource_id
from tagging.executor import push
from tagging.journal import Journal
from tagging.plan import TagOperation, plan

TABLE = nekt_resource_id("tables", 1)
Handler = Callable[[httpx.Request], httpx.Response]
AppKind = Literal["upload", "tag", "config"]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]  # "{tmp}" and "{dead}" are filled in per run
    code: int  # 2: bad input or configuration; 1: finished with ids not applied
    message: str  # in the error line (exit 2) or on stdout (exit 1)
    files: dict[str, bytes] = field(default_factory=dict)  # written under {tmp}
    env: dict[str, str | None] = field(default_factory=dict)  # overrides of the sandbox env
    api: Handler | None = None  # answers the sandbox cannot give: a MockTransport, in-process
    app: AppKind | None = None  # the app can reach this case too
    app_message: str | None = None  # when the app words it differently


def atlas_push(*rest: str) -> tuple[str, ...]:
    return ("push", "--provider", "atlas", "--projection-id", P, "--tag", "T", *rest)


def atlas_file(name: str) -> tuple[str, ...]:
    return atlas_push("--ids-file", f"{{tmp}}/{name}", "--id-column", "id")


def nekt_push(tag: str, *rest: str) -> tuple[str, ...]:
    return ("push", "--provider", "nekt", "--tag", tag, *rest)


def immuta_push(tag: str, *rest: str) -> tuple[str, ...]:
    return ("push", "--provider", "immuta", "--tag", tag, *rest)


def parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"id": ["1", "2"]}).to_parquet(buf)
    return buf.getvalue()


def zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


# --- API answers the sandbox cannot produce ------------------------------------------------

ATLAS_OK = {"success": True, "tag_id": "t", "points_tagged": 2}


def answer(listing: httpx.Response | None = None, pushed: httpx.Response | None = None) -> Handler:
    """GETs (list tags, read state) get `listing`, writes get `pushed`; both default to OK."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return listing or httpx.Response(200, json=[])
        return pushed or httpx.Response(200, json=ATLAS_OK)

    return handle


def html(status: int) -> httpx.Response:
    return httpx.Response(status, text=f"<html><body><h1>{status} oops</h1></body></html>")


def immuta_answer(pushed: httpx.Response) -> Handler:
    """Immuta knows the tag, data source 6 carries none yet, and the add gets `pushed`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/tag"):
            return httpx.Response(200, json=[{"name": "Confidential", "deleted": False}])
        return httpx.Response(200, json=[]) if request.method == "GET" else pushed

    return handle


# fmt: off
CASES = [
    # files (through --ids-file; the app uploads the same bytes)
    Case("empty-file", atlas_file("empty.csv"), 2, "empty.csv is empty",
         {"empty.csv": b""}, app="upload"),
    Case("header-only", atlas_file("header.csv"), 2, "has a header but no rows",
         {"header.csv": b"id,name\n"}, app="upload"),
    Case("no-id-column", atlas_file("names.csv"), 2, "id column 'id' is not in names.csv",
         {"names.csv": b"name,score\nann,1\n"}),
    Case("ragged-rows", atlas_file("ragged.csv"), 2, "ragged.csv",
         {"ragged.csv": b"id,x\n1,a,b\n2,c,d\n"}, app="upload"),
    Case("non-utf8-binary-txt", atlas_push("--ids-file", "{tmp}/ids.txt"), 2, "ids.txt",
         {"ids.txt": b"\xff\xfe\x00\x81\x9d\x00garbage"}),
    Case("nul-bytes-csv", atlas_file("nul.csv"), 2, "binary content",
         {"nul.csv": b"id\n1\x00\n2\n"}, app="upload"),
    Case("parquet-named-csv", atlas_file("wrong.csv"), 2, "looks like a Parquet file",
         {"wrong.csv": parquet_bytes()}, app="upload"),
    Case("corrupt-parquet", atlas_file("bad.parquet"), 2, "not a valid Parquet file",
         {"bad.parquet": b"PAR1garbagegarbagePAR1"}, app="upload"),
    Case("corrupt-xlsx-zip", atlas_file("bad.xlsx"), 2, "bad.xlsx is not a valid Excel",
         {"bad.xlsx": b"PK\x03\x04garbage"}, app="upload"),
    Case("zip-without-workbook", atlas_file("book.xlsx"), 2, "book.xlsx",
         {"book.xlsx": zip_without_workbook()}, app="upload"),
    Case("random-bytes-xlsx", atlas_file("noise.xlsx"), 2, "noise.xlsx is not a valid Excel",
         {"noise.xlsx": bytes(range(256)) * 2}),
    Case("json-scalar", atlas_file("n.json"), 2, "is JSON but not a table",
         {"n.json": b"42"}, app="upload"),
    Case("json-flat-object", atlas_file("o.json"), 2, "is JSON but not a table",
         {"o.json": b'{"a": 1, "b": "x"}'}),
    Case("json-list-of-lists", atlas_file("l.json"), 2, "is JSON but not a table",
         {"l.json": b"[[1, 2], [3]]"}, app="upload"),
    Case("json-empty-list", atlas_file("e.json"), 2, "holds an empty list",
         {"e.json": b"[]"}),
    Case("json-invalid", atlas_file("bad.json"), 2, "bad.json is not valid JSON",
         {"bad.json": b"{not json"}, app="upload"),
    Case("jsonl-broken-line", atlas_file("rows.jsonl"), 2, "not valid JSON Lines",
         {"rows.jsonl": b'{"id": "1"}\n{"id": \n'}, app="upload"),
    Case("ids-file-missing", atlas_push("--ids-file", "{tmp}/nowhere.csv"), 2, "no file"),
    Case("ids-file-is-a-folder", atlas_push("--ids-file", "{tmp}"), 2, "no file"),
    Case("duplicate-and-null-ids", atlas_file("dups.csv"), 0, "applied 2, not found 0",
         {"dups.csv": b"id,x\n1,a\n1,b\n,c\n2,d\n"}),
    Case("mixed-types-json", atlas_file("mixed.json"), 1, "applied 1, not found 3",
         {"mixed.json": b'[{"id": 1}, {"id": "a"}, {"id": 2.5}, {"id": true}]'}),
    Case("bom-header", atlas_file("bom.csv"), 0, "applied 2",
         {"bom.csv": "\ufeffid\n1\n2\n".encode()}),
    Case("windows-1252-text", atlas_file("latin.csv"), 0, "applied 1",
         {"latin.csv": "id,name\n1,café\n".encode("cp1252")}),
    Case("one-megabyte-cell", atlas_file("big.csv"), 0, "applied 1",
         {"big.csv": b"id,blob\n1," + b"x" * 1_000_000 + b"\n"}),
    Case("one-megabyte-id", atlas_file("bigid.csv"), 1, "applied 0, not found 1",
         {"bigid.csv": b"id\n" + b"7" * 1_000_000 + b"\n"}),
    Case("five-thousand-digit-model-id",
         ("push", "--provider", "immuta", "--model-type", "datasource", "--tag", "Confidential",
          "--ids", "9" * 5_000), 1, "applied 0, not found 1"),
    # ids and kinds
    Case("no-ids", atlas_push("--ids", " , "), 2, "no ids"),
    Case("atlas-projection-not-uuid",
         ("push", "--provider", "atlas", "--projection-id", "p-1", "--tag", "T", "--ids", "1"),
         2, "is not a UUID"),
    Case("atlas-unknown-projection",
         ("push", "--provider", "atlas", "--projection-id", "00000000-0000-0000-0000-000000000000",
          "--tag", "T", "--ids", "1"), 2, "HTTP 404"),
    Case("nekt-id-not-uuid", nekt_push("T", "--resource-type", "tables", "--ids", "12"),
         2, "UUID"),
    Case("nekt-unknown-resource-type",
         nekt_push("T", "--resource-type", "planets", "--ids", TABLE), 2, "planets"),
    Case("nekt-bad-type-in-column",
         nekt_push("T", "--ids-file", "{tmp}/r.csv", "--id-column", "id",
                   "--type-column", "kind"), 2, "galaxies",
         {"r.csv": f"id,kind\n{TABLE},tables\n{TABLE[:-1]}0,galaxies\n".encode()}),
    Case("nekt-unknown-uuid", nekt_push("T", "--resource-type", "tables", "--ids",
                                        "00000000-0000-4000-8000-000000000000"),
         1, "not found: 00000000-0000-4000-8000-000000000000"),
    Case("immuta-unknown-model-type",
         immuta_push("Confidential", "--model-type", "table", "--ids", "6"), 2,
         "unknown Immuta model type 'table'"),
    Case("immuta-bad-column-model-id",
         immuta_push("Confidential", "--model-type", "column", "--ids", "6"), 2,
         "use <datasourceId>_<column>"),
    Case("immuta-datasource-id-not-a-number",
         immuta_push("Confidential", "--model-type", "datasource", "--ids", "abc"), 2,
         "is not valid"),
    Case("immuta-unknown-column",
         immuta_push("Confidential", "--model-type", "column", "--ids", "6_nosuchcol"), 1,
         "not found: 6_nosuchcol"),
    # tag names
    Case("atlas-empty-tag", ("push", "--provider", "atlas", "--projection-id", P, "--tag", "",
                             "--ids", "1"), 2, "tag names must not be empty"),
    Case("nekt-whitespace-tag", nekt_push("   ", "--resource-type", "tables", "--ids", TABLE),
         2, "Nekt tag names must not be empty"),
    Case("nekt-tag-over-255", nekt_push("n" * 256, "--resource-type", "tables", "--ids", TABLE),
         2, "the limit is 255", app="tag"),
    Case("immuta-empty-segment",
         immuta_push("Discovered..Passport", "--model-type", "datasource", "--ids", "6"), 2,
         "empty or space-padded part", app="tag"),
    Case("immuta-trailing-dot",
         immuta_push("Discovered.", "--model-type", "datasource", "--ids", "6"), 2,
         "must not start or end with a dot", app="tag"),
    Case("immuta-unknown-tag",
         immuta_push("No.Such.Tag", "--model-type", "datasource", "--ids", "6"), 2,
         "Immuta has no tag 'No.Such.Tag'", app="tag"),
    Case("zero-width-tag", ("push", "--provider", "atlas", "--projection-id", P, "--tag",
                            "\u200b", "--ids", "1"), 2, "is invisible once normalised",
         app="tag"),
    Case("immuta-fullwidth-id",
         immuta_push("Confidential", "--model-type", "datasource", "--ids", "\uff16"), 2,
         "Immuta datasource id '\uff16' is not valid"),
    # configuration
    Case("missing-key", immuta_push("Confidential", "--model-type", "datasource", "--ids", "6"),
         2, "IMMUTA_API_KEY is not set",
         env={"IMMUTA_API_URL": "https://immuta.example.com", "IMMUTA_API_KEY": None},
         app="config", app_message="set IMMUTA_API_KEY or fill in the API key field"),
    Case("wrong-key", atlas_push("--ids", "1"), 2, "rejected the key (HTTP 401)",
         env={"NOMIC_API_KEY": "wrong-key-123"}, app="config"),
    Case("bad-url", atlas_push("--ids", "1"), 2, "is not a valid URL",
         env={"ATLAS_API_URL": "ftp//nowhere"}, app="config"),
    Case("url-with-credentials", atlas_push("--ids", "1"), 2, "must not carry credentials",
         env={"ATLAS_API_URL": "http://user:pw@127.0.0.1:1/atlas"}),
    Case("unreachable-host", atlas_push("--ids", "1"), 2, "cannot reach",
         env={"ATLAS_API_URL": "{dead}/atlas"}, app="config"),
    Case("key-with-line-break", atlas_push("--ids", "1"), 2, "contains spaces or line breaks",
         env={"NOMIC_API_KEY": "abc\ndef"}),
    Case("unknown-provider", ("push", "--provider", "jira", "--tag", "T", "--ids", "1"), 2,
         "use atlas, nekt or immuta"),
    Case("chunk-size-zero", atlas_push("--ids", "1", "--chunk-size", "0"), 2, "--chunk-size"),
    Case("journal-not-sqlite", atlas_push("--ids", "1", "--journal", "{tmp}/notes.db"), 2,
         "cannot open the journal", {"notes.db": b"this is not a database" * 100}),
    # API answers
    Case("api-401-on-read", atlas_push("--ids", "1"), 2, "rejected the key (HTTP 401)",
         api=answer(httpx.Response(401, json={"detail": "Not authenticated"}))),
    Case("api-403-on-read", atlas_push("--ids", "1"), 2, "rejected the key (HTTP 403)",
         api=answer(httpx.Response(403, json={"detail": "Forbidden"}))),
    Case("api-403-mid-push", atlas_push("--ids", "1", "--json"), 2,
         "rejected the key (HTTP 403)",
         api=answer(pushed=httpx.Response(403, json={"detail": "Forbidden"}))),
    Case("api-404-html-on-read", atlas_push("--ids", "1"), 2, "HTTP 404: <html>",
         api=answer(html(404))),
    Case("api-422-with-details", atlas_push("--ids", "1,2"), 1, "HTTP 422: ids: bad ids",
         api=answer(pushed=httpx.Response(422, json={"detail": [
             {"loc": ["body", "ids"], "msg": "bad ids", "type": "value_error"}]}))),
    Case("api-400-html-body", atlas_push("--ids", "1,2"), 1, "HTTP 400: <html>",
         api=answer(pushed=html(400))),
    Case("api-200-not-json-on-read", atlas_push("--ids", "1"), 2, "not a tag list",
         api=answer(httpx.Response(200, text="<html>maintenance</html>"))),
    Case("api-200-wrong-shape-on-read",
         immuta_push("Confidential", "--model-type", "datasource", "--ids", "6"), 2,
         "not a tag list", api=answer(httpx.Response(200, json={"tags": "Confidential"}))),
    Case("api-200-unconfirmed-push", atlas_push("--ids", "1,2"), 1,
         "Atlas did not confirm", api=answer(pushed=httpx.Response(200, text="OK"))),
    Case("api-200-points-tagged-not-a-count", atlas_push("--ids", "1,2"), 1,
         "Atlas answered points_tagged='lots'",
         api=answer(pushed=httpx.Response(200, json={**ATLAS_OK, "points_tagged": "lots"}))),
    Case("non-ascii-key", atlas_push("--ids", "1"), 2, "NOMIC_API_KEY contains non-ASCII",
         env={"NOMIC_API_KEY": "sandbox\u2013atlas\u2013key"}),
    Case("url-with-command-substitution", atlas_push("--ids", "1"), 2,
         "ATLAS_API_URL has characters a shell would run",
         env={"ATLAS_API_URL": "http://127.0.0.1:1/atlas$(touch${IFS}/tmp/pwned)"},
         app="config", app_message="_API_URL has characters a shell would run"),
    Case("immuta-400-on-add",
         immuta_push("Confidential", "--model-type", "datasource", "--ids", "6"), 1,
         "HTTP 400: Tag payload is invalid",
         api=immuta_answer(httpx.Response(400, json={
             "statusCode": 400, "error": "Bad Request", "message": "Tag payload is invalid"}))),
]
# fmt: on

MOCK_URLS = {
    "atlas": ("ATLAS_API_URL", "NOMIC_API_KEY"),
    "nekt": ("NEKT_API_URL", "NEKT_API_KEY"),
    "immuta": ("IMMUTA_API_URL", "IMMUTA_API_KEY"),
}


def seed_journal(sandbox: Sandbox, path: Path) -> dict:
    """A finished job that no later failure may disturb."""
    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    op = TagOperation("atlas", "add", ("Seeded",), ["10", "11"], {"projection_id": P})
    push(plan(op), conn, journal=Journal(path))
    [job] = Journal(path).jobs()
    return job


def fill(text: str, tmp_path: Path, dead: str) -> str:
    return text.replace("{tmp}", str(tmp_path)).replace("{dead}", dead)


def run_case(
    case: Case, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> tuple[int, str, str]:
    dead = f"http://127.0.0.1:{free_port()}"
    args = [fill(a, tmp_path, dead) for a in case.args]
    if "--journal" not in args:
        args += ["--journal", str(tmp_path / "journal.db")]
    if case.api is None:
        env = cli_env(sandbox, **{k: v and fill(v, tmp_path, dead) for k, v in case.env.items()})
        done = run_cli(sandbox, *args, env=env)
        return done.returncode, done.stdout, done.stderr
    # In-process, so the connection can carry a MockTransport.
    provider = args[args.index("--provider") + 1]
    url_env, key_env = MOCK_URLS[provider]
    monkeypatch.setenv(url_env, "https://api.example.com")
    monkeypatch.setenv(key_env, "mock-key")
    real = tagging.config.connect
    transport = httpx.MockTransport(case.api)
    monkeypatch.setattr(
        tagging.config, "connect", lambda p, **kw: real(p, **{**kw, "transport": transport})
    )
    capfd.readouterr()
    code = cli_run(args)
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_says_one_clear_line(
    case: Case, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    for name, data in case.files.items():
        (tmp_path / name).write_bytes(data)
    seeded = seed_journal(sandbox, tmp_path / "journal.db")
    code, out, err = run_case(case, sandbox, tmp_path, monkeypatch, capfd)
    assert code == case.code, (out, err)
    assert "Traceback" not in out + err and "unexpected" not in err
    assert len(out) < 5_000, "a summary, not a dump of the input"
    if case.code == 2:
        assert err.count("\n") == 1 and err.startswith("error: "), err
        assert case.message in err, err
        assert "Usage" not in err
    else:
        assert err.count("\n") <= 1, err  # the "job …: N ids in M batches" line
        assert case.message in out, out
    for key in ("wrong-key-123", "mock-key", "abc\ndef", "pw@"):
        assert key not in out + err
    # nothing already done is lost
    jobs = Journal(tmp_path / "journal.db").jobs()
    assert seeded in jobs
    tagged = sandbox.state()["atlas"].get(P, {}).get("Seeded", [])
    assert sorted(tagged) == ["10", "11"]


# --- the same cases in the app -------------------------------------------------------------

APP_CASES = [c for c in CASES if c.app is not None]
TAG_PROVIDER = {"nekt-tag-over-255": "nekt"}
CONFIG_PROVIDER = {"missing-key": "immuta"}


def _upload(at: AppTest, case: Case) -> AppTest:
    name, data = next(iter(case.files.items()))
    at.file_uploader(key="ds_upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def _tag(at: AppTest, case: Case) -> AppTest:
    at.switch_page("app_pages/tag.py").run()
    select_rows(at, [0, 1])
    tag = case.args[case.args.index("--tag") + 1]
    at.text_input(key="tag_new").set_value(tag).run()
    return at


def _config(
    at: AppTest, case: Case, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    """Live mode with the case's URL and key in the sidebar form, then "Test connection".

    Nekt stands in for Atlas here: a live Atlas test needs a projection id the sidebar lacks.
    """
    provider = CONFIG_PROVIDER.get(case.name, "nekt")
    url_env, key_env = MOCK_URLS[provider]
    dead = f"http://127.0.0.1:{free_port()}"
    url = next((v for k, v in case.env.items() if k.endswith("_URL")), None) or sandbox.api(
        provider
    )
    key = next((v for k, v in case.env.items() if k.endswith("_KEY")), None)
    if key is None and any(k.endswith("_KEY") for k in case.env):
        monkeypatch.delenv(key_env)  # no key anywhere: not in env, not in the form
    at.sidebar.radio(key="mode").set_value("live").run()
    at.sidebar.text_input(key=f"live_url_{provider}").set_value(fill(url, tmp_path, dead))
    at.sidebar.text_input(key=f"live_key_{provider}").set_value(key or "").run()
    return at.sidebar.button(key="test_connection").click().run()


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("case", APP_CASES, ids=[c.name for c in APP_CASES])
def test_app_shows_one_error_and_keeps_its_work(
    case: Case, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Path(os.environ["TAGGING_JOURNAL"])  # set by app_env
    seeded = seed_journal(sandbox, journal)
    provider = TAG_PROVIDER.get(case.name) or ("immuta" if "immuta" in case.name else "atlas")
    if case.app == "config":
        provider = CONFIG_PROVIDER.get(case.name, "nekt")
    at = open_app(provider)
    before = at.session_state["workset"]
    if case.app == "upload":
        at = _upload(at, case)
    elif case.app == "tag":
        at = _tag(at, case)
    else:
        at = _config(at, case, sandbox, tmp_path, monkeypatch)
    assert not at.exception, at.exception
    shown = errors(at) + [e.value for e in at.sidebar.error]
    shown = list(dict.fromkeys(shown))
    assert len(shown) == 1, shown
    assert (case.app_message or case.message) in shown[0]
    assert "\n" not in shown[0] and "Traceback" not in shown[0]
    assert "wrong-key-123" not in shown[0]
    # the dataset loaded before and the journal's job are still there
    assert at.session_state["workset"].name == before.name
    assert len(at.session_state["workset"].frame) == len(before.frame)
    assert seeded in Journal(journal).jobs()
