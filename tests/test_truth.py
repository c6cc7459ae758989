"""Provider truth: plan, verify and undo from what the APIs hold; nothing lost (issue 13).

Each scenario runs the CLI (or the library) against a real sandbox and asserts the final
`/_sandbox/state`, the journal and the exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from cli_support import P, atlas_tagged, run_cli, run_json
from conftest import KEYS, Sandbox

import tagging
from tagging.journal import Journal


def ids(first: int, last: int) -> str:
    return ",".join(str(i) for i in range(first, last + 1))


def push_atlas(sandbox: Sandbox, j: tuple[str, str], tag: str, id_list: str, *more: str) -> dict:
    args = ("push", "--provider", "atlas", "--projection-id", P, "--tag", tag, "--ids", id_list)
    return run_json(sandbox, *args, *j, *more)  # type: ignore[no-any-return]


def atlas_outside(sandbox: Sandbox, tag: str, id_list: list[str]) -> None:
    """A tag set outside the workbench (curl, the map UI, a colleague's script)."""
    body = {"projection_id": P, "tag_name": tag, "ids": id_list, "operation": "add"}
    headers = {"Authorization": f"Bearer {KEYS['atlas']}"}
    url = f"{sandbox.api('atlas')}/v1/query/update/tag/ids"
    httpx.post(url, json=body, headers=headers, timeout=30).raise_for_status()


def test_keep_me_survives_the_undo_of_a_wider_push(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    push_atlas(sandbox, j, "keep me", ids(10, 14))
    second = push_atlas(sandbox, j, "keep me", ids(10, 19))
    assert second["applied"] == 5  # 10..14 were read back as tagged: not sent again
    assert second["verified"] == {"checked": 5, "mismatched_ids": []}
    run_json(sandbox, "undo", second["job_id"], *j)
    assert atlas_tagged(sandbox, "keep me") == set(ids(10, 14).split(","))


def test_a_tag_set_outside_survives_the_undo(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    atlas_outside(sandbox, "outside", ["1", "2"])
    done = push_atlas(sandbox, j, "outside", ids(1, 4))
    assert done["applied"] == 2
    undone = run_json(sandbox, "undo", done["job_id"], *j)
    assert undone["applied"] == 2 and undone["verified"]["mismatched_ids"] == []
    assert atlas_tagged(sandbox, "outside") == {"1", "2"}
    # Undo of the undo re-applies exactly what the job did.
    run_json(sandbox, "undo", undone["job_id"], *j)
    assert atlas_tagged(sandbox, "outside") == {"1", "2", "3", "4"}


def test_nekt_undo_needs_force_where_the_journal_cannot_know(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """What Nekt can promise: no per-resource read exists, so the journal is the only prior
    state. A resource no earlier job confirmed is unknown: undo refuses before sending, and
    `--force` reverses it anyway (a tag attached outside the workbench is then lost)."""
    j = ("--journal", str(tmp_path / "j.db"))
    a, b = (s["id"] for s in sandbox.world()["nekt"]["sources"][:2])
    headers = {"x-api-key": KEYS["nekt"]}
    url = f"{sandbox.api('nekt')}/api/v1/tags/attach/"
    httpx.post(url, json={"names": ["pre"], "sources": [a]}, headers=headers).raise_for_status()
    push = ("push", "--provider", "nekt", "--resource-type", "sources", "--tag", "pre")
    done = run_cli(sandbox, *push, "--ids", f"{a},{b}", *j)
    assert done.returncode == 0, done.stderr
    assert "prior state from the journal" in done.stderr
    assert "verified: not read back" in done.stdout
    job = Journal(j[1]).jobs()[0]["id"]
    refused = run_cli(sandbox, "undo", job, *j)
    assert refused.returncode == 2
    assert (
        refused.stderr
        == f"2 items' prior state is unknown: undo --force {job} reverses them anyway\n"
    )
    assert "pre" in sandbox.state()["nekt"][a] and "pre" in sandbox.state()["nekt"][b]
    forced = run_json(sandbox, "undo", "--force", job, *j)
    assert forced["verified"] is None
    state = sandbox.state()["nekt"]
    assert "pre" not in state.get(a, []) and "pre" not in state.get(b, [])


def test_nekt_undo_keeps_what_an_earlier_job_confirmed(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    a, b = (s["id"] for s in sandbox.world()["nekt"]["sources"][:2])
    push = ("push", "--provider", "nekt", "--resource-type", "sources", "--tag", "keep me")
    run_json(sandbox, *push, "--ids", a, *j)
    second = run_json(sandbox, *push, "--ids", f"{a},{b}", *j)
    assert second["applied"] == 1  # a is known from the journal
    run_json(sandbox, "undo", "--force", second["job_id"], *j)  # b was never seen: --force
    state = sandbox.state()["nekt"]
    assert "keep me" in state[a] and "keep me" not in state.get(b, [])


def test_a_million_ids_to_a_ten_thousand_point_map(sandbox: Sandbox, tmp_path: Path) -> None:
    j = ("--journal", str(tmp_path / "j.db"))
    id_file = tmp_path / "ids.csv"
    id_file.write_text("id\n" + "\n".join(str(i) for i in range(1_000_000)) + "\n")
    args = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "big")
    done = run_json(sandbox, *args, "--ids-file", str(id_file), "--id-column", "id", *j, code=1)
    assert (done["applied"], done["not_found"]) == (10_000, 990_000)
    assert len(done["not_found_ids"]) == 990_000 and done["not_found_ids"][0] == "10000"
    assert len(atlas_tagged(sandbox, "big")) == 10_000
    state = Journal(j[1]).state_for("atlas", {"projection_id": P})
    assert len(state) == 10_000
    cov = run_json(sandbox, "coverage", "--provider", "atlas", "--projection-id", P,
                   "--dataset", str(id_file), "--id-column", "id", *j)  # fmt: skip
    assert cov["tags"] == {"big": 10_000} and cov["tagged"] == 10_000
    again = run_json(
        sandbox, *args, "--ids-file", str(id_file), "--id-column", "id", "--dry-run", *j
    )
    assert again["skipped"] == 10_000  # already tagged: 10,000, not a million


def test_library_push_verifies_and_names_not_found(sandbox: Sandbox, tmp_path: Path) -> None:
    conn = tagging.connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    journal = Journal(tmp_path / "j.db")
    op = tagging.TagOperation("atlas", "add", ("lib",), ["5", "6", "zzz"], {"projection_id": P})
    plan = tagging.prepare(op, conn, journal=journal)
    assert plan.state_source == "provider"
    result = tagging.push(plan, conn, journal=journal)
    assert result.not_found_ids == ["zzz"]
    assert result.verified is not None and result.verified.checked == 2
    [batch] = journal.batches(str(result.job_id))
    assert batch["verified"] == 2 and batch["mismatched_ids"] == []
    assert batch["not_found_ids"] == ["zzz"]


def test_every_batch_of_a_verified_push_is_journaled_with_its_check(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    conn = tagging.connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    journal = Journal(tmp_path / "j.db")
    sent = ["1", "2", "nope", "3", "4", "5", "gone"]
    op = tagging.TagOperation("atlas", "add", ("checked",), sent, {"projection_id": P})
    plan = tagging.prepare(op, conn, journal=journal, chunk_size=2)
    result = tagging.push(plan, conn, journal=journal)
    batches = journal.batches(str(result.job_id))  # the checks are stored in one write
    assert [b["verified"] for b in batches] == [2, 1, 2, 0]
    assert [b["not_found_ids"] for b in batches] == [[], ["nope"], [], ["gone"]]
    assert all(b["mismatched_ids"] == [] for b in batches)
    assert atlas_tagged(sandbox, "checked") == {"1", "2", "3", "4", "5"}


def test_flaky_api_commands_exit_0_with_the_exact_state(sandbox_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sb = sandbox_factory("--fail-rate", "0.3", "--rate-limit", "40", "--seed", "7")
    j = ("--journal", str(tmp_path / "j.db"))
    first = push_atlas(sb, j, "flaky", ids(0, 59), "--chunk-size", "10")
    assert first["failed"] == 0 and first["verified"]["mismatched_ids"] == []
    second = push_atlas(sb, j, "flaky", ids(0, 79), "--chunk-size", "10")
    assert second["applied"] == 20
    resumed = run_cli(sb, "resume", second["job_id"], *j, "--json")
    assert resumed.returncode == 0, resumed.stderr
    run_json(sb, "undo", second["job_id"], *j)
    assert atlas_tagged(sb, "flaky") == set(ids(0, 59).split(","))
    data = tmp_path / "d.csv"
    data.write_text("id\n" + "\n".join(str(i) for i in range(100)) + "\n")
    cov = run_json(sb, "coverage", "--provider", "atlas", "--projection-id", P,
                   "--dataset", str(data), "--id-column", "id", *j)  # fmt: skip
    assert cov["tags"] == {"flaky": 60}
    assert json.loads(json.dumps(sb.state()))["atlas"][P]["flaky"]


def test_live_without_url_or_key_says_what_to_set(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from conftest import PROVIDER_VARS

    from tagging.errors import ConfigError

    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="set NOMIC_API_KEY or fill in the API key field"):
        tagging.connect("atlas", live=True)
    with pytest.raises(ConfigError, match="set IMMUTA_API_URL or fill in the Base URL field"):
        tagging.connect("immuta", live=True)
    assert tagging.connect("atlas").is_sandbox  # the default, when nothing is configured
    live = tagging.connect("atlas", key="k", live=True)
    assert (live.is_sandbox, live.where) == (False, "live api-atlas.nomic.ai")


def test_flaky_nekt_and_immuta_commands_exit_0_with_the_exact_state(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """Both flows at once on one flaky sandbox: their waits overlap, so the test stays short."""
    sb = sandbox_factory("--fail-rate", "0.3", "--rate-limit", "40", "--seed", "11")
    with ThreadPoolExecutor(2) as pool:
        flows = [pool.submit(flow, sb, tmp_path / name) for flow, name in
                 ((flaky_nekt, "nekt.db"), (flaky_immuta, "immuta.db"))]  # fmt: skip
        for done in flows:
            done.result()


def flaky_nekt(sb: Sandbox, journal: Path) -> None:
    j = ("--journal", str(journal))
    sources = [s["id"] for s in sb.world()["nekt"]["sources"]]  # 12
    push = ("push", "--provider", "nekt", "--resource-type", "sources", "--tag", "flaky")
    first = run_json(sb, *push, "--ids", ",".join(sources[:8]), "--chunk-size", "3", *j)
    assert (first["applied"], first["failed"]) == (8, 0)
    second = run_json(sb, *push, "--ids", ",".join(sources), "--chunk-size", "3", *j)
    assert second["applied"] == 4  # the first 8 are known from the journal
    resumed = run_cli(sb, "resume", second["job_id"], *j, "--json")
    assert resumed.returncode == 0, resumed.stderr
    run_json(sb, "undo", "--force", second["job_id"], *j)  # the 4 new ones were never seen
    state = sb.state()["nekt"]
    assert {s for s, tags in state.items() if "flaky" in tags} == set(sources[:8])
    data = journal.with_suffix(".csv")
    data.write_text("id\n" + "\n".join(sources) + "\n")
    cov = run_json(sb, "coverage", "--provider", "nekt", "--dataset", str(data),
                   "--id-column", "id", *j)  # fmt: skip
    assert cov["tags"] == {"flaky": 8}


def flaky_immuta(sb: Sandbox, journal: Path) -> None:
    """Column tags read back through the data dictionary, under the same retry policy."""
    j = ("--journal", str(journal))
    world = sb.world()["immuta"]["datasources"][:3]
    columns = [f"{d['id']}_{c}" for d in world for c in d["columns"]]
    push = ("push", "--provider", "immuta", "--model-type", "column", "--tag", "Confidential")
    first = run_json(sb, *push, "--ids", ",".join(columns[:6]), "--chunk-size", "4", *j)
    assert first["failed"] == 0 and first["verified"]["mismatched_ids"] == []
    second = run_json(sb, *push, "--ids", ",".join(columns), "--chunk-size", "4", *j)
    assert second["applied"] == len(columns) - 6  # read back: the first 6 are not sent
    resumed = run_cli(sb, "resume", second["job_id"], *j, "--json")
    assert resumed.returncode == 0, resumed.stderr
    undone = run_json(sb, "undo", second["job_id"], *j)  # no --force: all read back
    assert undone["verified"]["mismatched_ids"] == []
    state = sb.state()["immuta"]
    assert {k for k, v in state.items() if "Confidential" in v} == {
        f"column:{c}" for c in columns[:6]
    }
    data = journal.with_suffix(".csv")
    data.write_text("id\n" + "\n".join(columns) + "\n")
    cov = run_json(sb, "coverage", "--provider", "immuta", "--dataset", str(data),
                   "--id-column", "id", *j)  # fmt: skip
    assert cov["tags"] == {"Confidential": 6}
