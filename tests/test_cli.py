"""`python -m tagging push`: state read back from the sandbox, JSON shapes, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import P, atlas_tagged, cli_env, journal_arg, run_cli, run_json
from conftest import KEYS, ROOT, Sandbox, free_port


def test_atlas_add_then_remove(sandbox: Sandbox, tmp_path: Path) -> None:
    j = journal_arg(tmp_path)
    add = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Needs review")
    done = run_json(sandbox, *add, "--ids", "1,2,3", "--chunk-size", "2", *j)
    assert done == {
        "job_id": done["job_id"],
        "applied": 3,
        "not_found": 0,
        "not_found_ids": [],
        "failed": 0,
        "failed_ids": [],
        "verified": {"checked": 3, "mismatched_ids": []},
    }
    assert atlas_tagged(sandbox, "Needs review") == {"1", "2", "3"}
    done = run_json(sandbox, *add, "--remove", "--ids", "2", *j)
    assert done["applied"] == 1
    assert atlas_tagged(sandbox, "Needs review") == {"1", "3"}


def test_atlas_ids_file_and_several_tags(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("10\n11\n\n12\n")
    done = run_cli(
        sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "A", "--tag", "B",
        "--ids-file", str(ids), *journal_arg(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "applied 3, not found 0, failed 0" in done.stdout
    assert atlas_tagged(sandbox, "A") == atlas_tagged(sandbox, "B") == {"10", "11", "12"}


def test_a_push_leaves_its_journal_closed_and_its_output_whole(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The CLI leaves without the interpreter's teardown (os._exit): the journal is closed
    first (no -wal/-shm left, the job readable) and every line printed is flushed."""
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{i}\n" for i in range(2_000)))
    done = run_cli(sandbox, *ATLAS, "--ids-file", str(ids), "--chunk-size", "100",
                   "--no-verify", *journal_arg(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "applied 2000, not found 0, failed 0" in done.stdout
    assert done.stderr.startswith("job ") and "2000 ids in 20 batches" in done.stderr
    assert sorted(p.name for p in tmp_path.glob("journal.db*")) == ["journal.db"]
    [job] = run_json(sandbox, "jobs", *journal_arg(tmp_path))
    assert (job["status"], job["counts"]["applied"]) == ("done", 2000)
    assert len(atlas_tagged(sandbox, "T")) == 2_000


def test_atlas_not_found_exits_1_and_lists(sandbox: Sandbox, tmp_path: Path) -> None:
    done = run_cli(
        sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
        "--ids", "5,999999", *journal_arg(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert "applied 1, not found 1" in done.stdout
    assert atlas_tagged(sandbox, "T") == {"5"}


def test_nekt_attach_and_detach_with_type_column(sandbox: Sandbox, tmp_path: Path) -> None:
    world = sandbox.world()["nekt"]
    table, source = world["tables"][1]["id"], world["sources"][1]["id"]
    csv = tmp_path / "resources.csv"
    csv.write_text(f"resource,kind\n{table},tables\n{source},sources\n")
    base = ("push", "--provider", "nekt", "--tag", "pii", *journal_arg(tmp_path))
    files = ("--ids-file", str(csv), "--id-column", "resource", "--type-column", "kind")
    done = run_json(sandbox, *base, *files)
    assert done["applied"] == 2
    state = sandbox.state()["nekt"]
    assert "pii" in state[table] and "pii" in state[source]
    done = run_json(sandbox, *base, "--remove", "--ids", table, "--resource-type", "tables")
    assert done["applied"] == 1
    state = sandbox.state()["nekt"]
    assert "pii" not in state.get(table, []) and "pii" in state[source]


def test_immuta_add_and_remove(sandbox: Sandbox, tmp_path: Path) -> None:
    base = ("push", "--provider", "immuta", "--tag", "Confidential", *journal_arg(tmp_path))
    done = run_json(sandbox, *base, "--model-type", "datasource", "--ids", "100,101")
    assert done["applied"] == 2
    state = sandbox.state()["immuta"]
    assert "Confidential" in state["datasource:100"] and "Confidential" in state["datasource:101"]
    run_json(sandbox, *base, "--remove", "--model-type", "datasource", "--ids", "100")
    state = sandbox.state()["immuta"]
    assert "Confidential" not in state.get("datasource:100", [])
    assert "Confidential" in state["datasource:101"]


def test_dry_run_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    before = sandbox.state()
    args = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Dry", "--dry-run")
    done = run_cli(sandbox, *args, "--ids", "1,2,3,3", "--chunk-size", "2", *journal_arg(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Nothing was sent" in done.stdout
    doc = run_json(sandbox, *args, "--ids", "1,2,3,3", "--chunk-size", "2")
    assert doc["dry_run"] is True
    assert (doc["requested"], doc["to_send"], doc["batch_count"]) == (3, 3, 2)
    assert doc["batches"] == [
        {"index": 0, "ids": 2, "tags": ["Dry"]},
        {"index": 1, "ids": 1, "tags": ["Dry"]},
    ]
    assert sandbox.state() == before
    assert not (tmp_path / "journal.db").exists()


def test_dry_run_shows_the_tags_of_each_batch_when_they_differ(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    base = ("push", "--provider", "immuta", "--model-type", "datasource", *journal_arg(tmp_path))
    run_json(sandbox, *base, "--tag", "Confidential", "--ids", "22")
    before = sandbox.state()
    both = ("--tag", "Confidential", "--tag", "Discovered.Passport", "--ids", "22,23")
    doc = run_json(sandbox, *base, *both, "--dry-run")
    assert (doc["requested"], doc["to_send"], doc["tags_differ"]) == (2, 2, True)
    assert doc["batches"] == [
        {"index": 0, "ids": 1, "tags": ["Discovered.Passport"]},
        {"index": 1, "ids": 1, "tags": ["Confidential", "Discovered.Passport"]},
    ]
    partial = "1 ids get only 'Discovered.Passport' (the other tags are already on them)"
    assert partial in doc["summary"]
    done = run_cli(sandbox, *base, *both, "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert partial in lines
    assert "1 ids get all of 'Confidential', 'Discovered.Passport'" in lines
    (head,) = [[c.strip() for c in line.split("┃")[1:-1]] for line in lines if "┃" in line]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if "│" in line]
    assert head[:2] == ["batch", "ids"]
    assert [(r[0], r[head.index("tags")]) for r in rows] == [
        ("0", "Discovered.Passport"),
        ("1", "Confidential, Discovered.Passport"),
    ]
    assert sandbox.state() == before


ATLAS = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "T")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*ATLAS, "--ids", ""), "no ids"),
        ((*ATLAS, "--ids", " , "), "no ids"),
        ((*ATLAS,), "--ids or --ids-file"),
        ((*ATLAS, "--ids", "1", "--bogus"), "No such option: --bogus"),
        (("push", "--provider", "atlas", "--tag", "T", "--ids", "1"), "projection_id"),
        (("push", "--provider", "atlas", "--projection-id", P, "--ids", "1"), "--tag"),
        (("push", "--provider", "carrots", "--tag", "T", "--ids", "1"), "atlas, nekt or immuta"),
        (
            (
                "push",
                "--provider",
                "nekt",
                "--tag",
                "T",
                "--ids",
                "not-a-uuid",
                "--resource-type",
                "tables",
            ),
            "UUID",
        ),  # fmt: skip
        (
            (
                "push",
                "--provider",
                "nekt",
                "--tag",
                "x" * 300,
                "--resource-type",
                "tables",
                "--ids",
                "2af454c6-036e-5cbd-ad7f-ef7837c5f14a",
            ),
            "255",
        ),  # fmt: skip
        (
            (
                "push",
                "--provider",
                "nekt",
                "--tag",
                "T",
                "--resource-type",
                "planets",
                "--ids",
                "2af454c6-036e-5cbd-ad7f-ef7837c5f14a",
            ),
            "planets",
        ),  # fmt: skip
        (("push", "--provider", "nekt", "--tag", "T", "--ids", "1"), "--resource-type"),
        (
            (
                "push",
                "--provider",
                "immuta",
                "--tag",
                "No.Such.Tag",
                "--model-type",
                "datasource",
                "--ids",
                "6",
            ),
            "No.Such.Tag",
        ),  # fmt: skip
        ((*ATLAS, "--ids-file", "/nonexistent/ids.txt"), "no file"),
        (("resume", "nope", "--journal", "{tmp}/j.db"), "no job 'nope'"),
        (("jobs", "--json", "--chunk-size", "3"), "No such option"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    sandbox: Sandbox, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    before = sandbox.state()
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
    done = run_cli(sandbox, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr and "Usage" not in done.stderr
    assert done.stdout == ""
    assert sandbox.state() == before


def expect_config_error(env: dict[str, str], message: str, tmp_path: Path) -> str:
    done = run_cli(None, *ATLAS, "--ids", "1", *journal_arg(tmp_path), env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert message in done.stderr, done.stderr
    for key in (*KEYS.values(), "wrong-key"):
        assert key not in done.stderr
    return done.stderr


def test_wrong_key_is_401_exit_2(sandbox: Sandbox, tmp_path: Path) -> None:
    before = sandbox.state()
    expect_config_error(cli_env(sandbox, NOMIC_API_KEY="wrong-key"), "rejected the key", tmp_path)
    assert sandbox.state() == before


def test_bad_url_exit_2(sandbox: Sandbox, tmp_path: Path) -> None:
    expect_config_error(cli_env(sandbox, ATLAS_API_URL="not a url"), "ATLAS_API_URL", tmp_path)
    dead = f"http://127.0.0.1:{free_port()}/atlas"
    expect_config_error(cli_env(sandbox, ATLAS_API_URL=dead), "cannot reach", tmp_path)


def test_no_sandbox_running_says_how_to_start_it(tmp_path: Path) -> None:
    nothing = f"http://127.0.0.1:{free_port()}"  # nothing configured, no sandbox there
    stderr = expect_config_error(cli_env(None, TAGGING_SANDBOX_URL=nothing), "no sandbox", tmp_path)
    assert stderr == (
        f"error: no sandbox answers at {nothing}/atlas: start it with `python -m tagging "
        "sandbox`, or set NOMIC_API_KEY and ATLAS_API_URL for a live API\n"
    )


def test_missing_key_exit_2(sandbox: Sandbox, tmp_path: Path) -> None:
    env = cli_env(sandbox, IMMUTA_API_URL="https://immuta.example.com", IMMUTA_API_KEY=None)
    done = run_cli(
        None, "push", "--provider", "immuta", "--tag", "Confidential", "--model-type",
        "datasource", "--ids", "6", *journal_arg(tmp_path), env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "IMMUTA_API_KEY is not set" in done.stderr


def test_no_configuration_and_no_sandbox_says_how_to_start(tmp_path: Path) -> None:
    env = cli_env(None, TAGGING_SANDBOX_URL=f"http://127.0.0.1:{free_port()}")
    stderr = expect_config_error(env, "python -m tagging sandbox", tmp_path)
    assert "NOMIC_API_KEY" in stderr


def test_push_json_is_one_document_and_journaled(sandbox: Sandbox, tmp_path: Path) -> None:
    done = run_cli(sandbox, *ATLAS, "--ids", "7,8", "--json", *journal_arg(tmp_path))
    assert done.returncode == 0
    doc = json.loads(done.stdout)  # the whole of stdout is one JSON document
    [job] = run_json(sandbox, "jobs", *journal_arg(tmp_path))
    assert job["id"] == doc["job_id"]


# The CLI run with pandas unimportable: any attempt to import it ends the process with 97
# (and its stack on stderr), so a pandas import anywhere on the path fails the test even
# where a library would catch the ImportError.
NO_PANDAS = """
import os, runpy, sys, traceback
class NoPandas:
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "pandas":
            traceback.print_stack()
            sys.stderr.flush()
            os._exit(97)
sys.meta_path.insert(0, NoPandas())
sys.argv[0] = "tagging"
runpy.run_module("tagging", run_name="__main__")
"""


def run_without_pandas(sandbox: Sandbox, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", NO_PANDAS, *args],
        cwd=ROOT, env=cli_env(sandbox), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_push_of_an_ids_file_never_imports_pandas(sandbox: Sandbox, tmp_path: Path) -> None:
    j = journal_arg(tmp_path)
    push = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "No pandas", "--json")
    first = tmp_path / "first.txt"
    first.write_text("".join(f"{i}\n" for i in range(1, 201)) + "\n7\n")  # a blank, a repeat
    done = run_without_pandas(sandbox, *push, "--ids-file", str(first), "--no-verify", *j)
    assert (done["applied"], done["verified"]) == (200, None)
    assert atlas_tagged(sandbox, "No pandas") == {str(i) for i in range(1, 201)}

    more = tmp_path / "more.txt"
    more.write_text("".join(f"{i}\n" for i in range(101, 301)))
    dry = run_without_pandas(sandbox, *push, "--ids-file", str(more), "--dry-run", *j)
    assert (dry["requested"], dry["skipped"], dry["to_send"]) == (200, 100, 100)
    done = run_without_pandas(sandbox, *push, "--ids-file", str(more), *j)  # verified
    assert done["applied"] == 100 and done["verified"]["mismatched_ids"] == []
    assert atlas_tagged(sandbox, "No pandas") == {str(i) for i in range(1, 301)}
