"""`push --dataset PATH --where 'COLUMN OP VALUE'`: the filtered rows' ids streamed from a
Parquet folder (DuckDB) or loaded from a small file (pandas), read back from the sandbox."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_support import P, atlas_tagged, journal_arg, run_cli, run_json
from conftest import Sandbox

from tagging.datasets import load_dataset
from tagging.filters import Condition, apply_filters

ROWS = 3_000
WHERE = ("--where", "field in cs.LG, cs.CL", "--where", "year between 2018,", "--where", "note !=")
CONDITIONS = [
    Condition("field", "in", ["cs.LG", "cs.CL"]),
    Condition("year", "between", ("2018", None)),
    Condition("note", "not_equals", ""),
]


def _papers(rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    note = np.array(["", "ok", "  ", "check"], dtype=object)[rng.integers(0, 4, rows)]
    return pd.DataFrame(
        {
            "id": np.arange(rows).astype(str),
            "field": np.array(["cs.LG", "cs.CL", "stat.ML"])[rng.integers(0, 3, rows)],
            "year": rng.integers(2015, 2025, rows),
            "note": note,
        }
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The papers over three Parquet files, one with an empty id (skipped, counted)."""
    frame = _papers()
    frame.loc[7, "id"] = None
    root = tmp_path / "papers"
    root.mkdir()
    for i, part in enumerate(np.array_split(np.arange(ROWS), 3)):
        frame.iloc[part].to_parquet(root / f"part-{i}.parquet", index=False)
    return root


def _expected(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[apply_filters(frame, CONDITIONS), "id"].dropna())


def test_push_streams_the_filtered_ids_of_a_parquet_folder(
    sandbox: Sandbox, folder: Path, tmp_path: Path
) -> None:
    frame = _papers()
    frame.loc[7, "id"] = None
    expected = _expected(frame)
    assert 500 < len(expected) < ROWS
    base = (
        "push",
        "--provider",
        "atlas",
        "--projection-id",
        P,
        "--tag",
        "Big",
        *journal_arg(tmp_path),
    )
    done = run_cli(sandbox, *base, "--dataset", str(folder), *WHERE, "--chunk-size", "500")
    assert done.returncode == 0, done.stderr
    assert f"applied {len(expected)}, not found 0, failed 0" in done.stdout
    assert atlas_tagged(sandbox, "Big") == expected
    jobs = run_json(sandbox, "jobs", *journal_arg(tmp_path))
    assert jobs[0]["counts"]["applied"] == len(expected)
    # --remove with the same rows, this time from a glob: nothing is left tagged
    glob = str(folder / "part-*.parquet")
    done = run_json(sandbox, *base, "--remove", "--dataset", glob, *WHERE)
    assert done["applied"] == len(expected)
    assert atlas_tagged(sandbox, "Big") == set()


def test_dry_run_from_a_dataset_sends_nothing(
    sandbox: Sandbox, folder: Path, tmp_path: Path
) -> None:
    base = ("push", "--provider", "atlas", "--projection-id", P, "--tag", "Dry")
    plan = run_json(
        sandbox, *base, "--dataset", str(folder), *WHERE, "--dry-run", *journal_arg(tmp_path)
    )
    frame = _papers()
    frame.loc[7, "id"] = None
    expected = len(_expected(frame))
    assert (plan["dry_run"], plan["requested"], plan["to_send"]) == (True, expected, expected)
    assert sum(b["ids"] for b in plan["batches"]) == expected
    assert atlas_tagged(sandbox, "Dry") == set()


def test_kinds_come_from_a_type_column_of_the_dataset(sandbox: Sandbox, tmp_path: Path) -> None:
    world = sandbox.world()["nekt"]
    rows = [(r["id"], kind, i % 2 == 0) for i, (kind, items) in enumerate(world.items())
            for r in items[:2]]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["resource", "kind", "pick"])
    root = tmp_path / "resources"
    root.mkdir()
    frame.iloc[::2].to_parquet(root / "a.parquet", index=False)
    frame.iloc[1::2].to_parquet(root / "b.parquet", index=False)
    done = run_json(
        sandbox, "push", "--provider", "nekt", "--tag", "pii", *journal_arg(tmp_path),
        "--dataset", str(root), "--id-column", "resource", "--type-column", "kind",
        "--where", "pick = true",
    )  # fmt: skip
    picked = frame.loc[frame["pick"], "resource"]
    assert done["applied"] == len(picked) > 0
    state = sandbox.state()["nekt"]
    assert {r for r, tags in state.items() if "pii" in tags} == set(picked)


def test_a_small_file_is_filtered_by_the_pandas_masks(sandbox: Sandbox, tmp_path: Path) -> None:
    frame = _papers(400)
    csv = tmp_path / "papers.csv"
    frame.to_csv(csv, index=False)
    done = run_json(
        sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "Small",
        "--dataset", str(csv), *WHERE, *journal_arg(tmp_path),
    )  # fmt: skip
    expected = _expected(load_dataset(csv))  # what the app would have loaded
    assert done["applied"] == len(expected)
    assert atlas_tagged(sandbox, "Small") == expected


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--where", "field"), "error: --where 'field': write COLUMN OPERATOR VALUE"),
        (("--where", "nope = 1"), "error: filter column 'nope' is not in the dataset"),
        (("--where", "year = soon"), "error: filter on 'year': 'soon' is not a number"),
        (("--where", "note regex (x)\\1"), "error: filter on 'note': regular expression"),
        (("--id-column", "uuid"), "error: id column 'uuid' is not in papers"),
        (
            ("--ids", "1"),
            "error: give the ids with exactly one of --ids or --ids-file, or the rows of --dataset",
        ),
    ],
)
def test_bad_dataset_options_exit_2_with_one_line(
    sandbox: Sandbox, folder: Path, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    done = run_cli(
        sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "X",
        "--dataset", str(folder), *extra, *journal_arg(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(message), done.stderr
    assert done.stderr.count("\n") == 1
    assert atlas_tagged(sandbox, "X") == set()


def test_where_needs_a_dataset(sandbox: Sandbox, tmp_path: Path) -> None:
    done = run_cli(
        sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "X",
        "--ids", "1", "--where", "a = b", *journal_arg(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr == "error: --where filters the rows of --dataset: add --dataset FILE|FOLDER\n"
    )
