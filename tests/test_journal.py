"""The journal on its own: records, status, load_plan, state replay, exports, durability."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from conftest import KEYS, Sandbox

from tagging.errors import JournalError
from tagging.journal import Journal, actor_of
from tagging.plan import Batch, Plan, TagOperation
from tagging.render import request_count
from tagging.values import BatchOutcome, Progress

P = "52fcac24-9ab0-4545-8065-0d2fe8350d09"


def make_plan(
    ids: list[str],
    *,
    action: str = "add",
    tags: tuple[str, ...] = ("Needs review",),
    chunk: int = 2,
    provider: str = "atlas",
    kinds: list[str] | None = None,
    known: bool = True,
) -> Plan:
    target = {"projection_id": P} if provider == "atlas" else {}
    op = TagOperation(
        provider=provider,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
        tags=tags,
        ids=ids,
        target=target,
        kinds=kinds,
    )
    batches = tuple(
        Batch(
            index=n,
            ids=tuple(ids[s : s + chunk]),
            kinds=tuple(kinds[s : s + chunk]) if kinds else None,
        )
        for n, s in enumerate(range(0, len(ids), chunk))
    )
    return Plan(op, batches, requested=len(ids), skipped=0, known_state=known)


def applied(index: int, ids: tuple[str, ...]) -> BatchOutcome:
    return BatchOutcome(index=index, status="applied", applied=len(ids))


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    """A fresh journal, once on SQLite and once on PostgreSQL."""
    with Journal(journal_url) as journal:
        yield journal


def stored_text(journal: Journal) -> bytes:
    """Everything the journal holds, as bytes: the SQLite files, or every PostgreSQL row."""
    if journal.location.startswith("postgresql://"):
        with psycopg.connect(journal.location) as db:
            rows = [db.execute(f"SELECT * FROM {t}").fetchall() for t in ("jobs", "batches")]
        return repr(rows).encode()
    return journal.path.read_bytes() + Path(f"{journal.path}-wal").read_bytes()


def drop_column(location: str, table: str, column: str) -> None:
    """Turn a journal back into the schema an older release wrote."""
    if location.startswith("postgresql://"):
        with psycopg.connect(location) as db:
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    old = sqlite3.connect(location)
    old.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    old.commit()
    old.close()


def test_start_job_records_every_batch_as_pending(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0", "1", "2", "3", "4"]))
    [entry] = journal.jobs()
    assert entry["id"] == job
    assert entry["provider"] == "atlas"
    assert entry["target"] == {"projection_id": P}
    assert entry["action"] == "add"
    assert entry["tags"] == ["Needs review"]
    assert entry["status"] == "running"
    assert entry["created_at"].endswith("Z")
    assert entry["counts"] == {"ids": 5, "applied": 0, "not_found": 0, "failed": 0, "pending": 5}
    assert [b["ids"] for b in journal.batches(job)] == [["0", "1"], ["2", "3"], ["4"]]
    assert {b["status"] for b in journal.batches(job)} == {"pending"}


def test_outcomes_and_status(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0", "1", "2", "3", "4"]))
    journal.record_batch(job, applied(0, ("0", "1")))
    journal.record_batch(
        job,
        BatchOutcome(1, "partial", applied=1, not_found=1, not_found_ids=("3",)),
    )
    journal.record_batch(
        job, BatchOutcome(2, "failed", applied=0, failed_ids=("4",), reason="HTTP 503", attempts=8)
    )
    journal.finish_job(job, "partial")
    [entry] = journal.jobs()
    assert entry["status"] == "partial"
    assert entry["counts"] == {"ids": 5, "applied": 3, "not_found": 1, "failed": 1, "pending": 0}
    last = journal.batches(job)[2]
    assert (last["reason"], last["attempts"], last["failed_ids"]) == ("HTTP 503", 8, ["4"])
    # Resume sends only the failed batch again, under its original index.
    plan = journal.load_plan(job)
    assert [(b.index, b.ids) for b in plan.batches] == [(2, ("4",))]
    assert plan.operation.tags == ("Needs review",)
    assert list(plan.operation.ids) == ["4"]
    assert len(journal.load_plan(job, pending_only=False).batches) == 3


def test_job_count_counts_jobs(journal: Journal) -> None:
    assert journal.job_count() == 0
    journal.start_job(make_plan(["1", "2", "3"]))
    journal.start_job(make_plan(["4"]))
    assert journal.job_count() == len(journal.jobs()) == 2


def test_finish_derives_status_from_batches(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0", "1", "2"]))
    journal.record_batch(job, applied(0, ("0", "1")))
    journal.finish_job(job, "done")  # a batch is still pending: not done
    assert journal.jobs()[0]["status"] == "interrupted"
    journal.record_batch(job, applied(1, ("2",)))
    journal.finish_job(job, "done")
    assert journal.jobs()[0]["status"] == "done"
    assert journal.load_plan(job).batches == ()


def test_kinds_round_trip(journal: Journal) -> None:
    ids = ["a", "b", "c"]
    kinds = ["datasource", "column", "project"]
    job = journal.start_job(make_plan(ids, provider="immuta", kinds=kinds))
    plan = journal.load_plan(job)
    assert [b.kinds for b in plan.batches] == [("datasource", "column"), ("project",)]
    assert tuple(plan.operation.kinds or ()) == tuple(kinds)


def test_one_kind_for_all_ids_round_trips(journal: Journal) -> None:
    op = TagOperation("nekt", "add", ("pii",), ["a", "b", "c"], {}, kinds="tables")
    batches = (Batch(0, ("a", "b")), Batch(1, ("c",)))
    job = journal.start_job(Plan(op, batches, requested=3, skipped=0, known_state=False))
    assert journal.load_plan(job).operation.kinds == "tables"
    journal.record_batch(job, applied(0, ("a", "b")))
    journal.finish_job(job, "partial")
    undo = journal.undo_plan(job)
    assert undo.operation.kinds == "tables" and list(undo.operation.ids) == ["a", "b"]


def test_unopenable_journal_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(JournalError, match="cannot open the journal") as info:
        Journal(tmp_path / "dir.db")
    assert "\n" not in str(info.value)


def test_unknown_job_is_one_line_error(journal: Journal) -> None:
    for call in (journal.batches, journal.load_plan, journal.undo_warning, journal.export_job):
        with pytest.raises(JournalError, match="no job 'nope'") as info:
            call("nope")
        assert "\n" not in str(info.value)


def test_ids_with_newlines_round_trip(journal: Journal) -> None:
    ids = ["[x", "line\nbreak", "plain"]
    job = journal.start_job(make_plan(ids, chunk=3))
    assert journal.batches(job)[0]["ids"] == ids


def test_undo_plan_covers_exactly_changed_ids(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0", "1", "2", "3", "4", "5"]))
    journal.record_batch(job, applied(0, ("0", "1")))
    journal.record_batch(job, BatchOutcome(1, "partial", 1, 1, not_found_ids=("3",)))
    journal.record_batch(job, BatchOutcome(2, "failed", 0, failed_ids=("4", "5")))
    journal.finish_job(job, "partial")
    plan = journal.undo_plan(job)
    assert plan.operation.action == "remove"
    assert [i for b in plan.batches for i in b.ids] == ["0", "1", "2"]
    assert journal.undo_warning(job) is None


def test_undo_warning_without_known_state(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0"], known=False))
    journal.record_batch(job, applied(0, ("0",)))
    journal.finish_job(job, "done")
    warning = journal.undo_warning(job)
    assert warning is not None and "prior state" in warning and "\n" not in warning


def test_undo_of_nothing_is_an_error(journal: Journal) -> None:
    job = journal.start_job(make_plan(["0"]))
    with pytest.raises(JournalError, match="nothing to undo"):
        journal.undo_plan(job)


def test_state_for_replays_jobs_in_order(journal: Journal) -> None:
    def run(plan: Plan) -> None:
        job = journal.start_job(plan)
        for b in plan.batches:
            journal.record_batch(job, applied(b.index, b.ids))
        journal.finish_job(job, "done")

    run(make_plan(["0", "1", "2"], tags=("A", "B")))
    run(make_plan(["1", "2"], action="remove", tags=("A",)))
    run(make_plan(["2"], tags=("A",)))
    pending = journal.start_job(make_plan(["9"], tags=("A",)))  # never sent: not state
    assert pending
    state = journal.state_for("atlas", {"projection_id": P})
    got = sorted(map(tuple, state[["id", "tag"]].to_numpy().tolist()))
    assert got == [("0", "A"), ("0", "B"), ("1", "B"), ("2", "A"), ("2", "B")]
    assert list(journal.state_for("atlas", {"projection_id": P}, ids=["1"])["tag"]) == ["B"]
    assert journal.state_for("atlas", {"projection_id": "other"}).empty
    assert list(journal.state_for("nekt").columns) == ["id", "tag", "kind"]


def test_state_for_keeps_immuta_kinds_apart(journal: Journal) -> None:
    # Immuta ids repeat across model types: project 6 is not data source 6.
    plan = make_plan(["6", "6_countrycode"], provider="immuta", kinds=["project", "column"])
    job = journal.start_job(plan)
    journal.record_batch(job, applied(0, plan.batches[0].ids))
    state = journal.state_for("immuta")
    assert state.to_dict("records") == [
        {"id": "6", "tag": "Needs review", "kind": "project"},
        {"id": "6_countrycode", "tag": "Needs review", "kind": "column"},
    ]
    from tagging.plan import plan as make

    op = TagOperation("immuta", "add", ("Needs review",), ["6"], kinds="datasource")
    assert make(op, known=state).to_send == 1  # data source 6 is not tagged yet


def test_ids_repeated_across_kinds_stay_aligned_by_position(journal: Journal) -> None:
    # Data source 6, project 6 and column 6_countrycode share a batch: a map id -> kind
    # would lose one of the 6s; every step keeps ids and kinds together by position.
    ids = ["6", "6", "6_countrycode", "22", "22"]
    kinds = ["datasource", "project", "column", "project", "datasource"]
    plan = make_plan(ids, provider="immuta", kinds=kinds, chunk=3)
    job = journal.start_job(plan)
    journal.record_batch(job, applied(0, plan.batches[0].ids))
    journal.record_batch(job, applied(1, plan.batches[1].ids))
    journal.finish_job(job, "done")
    loaded = journal.load_plan(job, pending_only=False)
    assert [(b.ids, b.kinds) for b in loaded.batches] == [
        (("6", "6", "6_countrycode"), ("datasource", "project", "column")),
        (("22", "22"), ("project", "datasource")),
    ]
    assert list(zip(loaded.operation.ids, loaded.operation.kinds or (), strict=True)) == list(
        zip(ids, kinds, strict=True)
    )
    undo = journal.undo_plan(job)
    assert [(i, k) for b in undo.batches for i, k in zip(b.ids, b.kinds or (), strict=True)] == (
        list(zip(ids, kinds, strict=True))
    )
    state = journal.state_for("immuta")
    assert sorted(map(tuple, state[["kind", "id"]].to_numpy().tolist())) == sorted(
        zip(kinds, ids, strict=True)
    )
    frame = journal.job_frame(job)
    assert list(zip(frame["id"], frame["kind"], strict=True)) == list(zip(ids, kinds, strict=True))
    rows = list(csv.DictReader(io.StringIO(journal.export_job(job, "csv").decode("utf-8-sig"))))
    assert [(r["id"], r["kind"]) for r in rows] == list(zip(ids, kinds, strict=True))
    # A replayed undo removes exactly these (kind, id) pairs: nothing is left.
    undo_job = journal.start_job(undo, undo_of=job)
    for b in undo.batches:
        journal.record_batch(undo_job, applied(b.index, b.ids))
    assert journal.state_for("immuta").empty


def test_a_partly_applied_batch_keeps_kinds_of_the_confirmed_ids(journal: Journal) -> None:
    ids = ["6_countrycode", "6", "6"]
    kinds = ["column", "project", "datasource"]
    plan = make_plan(ids, provider="immuta", kinds=kinds, chunk=3)
    job = journal.start_job(plan)
    journal.record_batch(job, BatchOutcome(0, "partial", 2, 1, not_found_ids=("6_countrycode",)))
    state = journal.state_for("immuta")
    assert sorted(zip(state["kind"], state["id"], strict=True)) == [
        ("datasource", "6"),
        ("project", "6"),
    ]
    undo = journal.undo_plan(job)
    assert [(b.ids, b.kinds) for b in undo.batches] == [(("6", "6"), ("project", "datasource"))]


def test_export_csv_is_formula_safe(journal: Journal) -> None:
    job = journal.start_job(make_plan(["=cmd()", "@x", "ok"], tags=("+t",), chunk=3))
    journal.record_batch(job, BatchOutcome(0, "partial", 2, 1, not_found_ids=("ok",)))
    rows = list(csv.DictReader(io.StringIO(journal.export_job(job, "csv").decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["'=cmd()", "'@x", "ok"]
    assert {r["tags"] for r in rows} == {"'+t"}
    assert [r["result"] for r in rows] == ["applied", "applied", "not_found"]
    doc = json.loads(journal.export_job(job, "json"))
    assert doc["job"]["id"] == job and doc["batches"][0]["ids"] == ["=cmd()", "@x", "ok"]


def test_exports_hold_exactly_the_jobs_ids_with_their_results(journal: Journal) -> None:
    """CSV and Parquet are built from arrow arrays per batch: every id once, in the job's
    order, not-found and failed ids labelled, each batch's own tags, formula-safe CSV."""
    ids = [str(i) for i in range(2_500)] + ["=1+1", "x,y", 'say "hi"']
    job = journal.start_job(make_plan(ids, chunk=1_000))
    journal.record_batch(job, BatchOutcome(0, "partial", 998, 2, not_found_ids=("3", "997")))
    journal.record_batch(
        job, BatchOutcome(1, "failed", 0, 0, failed_ids=tuple(ids[1_000:2_000]), reason="500")
    )
    journal.record_batch(job, BatchOutcome(2, "applied", len(ids) - 2_000))
    want = ["applied"] * len(ids)
    want[3] = want[997] = "not_found"
    want[1_000:2_000] = ["failed"] * 1_000
    rows = list(csv.DictReader(io.StringIO(journal.export_job(job, "csv").decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [*ids[:-3], "'=1+1", "x,y", 'say "hi"']
    assert [r["result"] for r in rows] == want
    assert {r["job_id"] for r in rows} == {job} and {r["tags"] for r in rows} == {"Needs review"}
    assert [int(r["batch"]) for r in rows] == [i // 1_000 for i in range(len(ids))]
    table = pd.read_parquet(io.BytesIO(journal.export_job(job, "parquet")))
    assert table["id"].tolist() == ids and table["result"].astype(str).tolist() == want
    assert list(table.columns) == list(rows[0])
    assert journal.job_frame(job)["result"].tolist() == want
    with pytest.raises(JournalError, match="use csv, json or parquet"):
        journal.export_job(job, "xlsx")  # type: ignore[arg-type]


def test_no_key_is_stored(journal: Journal) -> None:
    journal.start_job(make_plan(["0"]))
    raw = stored_text(journal)
    assert b"sandbox-atlas-key" not in raw and b"Bearer" not in raw


def test_killed_writer_leaves_a_readable_journal(journal_url: str) -> None:
    path = journal_url
    # A child records a job, then dies without closing (no checkpoint, WAL left behind).
    code = (
        "import os, sys; sys.path.insert(0, 'tests');"
        "from test_journal import make_plan; from tagging.journal import Journal;"
        f"j = Journal({str(path)!r}); j.start_job(make_plan(['0', '1', '2']));"
        "os._exit(0)"  # no atexit, no close
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
    [entry] = Journal(path).jobs()
    assert entry["counts"]["pending"] == 3
    assert entry["status"] == "interrupted"  # its process is gone
    if "://" not in path:
        assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- against the sandbox: resume and undo through the library ------------------------------


def test_cancelled_push_resumes_and_undo_restores_prior_state(
    sandbox: Sandbox, journal_url: str
) -> None:
    from tagging.config import connect
    from tagging.demo import state_from_sandbox
    from tagging.executor import push
    from tagging.plan import plan

    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    target = {"projection_id": P}
    seed = TagOperation("atlas", "add", ("Seen",), ["1", "2"], target)
    push(plan(seed), conn)
    before = sandbox.state()
    journal = Journal(journal_url)

    op = TagOperation("atlas", "add", ("Seen",), [str(i) for i in range(1, 11)], target)
    known = state_from_sandbox(before, "atlas", target)
    the_plan = plan(op, known=known, chunk_size=1)
    assert (the_plan.skipped, the_plan.to_send) == (2, 8)
    cancel = threading.Event()

    def stop_after_first(p: Progress) -> None:
        if p.done_batches >= 1:
            cancel.set()

    first = push(
        the_plan, conn, journal=journal, progress=stop_after_first, cancel=cancel, concurrency=1
    )
    assert first.cancelled and first.job_id is not None
    job = first.job_id
    assert journal.jobs()[0]["status"] == "interrupted"
    assert 0 < journal.jobs()[0]["counts"]["pending"] < 8
    rest = journal.resume(job, conn)
    assert rest.job_id == job and rest.failed == 0
    assert journal.jobs()[0]["status"] == "done"
    tagged = set(sandbox.state()["atlas"][P]["Seen"])
    assert tagged == {str(i) for i in range(1, 11)}
    expected = {(i, "Seen") for i in tagged}
    assert set(map(tuple, journal.state_for("atlas", target).to_numpy().tolist())) == expected - {
        ("1", "Seen"),
        ("2", "Seen"),
    }

    assert journal.undo_warning(job) is None  # planned against known state: exact
    undone = journal.undo(job, conn)
    assert undone.applied == 8 and undone.job_id != job
    assert sandbox.state() == before  # 1 and 2 keep the tag they had before the job
    assert journal.state_for("atlas", target).empty
    with pytest.raises(JournalError, match="already undone"):
        journal.undo(job, conn)


def test_resume_with_the_wrong_provider_is_refused(sandbox: Sandbox, journal_url: str) -> None:
    from tagging.config import connect

    journal = Journal(journal_url)
    job = journal.start_job(make_plan(["1"]))
    with pytest.raises(JournalError, match="for atlas"):
        journal.resume(job, connect("nekt", url=sandbox.api("nekt"), key=KEYS["nekt"]))


# --- batches that apply only some of the job's tags (known state) --------------------------


def test_batch_tags_round_trip_into_resume_undo_and_state(journal: Journal) -> None:
    op = TagOperation("atlas", "add", ("A", "B"), ["1", "2", "3", "4"], {"projection_id": P})
    batches = (
        Batch(0, ("1", "2"), tags=("B",)),  # carried A already
        Batch(1, ("3",), tags=("A",)),  # carried B already
        Batch(2, ("4",)),  # both
    )
    job = journal.start_job(Plan(op, batches, requested=5, skipped=1, known_state=True))
    assert [b["tags"] for b in journal.batches(job)] == [["B"], ["A"], None]
    assert journal.load_plan(job).batches == batches
    for b in batches:
        journal.record_batch(job, applied(b.index, b.ids))
    journal.finish_job(job, "done")
    state = journal.state_for("atlas", {"projection_id": P})
    assert sorted(map(tuple, state.to_numpy().tolist())) == [
        ("1", "B"), ("2", "B"), ("3", "A"), ("4", "A"), ("4", "B"),
    ]  # fmt: skip
    undo = journal.undo_plan(job)
    assert undo.operation.action == "remove" and undo.operation.tags == ("A", "B")
    assert [(b.index, b.ids, b.tags) for b in undo.batches] == [
        (0, ("1", "2"), ("B",)),
        (1, ("3",), ("A",)),
        (2, ("4",), None),
    ]
    frame = csv.DictReader(io.StringIO(journal.export_job(job).decode("utf-8-sig")))
    assert [(r["id"], r["tags"]) for r in frame] == [
        ("1", "B"), ("2", "B"), ("3", "A"), ("4", "A;B"),
    ]  # fmt: skip


def test_a_journal_from_before_batch_tags_opens_and_keeps_working(journal_url: str) -> None:
    path = journal_url
    with Journal(path) as j:
        job = j.start_job(make_plan(["0", "1", "2"], tags=("A", "B")))
        j.record_batch(job, applied(0, ("0", "1")))
    drop_column(path, "batches", "tags")  # the schema the first release wrote
    drop_column(path, "jobs", "actor")  # and the one before actors
    with Journal(path) as j:
        assert [b["tags"] for b in j.batches(job)] == [None, None]
        assert [b.tags for b in j.undo_plan(job).batches] == [None]
        assert j.load_plan(job).batches == (Batch(1, ("2",)),)
        new = j.start_job(make_plan(["5"]))
        assert len(j.batches(new)) == 1
        assert [e["actor"] for e in j.jobs()] == [actor_of(), None]  # unknown before
    assert Journal(path).jobs()[1]["id"] == job  # opening again: no second migration


def _atlas_pairs(state: dict, tags: tuple[str, ...]) -> set[tuple[str, str]]:
    tagged = state["atlas"].get(P, {})
    return {(i, t) for t in tags for i in tagged.get(t, [])}


def test_atlas_undo_keeps_tags_the_ids_had_before(sandbox: Sandbox, journal_url: str) -> None:
    from tagging.config import connect
    from tagging.executor import push
    from tagging.plan import plan

    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    target = {"projection_id": P}
    push(plan(TagOperation("atlas", "add", ("A",), ["1", "2"], target)), conn)
    push(plan(TagOperation("atlas", "add", ("B",), ["3"], target)), conn)
    before = sandbox.state()
    known = pd.DataFrame({"id": ["1", "2", "3"], "tag": ["A", "A", "B"]})
    ids = [str(i) for i in range(1, 7)]
    the_plan = plan(TagOperation("atlas", "add", ("A", "B"), ids, target), known, chunk_size=2)
    assert [(b.ids, b.tags) for b in the_plan.batches] == [
        (("1", "2"), ("B",)),
        (("3",), ("A",)),
        (("4", "5"), None),
        (("6",), None),
    ]
    sent: list[str] = []
    conn.client.event_hooks["request"].append(lambda r: sent.append(r.content.decode()))
    journal = Journal(journal_url)
    result = push(the_plan, conn, journal=journal, concurrency=1, verify=False)
    assert (result.applied, result.failed) == (6, 0)
    assert len(sent) == request_count(the_plan) == 1 + 1 + 2 + 2  # one per tag per batch
    assert _atlas_pairs(sandbox.state(), ("A", "B")) == {(i, t) for i in ids for t in "AB"}

    assert result.job_id is not None
    undone = journal.undo(result.job_id, conn)
    assert (undone.applied, undone.failed) == (6, 0)
    assert sandbox.state() == before  # 1 and 2 keep A, 3 keeps B
    assert journal.state_for("atlas", target).empty


def test_single_tag_plan_sends_one_request_per_batch(sandbox: Sandbox) -> None:
    from tagging.config import connect
    from tagging.executor import push
    from tagging.plan import plan

    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    known = pd.DataFrame({"id": ["2", "4"], "tag": ["A", "A"]})
    op = TagOperation("atlas", "add", ("A",), [str(i) for i in range(1, 8)], {"projection_id": P})
    the_plan = plan(op, known, chunk_size=2)
    assert [b.tags for b in the_plan.batches] == [None, None, None]
    sent: list[str] = []
    conn.client.event_hooks["request"].append(lambda r: sent.append(r.url.path))
    assert push(the_plan, conn, verify=False).applied == 5
    assert len(sent) == request_count(the_plan) == 3


def test_immuta_undo_with_state_read_back_is_exact(sandbox: Sandbox, journal_url: str) -> None:
    from tagging.config import connect
    from tagging.executor import push
    from tagging.known_state import read_state
    from tagging.plan import plan

    conn = connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"])
    tags = ("Confidential", "Discovered.Passport")
    push(plan(TagOperation("immuta", "add", tags[:1], ["22"], kinds="datasource")), conn)
    push(plan(TagOperation("immuta", "add", tags[1:], ["23"], kinds="datasource")), conn)
    op = TagOperation("immuta", "add", tags, ["22", "23", "24"], kinds="datasource")
    known = read_state(conn, op)
    before = sandbox.state()
    the_plan = plan(op, known, catalog=conn.check())
    assert [(b.ids, b.tags) for b in the_plan.batches] == [
        (("22",), ("Discovered.Passport",)),
        (("23",), ("Confidential",)),
        (("24",), None),
    ]
    journal = Journal(journal_url)
    result = push(the_plan, conn, journal=journal)
    assert result.applied == 3 and result.job_id is not None
    after = read_state(conn, op)
    assert after is not None and len(after) == 6  # every id carries both tags
    journal.undo(result.job_id, conn)
    assert sandbox.state() == before
    restored = read_state(conn, op)
    assert restored is not None and known is not None
    assert restored.to_dict("records") == known.to_dict("records")


_START_JOBS = """
import sys
from tagging.journal import Journal, actor_of
from tagging.plan import TagOperation, plan
op = TagOperation("atlas", "add", ("t",), [str(i) for i in range(50)],
                  target={"projection_id": "52fcac24-9ab0-4545-8065-0d2fe8350d09"})
journal = Journal(sys.argv[1])
for _ in range(40):
    journal.start_job(plan(op, chunk_size=10))
"""


def test_processes_starting_jobs_at_once_each_get_their_own_sequence(journal_url: str) -> None:
    path = journal_url
    Journal(path).close()  # schema in place, so the race is on the jobs themselves
    procs = [
        subprocess.Popen([sys.executable, "-c", _START_JOBS, str(path)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with Journal(path) as journal:
        jobs = journal.jobs()
        seqs = [r.seq for r in journal.storage.jobs()]
    assert len(jobs) == 160 and len({j["id"] for j in jobs}) == 160
    assert len(set(seqs)) == 160  # no two writers drew the same job number


# --- where the journal lives, and who ran each job ------------------------------------------


@pytest.mark.parametrize("url", ["mysql://me@db:3306/journal", "sqlite:///tmp/x.db"])
def test_an_unsupported_url_is_one_line_and_no_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match="unsupported journal URL scheme") as info:
        Journal(url)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # never a local file named after the URL


def test_an_unreachable_postgresql_url_is_one_line_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import free_port

    monkeypatch.chdir(tmp_path)
    url = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/journal"
    with pytest.raises(JournalError, match="cannot open the journal at postgresql://") as info:
        Journal(url)
    message = str(info.value)
    assert "\n" not in message and "s3cret" not in message  # the password never shows
    assert list(tmp_path.iterdir()) == []


def test_each_job_records_its_actor(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.delenv("TAGGING_USER", raising=False)
    by_os = journal.start_job(make_plan(["1"]))
    by_app = journal.start_job(make_plan(["2"]), actor="ana@example.org")
    monkeypatch.setenv("TAGGING_USER", "ci-bot")
    by_env = journal.start_job(make_plan(["3"]), actor="ana@example.org")
    actors = {j["id"]: j["actor"] for j in journal.jobs()}
    assert actors == {by_os: getpass.getuser(), by_app: "ana@example.org", by_env: "ci-bot"}
    assert journal.job(by_app)["actor"] == "ana@example.org"


def test_a_journal_handle_passes_its_actor_to_every_job(journal_url: str) -> None:
    with Journal(journal_url, actor="bo@example.org") as journal:
        job = journal.start_job(make_plan(["1"]))
        journal.record_batch(job, applied(0, ("1",)))
        undo = journal.start_job(journal.undo_plan(job), undo_of=job)
        assert {j["actor"] for j in journal.jobs()} == {"bo@example.org"}
        assert journal.job(undo)["undo_of"] == job
