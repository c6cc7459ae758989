"""Coverage numbers checked by hand on small frames; a million rows; the real sandbox state."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tagging.columns import parse_tag_column
from tagging.coverage import (
    coverage,
    tagged_mask,
    typed_row_ids,
    untagged_ids,
    untagged_keys,
)
from tagging.coverage_time import coverage_over_time, events_from_journal
from tagging.demo import (
    ATLAS_PROJECTION_ID,
    atlas_frame,
    demo_datasets,
    immuta_frame,
    nekt_frame,
    state_from_sandbox,
)
from tagging.errors import DatasetError
from tagging.journal import Journal
from tagging.selection import key_of, row_keys
from tagging.values import Batch, BatchOutcome, Plan, TagOperation
from tests.conftest import KEYS, Sandbox

# Six rows; id 99 carries tags but is not in the dataset; Z only lives on id 99.
DF = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],  # ints on purpose: compared as strings
        "field": ["a", "a", "b", "b", "b", None],
    },
    index=[10, 11, 12, 13, 14, 15],
)
STATE = pd.DataFrame(
    [
        ("1", "X"),
        ("1", "Y.a"),
        ("2", "X"),
        ("3", "Y.b"),
        ("5", "Y.a"),
        ("5", "Y.b"),
        ("5", "X"),
        ("5", "X"),  # duplicate pair counts once
        ("99", "X"),
        ("99", "Z"),
    ],
    columns=["id", "tag"],
)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


def test_totals_per_tag_and_tags_per_row() -> None:
    cov = coverage(DF, "id", STATE)
    assert (cov.rows, cov.tagged, cov.untagged) == (6, 4, 2)
    assert cov.share == pytest.approx(4 / 6)
    assert records(cov.per_tag) == [
        {"tag": "X", "rows": 3, "share": 0.5},
        {"tag": "Y.a", "rows": 2, "share": 2 / 6},
        {"tag": "Y.b", "rows": 2, "share": 2 / 6},
        {"tag": "Z", "rows": 0, "share": 0.0},
    ]
    assert records(cov.tags_per_row) == [
        {"tags": "0", "rows": 2, "share": 2 / 6},  # ids 4, 6
        {"tags": "1", "rows": 2, "share": 2 / 6},  # ids 2, 3
        {"tags": "2+", "rows": 2, "share": 2 / 6},  # ids 1, 5
    ]
    assert cov.to_json() == {
        "rows": 6,
        "tagged": 4,
        "untagged": 2,
        "tags": {"X": 3, "Y.a": 2, "Y.b": 2, "Z": 0},
    }


def test_hierarchy_rolls_up_dotted_names() -> None:
    cov = coverage(DF, "id", STATE)
    assert records(cov.hierarchy) == [
        {"path": "X", "parent": "", "label": "X", "level": 1, "rows": 3, "assignments": 3},
        # Y: ids 1, 3, 5 carry a Y.* tag (5 carries two: one row, two assignments)
        {"path": "Y", "parent": "", "label": "Y", "level": 1, "rows": 3, "assignments": 4},
        {"path": "Z", "parent": "", "label": "Z", "level": 1, "rows": 0, "assignments": 0},
        {"path": "Y.a", "parent": "Y", "label": "a", "level": 2, "rows": 2, "assignments": 2},
        {"path": "Y.b", "parent": "Y", "label": "b", "level": 2, "rows": 2, "assignments": 2},
    ]


def test_facet_breakdown() -> None:
    cov = coverage(DF, "id", STATE, facet="field")
    assert cov.facet == "field"
    assert cov.facet_totals is not None and cov.by_facet is not None
    assert records(cov.facet_totals) == [
        {"value": "b", "rows": 3, "tagged": 2, "untagged": 1, "share": 2 / 3},
        {"value": "a", "rows": 2, "tagged": 2, "untagged": 0, "share": 1.0},
        {"value": "(blank)", "rows": 1, "tagged": 0, "untagged": 1, "share": 0.0},
    ]
    grid = cov.by_facet.set_index(["value", "tag"])["rows"].to_dict()
    assert grid == {
        ("b", "X"): 1,
        ("b", "Y.a"): 1,
        ("b", "Y.b"): 2,
        ("b", "Z"): 0,
        ("a", "X"): 2,
        ("a", "Y.a"): 1,
        ("a", "Y.b"): 0,
        ("a", "Z"): 0,
        ("(blank)", "X"): 0,
        ("(blank)", "Y.a"): 0,
        ("(blank)", "Y.b"): 0,
        ("(blank)", "Z"): 0,
    }
    share = cov.by_facet.set_index(["value", "tag"])["share"]
    assert share[("b", "Y.b")] == pytest.approx(2 / 3)
    assert share[("a", "X")] == 1.0
    assert cov.to_json()["facets"] == {
        "b": {"rows": 3, "tagged": 2, "untagged": 1, "tags": {"X": 1, "Y.a": 1, "Y.b": 2, "Z": 0}},
        "a": {"rows": 2, "tagged": 2, "untagged": 0, "tags": {"X": 2, "Y.a": 1, "Y.b": 0, "Z": 0}},
        "(blank)": {
            "rows": 1,
            "tagged": 0,
            "untagged": 1,
            "tags": {"X": 0, "Y.a": 0, "Y.b": 0, "Z": 0},
        },
    }


def test_restricting_to_tags() -> None:
    cov = coverage(DF, "id", STATE, tags=["X", "Never"])
    assert (cov.rows, cov.tagged, cov.untagged) == (6, 3, 3)  # ids 1, 2, 5
    assert cov.tags == {"X": 3, "Never": 0}
    assert records(cov.tags_per_row)[2] == {"tags": "2+", "rows": 0, "share": 0.0}


def test_untagged_ids_and_mask_keep_the_dataset_index() -> None:
    mask = tagged_mask(DF, "id", STATE)
    assert mask.index.tolist() == DF.index.tolist()
    assert mask.tolist() == [True, True, True, False, True, False]
    untagged = untagged_ids(DF, "id", STATE)
    assert untagged.tolist() == ["4", "6"] and untagged.index.tolist() == [13, 15]
    assert untagged_ids(DF, "id", STATE, tags=["Y.b"]).tolist() == ["1", "2", "4", "6"]
    assert untagged_ids(DF, "id", None).tolist() == ["1", "2", "3", "4", "5", "6"]


def test_untagged_ids_with_a_repeated_index() -> None:
    df = DF.set_axis([0, 0, 1, 1, 2, 2])  # e.g. frames concatenated without ignore_index
    assert untagged_ids(df, "id", STATE).tolist() == ["4", "6"]


def test_untagged_keys_keep_kinds_apart() -> None:
    df = pd.DataFrame({"id": ["6", "6", "7"], "kind": ["datasource", "project", "project"]})
    state = pd.DataFrame({"id": ["6"], "tag": ["A"], "kind": ["project"]})
    keys = untagged_keys(df, "id", state, kind_column="kind")
    assert keys.tolist() == [key_of("datasource", "6"), key_of("project", "7")]
    assert keys.tolist() == row_keys(df, "id", "kind")[[0, 2]].tolist()  # the Tag page's keys
    assert untagged_keys(df, "id", None).tolist() == ["6", "6", "7"]


def test_no_state_and_empty_dataset() -> None:
    cov = coverage(DF, "id", None, facet="field")
    assert cov.to_json() == {
        "rows": 6,
        "tagged": 0,
        "untagged": 6,
        "tags": {},
        "facets": {
            "b": {"rows": 3, "tagged": 0, "untagged": 3, "tags": {}},
            "a": {"rows": 2, "tagged": 0, "untagged": 2, "tags": {}},
            "(blank)": {"rows": 1, "tagged": 0, "untagged": 1, "tags": {}},
        },
    }
    assert cov.hierarchy.empty and cov.share == 0.0
    empty = coverage(DF.iloc[:0], "id", STATE)
    assert (empty.rows, empty.tagged, empty.share) == (0, 0, 0.0)
    assert empty.tags == {"X": 0, "Y.a": 0, "Y.b": 0, "Z": 0}


def test_state_from_a_tag_column() -> None:
    df = pd.DataFrame({"id": ["a", "b", "c"], "tags": ["x; y", None, "y"]})
    cov = coverage(df, "id", parse_tag_column(df["tags"], ids=df["id"]))
    assert cov.to_json() == {"rows": 3, "tagged": 2, "untagged": 1, "tags": {"y": 2, "x": 1}}


def test_duplicate_ids_count_every_row() -> None:
    df = pd.DataFrame({"id": ["1", "1", "2", None]})
    cov = coverage(df, "id", pd.DataFrame({"id": ["1"], "tag": ["t"]}))
    assert (cov.rows, cov.tagged, cov.tags) == (4, 2, {"t": 2})


# --- over time ---------------------------------------------------------------------------------

EVENTS = pd.DataFrame(
    [
        ("2024-01-01", "1", "X", "add"),
        ("2024-01-01", "2", "X", "add"),
        ("2024-01-02", "1", "Y", "add"),
        ("2024-01-03", "1", "X", "remove"),  # id 1 still carries Y
        ("2024-01-04", "1", "Y", "remove"),  # id 1 now untagged
        ("2024-01-05", "2", "X", "add"),  # no-op: already there
        ("2024-01-06", "3", "X", "add"),
        ("2024-01-07", "9", "X", "remove"),  # no-op: never tagged
    ],
    columns=["time", "id", "tag", "action"],
).astype({"time": "datetime64[ns]"})


def test_coverage_over_time() -> None:
    out = coverage_over_time(EVENTS)
    assert out["tagged"].tolist() == [2, 2, 2, 1, 1, 2, 2]
    assert out["time"].dt.strftime("%m-%d").tolist() == [
        "01-01",
        "01-02",
        "01-03",
        "01-04",
        "01-05",
        "01-06",
        "01-07",
    ]
    only_1_2 = coverage_over_time(EVENTS, ids=["1", "2"])
    assert only_1_2["tagged"].tolist() == [2, 2, 2, 1, 1]
    only_y = coverage_over_time(EVENTS, tags=["Y"])
    assert only_y["tagged"].tolist() == [1, 0]


def test_coverage_over_time_ids_as_a_text_series_or_numbers() -> None:
    expected = [2, 2, 2, 1, 1]
    as_text = pd.Series(["1", "2"], dtype="str")  # used as it is, not copied into a list
    assert coverage_over_time(EVENTS, ids=as_text)["tagged"].tolist() == expected
    assert coverage_over_time(EVENTS, ids=pd.Series([1, 2]))["tagged"].tolist() == expected


def test_coverage_over_time_by_tag() -> None:
    out = coverage_over_time(EVENTS, by_tag=True)
    assert [(t.strftime("%m-%d"), g, n) for t, g, n in out.itertuples(index=False)] == [
        ("01-01", "X", 2),
        ("01-02", "Y", 1),
        ("01-03", "X", 1),
        ("01-04", "Y", 0),
        ("01-06", "X", 2),
    ]


def test_coverage_over_time_without_events() -> None:
    assert coverage_over_time(EVENTS.iloc[:0]).empty
    assert list(coverage_over_time(EVENTS.iloc[:0]).columns) == ["time", "tagged"]
    assert list(coverage_over_time(EVENTS.iloc[:0], by_tag=True).columns) == [
        "time",
        "tag",
        "rows",
    ]


def _atlas_plan(action: str, tags: tuple[str, ...], batches: list[Batch]) -> Plan:
    ids = [i for b in batches for i in b.ids]
    op = TagOperation("atlas", action, tags, ids, {"projection_id": "P"})  # type: ignore[arg-type]
    return Plan(op, tuple(batches), requested=len(ids), skipped=0, known_state=True)


def _run(journal: Journal, plan: Plan, outcomes: list[BatchOutcome], actor: str) -> None:
    job = journal.start_job(plan, actor=actor)
    for outcome in outcomes:
        time.sleep(0.002)  # outcomes a millisecond apart at least: distinct event times
        journal.record_batch(job, outcome)
    journal.finish_job(job, "done")


@pytest.fixture
def history(journal_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Journal]:
    """Three jobs by two people, on a real journal (SQLite and PostgreSQL)."""
    monkeypatch.delenv("TAGGING_USER", raising=False)
    with Journal(journal_url) as journal:
        batches = [Batch(0, ("1", "2")), Batch(1, ("3", "4")), Batch(2, ("5",))]
        _run(
            journal,
            _atlas_plan("add", ("A", "B"), batches),
            [
                BatchOutcome(0, "applied", 2),
                BatchOutcome(1, "partial", 1, failed_ids=("4",), failed_at=(1,)),
                BatchOutcome(2, "failed", 0, failed_ids=("5",), failed_at=(0,)),
            ],
            actor="ana",
        )
        nekt = TagOperation("nekt", "add", ("N",), ["1"], {}, kinds="tables")
        _run(journal, Plan(nekt, (Batch(0, ("1",)),), 1, 0, True), [applied(0, 1)], "bo")
        _run(journal, _atlas_plan("remove", ("A",), [Batch(0, ("1",))]), [applied(0, 1)], "bo")
        yield journal


def applied(index: int, n: int) -> BatchOutcome:
    return BatchOutcome(index, "applied", n)


def test_events_from_journal_feed_coverage_over_time(history: Journal) -> None:
    events = events_from_journal(history, "atlas", {"projection_id": "P"})
    assert list(events.columns) == ["time", "id", "tag", "action", "actor"]
    assert events[["id", "tag", "action", "actor"]].values.tolist() == [
        ["1", "A", "add", "ana"],
        ["1", "B", "add", "ana"],
        ["2", "A", "add", "ana"],
        ["2", "B", "add", "ana"],
        ["3", "A", "add", "ana"],
        ["3", "B", "add", "ana"],
        ["1", "A", "remove", "bo"],
    ]
    assert events["time"].is_monotonic_increasing
    assert coverage_over_time(events)["tagged"].tolist() == [2, 3, 3]  # id 1 keeps B
    assert events_from_journal(history, "immuta").empty
    assert list(events_from_journal(history, "immuta").columns) == list(events.columns)


def test_events_carry_each_batch_its_own_tags(journal_url: str) -> None:
    # Known state left A off batch 0 (its ids carried A already): only B was added there.
    with Journal(journal_url) as journal:
        plan = _atlas_plan("add", ("A", "B"), [Batch(0, ("1",), tags=("B",)), Batch(1, ("2",))])
        _run(journal, plan, [applied(0, 1), applied(1, 1)], actor="ana")
        events = events_from_journal(journal, "atlas")
        pairs = events[["id", "tag"]].values.tolist()
        assert pairs == [["1", "B"], ["2", "A"], ["2", "B"]]
        state = journal.state_for("atlas")
        assert sorted(state[["id", "tag"]].values.tolist()) == sorted(pairs)  # one replay


def test_coverage_over_time_splits_by_actor(history: Journal) -> None:
    events = events_from_journal(history, "atlas", {"projection_id": "P"})
    by_actor = coverage_over_time(events, by_actor=True)
    assert list(by_actor.columns) == ["time", "actor", "tagged"]
    # Ana tagged 1, 2 and 3; Bo's removal of A from 1 leaves it tagged (B): no change for Bo.
    assert by_actor[["actor", "tagged"]].values.tolist() == [["ana", 2], ["ana", 3]]
    mixed = events.copy()
    mixed.loc[mixed["id"].eq("3"), "actor"] = "bo"
    split = coverage_over_time(mixed, by_actor=True)
    last = split.groupby("actor")["tagged"].last().to_dict()
    assert last == {"ana": 2, "bo": 1}
    assert sum(last.values()) == coverage_over_time(mixed)["tagged"].iloc[-1]  # adds up
    with pytest.raises(DatasetError, match="actor"):
        coverage_over_time(events.drop(columns="actor"), by_actor=True)


# --- sandbox state shapes ----------------------------------------------------------------------

SANDBOX_STATE = {
    "atlas": {ATLAS_PROJECTION_ID: {"New Tag": ["0", "89"], "Other": ["89"]}, "p2": {"T": ["1"]}},
    "nekt": {"uuid-1": ["marketing"], "uuid-2": ["marketing", "ads"]},
    "immuta": {
        "datasource:2": ["Confidential"],
        "project:2": ["Discovered.Passport"],
        "column:6_countrycode": ["Discovered.Country.Canada"],
    },
}


def test_state_from_sandbox_shapes() -> None:
    atlas = state_from_sandbox(SANDBOX_STATE, "atlas", {"projection_id": ATLAS_PROJECTION_ID})
    assert sorted(map(tuple, atlas.values.tolist())) == [
        ("0", "New Tag"),
        ("89", "New Tag"),
        ("89", "Other"),
    ]
    assert len(state_from_sandbox(SANDBOX_STATE, "atlas")) == 4
    assert len(state_from_sandbox(SANDBOX_STATE["atlas"], "atlas", {"projection_id": "p2"})) == 1
    nekt = state_from_sandbox(SANDBOX_STATE, "nekt")
    assert nekt.values.tolist() == [
        ["uuid-1", "marketing"],
        ["uuid-2", "marketing"],
        ["uuid-2", "ads"],
    ]
    ds = state_from_sandbox(SANDBOX_STATE, "immuta", model_types="datasource")
    assert ds.values.tolist() == [["2", "Confidential"]]
    both = state_from_sandbox(SANDBOX_STATE, "immuta", model_types=("datasource", "column"))
    assert both["id"].tolist() == ["2", "6_countrycode"]
    typed = state_from_sandbox(SANDBOX_STATE, "immuta", typed_ids=True)
    assert typed["id"].tolist() == ["datasource:2", "project:2", "column:6_countrycode"]


def test_immuta_typed_ids_keep_datasource_2_apart_from_project_2() -> None:
    frame = immuta_frame()
    typed = state_from_sandbox(SANDBOX_STATE, "immuta", typed_ids=True)
    cov = coverage(frame, "model_id", typed, kind_column="model_type", facet="model_type")
    assert cov.tagged == 3
    facets = cov.to_json()["facets"]
    assert {k: v["tagged"] for k, v in facets.items()} == {
        "column": 1,
        "datasource": 1,
        "project": 1,
    }
    assert typed_row_ids(frame, "model_id", "model_type").iloc[0] == "datasource:1"


def test_immuta_kind_column_keeps_datasource_2_apart_from_project_2() -> None:
    frame = immuta_frame()
    state = state_from_sandbox(SANDBOX_STATE, "immuta", kinds=True)
    assert state.to_dict("records")[:2] == [
        {"id": "2", "tag": "Confidential", "kind": "datasource"},
        {"id": "2", "tag": "Discovered.Passport", "kind": "project"},
    ]
    cov = coverage(frame, "model_id", state, kind_column="model_type", facet="model_type")
    assert {k: v["tagged"] for k, v in cov.to_json()["facets"].items()} == {
        "column": 1,
        "datasource": 1,
        "project": 1,
    }
    # A row without a kind (an old journal, a tag column without kinds) matches every kind.
    untyped = pd.DataFrame({"id": ["3"], "tag": ["X"], "kind": [None]})
    mask = tagged_mask(frame, "model_id", untyped, kind_column="model_type")
    assert sorted(frame.loc[mask, "model_type"]) == ["datasource", "project"]


def test_a_million_rows() -> None:
    n = 1_000_000
    df = pd.DataFrame({"id": np.arange(n).astype(str), "field": np.arange(n) % 4})
    ids = np.arange(0, n, 2).astype(str)  # every even id: tag "a"; every 4th also "b.c"
    state = pd.concat(
        [
            pd.DataFrame({"id": ids, "tag": "a"}),
            pd.DataFrame({"id": np.arange(0, n, 4).astype(str), "tag": "b.c"}),
        ]
    )
    cov = coverage(df, "id", state, facet="field")
    assert (cov.tagged, cov.tags) == (n // 2, {"a": n // 2, "b.c": n // 4})
    assert cov.tags_per_row["rows"].tolist() == [n // 2, n // 4, n // 4]
    assert cov.to_json()["facets"]["0"]["tags"] == {"a": n // 4, "b.c": n // 4}
    assert cov.hierarchy.set_index("path")["rows"].to_dict() == {
        "a": n // 2,
        "b": n // 4,
        "b.c": n // 4,
    }
    assert len(untagged_ids(df, "id", state)) == n // 2


# --- against the real sandbox --------------------------------------------------------------------


def test_coverage_from_real_sandbox_state(sandbox: Sandbox) -> None:
    atlas = httpx.Client(
        base_url=sandbox.api("atlas"), headers={"Authorization": f"Bearer {KEYS['atlas']}"}
    )
    for tag, ids in (("Needs review", ["0", "89", "295"]), ("ml.vision", ["89", "5000"])):
        r = atlas.post(
            "/v1/query/update/tag/ids",
            json={
                "projection_id": ATLAS_PROJECTION_ID,
                "tag_name": tag,
                "ids": ids,
                "operation": "add",
            },
        )
        assert r.status_code == 200 and r.json()["points_tagged"] == len(ids)
    sources = [r["id"] for r in sandbox.world()["nekt"]["sources"][:2]]
    r = httpx.post(
        f"{sandbox.api('nekt')}/api/v1/tags/attach/",
        headers={"x-api-key": KEYS["nekt"]},
        json={"names": ["marketing"], "sources": sources},
    )
    assert r.status_code < 300, r.text
    r = httpx.post(
        f"{sandbox.api('immuta')}/tag/datasource/22",
        headers={"Authorization": f"Bearer {KEYS['immuta']}"},
        json=[{"name": "Discovered.Passport", "source": "curated"}],
    )
    assert r.status_code < 300, r.text

    body = sandbox.state()
    demos = demo_datasets()
    frame = atlas_frame(10_000)
    cov = coverage(
        frame,
        demos["atlas"].id_column,
        state_from_sandbox(body, "atlas", demos["atlas"].target),
        facet="field",
    )
    assert (cov.rows, cov.tagged, cov.tags) == (10_000, 4, {"Needs review": 3, "ml.vision": 2})
    assert cov.hierarchy.set_index("path")["rows"].to_dict() == {
        "Needs review": 3,
        "ml": 2,
        "ml.vision": 2,
    }
    assert sum(f["tagged"] for f in cov.to_json()["facets"].values()) == 4

    nekt = coverage(nekt_frame(), "id", state_from_sandbox(body, "nekt"), facet="resource_type")
    assert nekt.tags == {"marketing": 2}
    assert nekt.to_json()["facets"]["sources"]["tagged"] == 2

    immuta = coverage(
        immuta_frame(), "model_id", state_from_sandbox(body, "immuta", model_types="datasource")
    )
    # data source 523 starts with Discovered.Country.Canada; 22 was just tagged
    assert immuta.tags == {"Discovered.Country.Canada": 1, "Discovered.Passport": 1}
    assert immuta.hierarchy.set_index("path").loc["Discovered", "rows"] == 2


def test_counting_in_small_chunks_gives_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 30M-row dataset is counted a few million rows at a time and joined in hash parts:
    the chunk sizes must not change one number (duplicate ids, dotted tags, a blank facet)."""
    rng = np.random.default_rng(5)
    n = 3_000
    df = pd.DataFrame(
        {
            "id": rng.integers(0, 2_500, n).astype(str),  # some ids on several rows
            "field": pd.Series(rng.choice(["a", "b", "c", None], n), dtype="str"),
        }
    )
    tags = rng.choice(["A.x", "A.y", "B", "C.d.e"], 4_000)
    state = pd.DataFrame({"id": rng.integers(0, 3_000, 4_000).astype(str), "tag": tags})
    whole = coverage(df, "id", state, facet="field")
    counts_module = importlib.import_module("tagging.coverage_counts")  # where the chunks are cut
    monkeypatch.setattr(counts_module, "COUNT_STEP", 7)
    monkeypatch.setattr(counts_module, "FAN_OUT_ROWS", 5)
    real_join = importlib.import_module("tagging.membership").join_codes
    monkeypatch.setattr(
        counts_module, "join_codes", lambda a, b: real_join(a, b, partition_size=100)
    )
    parted = coverage(df, "id", state, facet="field")
    assert parted.to_json() == whole.to_json()
    for name in ("per_tag", "tags_per_row", "hierarchy", "facet_totals", "by_facet"):
        pd.testing.assert_frame_equal(getattr(parted, name), getattr(whole, name))
    # and the numbers are right: a row is tagged when its id is in the state
    assert whole.tagged == int(df["id"].isin(set(state["id"])).sum())
