"""Large pushes as Arrow columns: ids read from Parquet by pyarrow, planned and batched as
slices of one column, journaled as one compact buffer per batch, read back column-wise.

Each test asserts what the sandbox holds afterwards, or what the journal replays, on both
journal backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_support import P, atlas_tagged, run_cli, run_json
from conftest import KEYS, Sandbox

from tagging.id_list import IdList
from tagging.id_list import unpack as unpack_ids
from tagging.journal import Journal
from tagging.journal.records import pack
from tagging.plan import plan
from tagging.prepare import prepare
from tagging.values import TagOperation

MAP_POINTS = 10_000  # the sandbox's default map: ids "0".."9999"


def _parquet(path: Path, ids: list[str | None]) -> Path:
    pq.write_table(pa.table({"title": [f"t{n}" for n in range(len(ids))], "id": ids}), path)
    return path


def _stored_batches(location: str) -> list[tuple[str, bytes | None]]:
    """(ids text, ids_arrow bytes) of every batch row, as the database holds them."""
    sql = "SELECT ids, ids_arrow FROM batches ORDER BY job_id, idx"
    if location.startswith("postgresql://"):
        with psycopg.connect(location) as db:
            return [(r[0], None if r[1] is None else bytes(r[1])) for r in db.execute(sql)]
    with sqlite3.connect(location) as db:
        return list(db.execute(sql))


def _to_text_ids(location: str) -> None:
    """Turn a journal back into the schema before compact ids: ids as newline text, no
    ids_arrow column (what every journal written by an older release holds)."""
    if location.startswith("postgresql://"):
        with psycopg.connect(location) as db:
            rows = db.execute("SELECT job_id, idx, ids_arrow FROM batches").fetchall()
            for job_id, idx, blob in rows:
                text = pack(unpack_ids(bytes(blob)).tolist())
                db.execute(
                    "UPDATE batches SET ids = %s WHERE job_id = %s AND idx = %s",
                    (text, job_id, idx),
                )
            db.execute("ALTER TABLE batches DROP COLUMN ids_arrow")
        return
    db = sqlite3.connect(location)
    for job_id, idx, blob in db.execute("SELECT job_id, idx, ids_arrow FROM batches").fetchall():
        text = pack(unpack_ids(blob).tolist())
        db.execute("UPDATE batches SET ids = ? WHERE job_id = ? AND idx = ?", (text, job_id, idx))
    db.commit()
    db.execute("ALTER TABLE batches DROP COLUMN ids_arrow")
    db.commit()
    db.close()


def test_a_parquet_push_of_several_chunks_ends_in_the_exact_state_and_undoes(
    sandbox: Sandbox, journal_url: str, tmp_path: Path
) -> None:
    on_map = [str(n) for n in range(7_000, 10_000)]  # 3,000 points of the map
    off_map = [str(n) for n in range(10_000, 10_250)]  # 250 ids the map does not hold
    ids: list[str | None] = [*on_map, *off_map, " 7001 ", "7002", None, ""]  # repeats, gaps
    path = _parquet(tmp_path / "ids.parquet", ids)
    flags = ("--provider", "atlas", "--projection-id", P, "--tag", "Streamed")
    source = ("--ids-file", str(path), "--id-column", "id", "--chunk-size", "1000")
    pushed = run_json(sandbox, "push", *flags, *source, "--journal", journal_url, code=1)
    assert (pushed["applied"], pushed["not_found"], pushed["failed"]) == (3_000, 250, 0)
    assert sorted(pushed["not_found_ids"], key=int) == off_map  # named by the map's ids
    assert pushed["verified"] == {"checked": 3_000, "mismatched_ids": []}
    assert atlas_tagged(sandbox, "Streamed") == set(on_map)

    stored = _stored_batches(journal_url)
    assert len(stored) == 4  # 3,250 distinct ids in batches of 1,000
    assert all(text == "" and blob for text, blob in stored)  # one compact buffer a batch
    text_bytes = len("\n".join(on_map + off_map))
    assert sum(len(blob or b"") for _, blob in stored) < text_bytes / 2

    with Journal(journal_url) as journal:
        state = journal.state_for("atlas", {"projection_id": P})
        assert set(state["id"]) == set(on_map)  # not-found ids never count as tagged
        [job] = journal.jobs()
        assert job["counts"]["ids"] == 3_250
    done = run_cli(sandbox, "undo", pushed["job_id"], "--journal", journal_url, "--json")
    assert done.returncode == 0, done.stderr
    assert atlas_tagged(sandbox, "Streamed") == set()


def test_compact_ids_resume_and_undo_exactly(sandbox: Sandbox, journal_url: str) -> None:
    from tagging.config import connect
    from tagging.executor import push

    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    before = [str(n) for n in range(0, 500)]  # carried the tag before the job
    push(plan(TagOperation("atlas", "add", ("Kept",), before, {"projection_id": P})), conn)
    ids = [str(n) for n in range(250, 2_750)]
    op = TagOperation("atlas", "add", ("Kept",), ids, {"projection_id": P})
    made = prepare(op, conn, chunk_size=600)  # reads the map: 250..499 carry it already
    assert all(isinstance(b.ids, IdList) for b in made.batches)
    with Journal(journal_url) as journal:
        job = journal.start_job(made)
        journal.finish_job(job, "interrupted")  # killed before any request
        resumed = journal.resume(job, conn)
        assert resumed.applied == 2_250 and resumed.verified is not None
        assert atlas_tagged(sandbox, "Kept") == {str(n) for n in range(0, 2_750)}
        loaded = journal.load_plan(job, pending_only=False)
        assert [len(b.ids) for b in loaded.batches] == [600, 600, 600, 450]
        assert [i for b in loaded.batches for i in b.ids] == ids[250:]
        journal.undo(job, conn)
    # The undo removed what the job changed, never what was there before it.
    assert atlas_tagged(sandbox, "Kept") == set(before)


def test_a_journal_with_text_ids_opens_replays_and_undoes(
    sandbox: Sandbox, journal_url: str
) -> None:
    from tagging.config import connect
    from tagging.executor import push

    conn = connect("atlas", url=sandbox.api("atlas"), key=KEYS["atlas"])
    ids = [str(n) for n in range(100, 1_300)]
    op = TagOperation("atlas", "add", ("Old",), ids, {"projection_id": P})
    made = prepare(op, conn, chunk_size=500)  # the map read back: prior state known
    with Journal(journal_url) as journal:
        job = push(made, conn, journal=journal).job_id
    assert job is not None
    _to_text_ids(journal_url)  # as an older release left it
    with Journal(journal_url) as journal:  # migrates: the column comes back, rows keep text
        assert [b["ids"] for b in journal.batches(job)] == [ids[:500], ids[500:1000], ids[1000:]]
        assert set(journal.state_for("atlas", {"projection_id": P})["id"]) == set(ids)
        newer = journal.start_job(plan(TagOperation("atlas", "add", ("Old",), ["5"], {
            "projection_id": P})))  # fmt: skip
        journal.finish_job(newer, "interrupted")
        journal.undo(job, conn)
    assert atlas_tagged(sandbox, "Old") == set()
    kinds = {blob is None for _, blob in _stored_batches(journal_url)}
    assert kinds == {True, False}  # old rows as text, new rows compact, side by side


@pytest.mark.parametrize("lines", [b"7\n8\n\n 9 \r\n", b"\xef\xbb\xbf7\n8\n9"])
def test_a_text_ids_file_reads_as_the_line_reader_did(
    sandbox: Sandbox, tmp_path: Path, lines: bytes
) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(lines)
    flags = ("--provider", "atlas", "--projection-id", P, "--tag", "Lines", "--ids-file", str(path))
    pushed = run_json(sandbox, "push", *flags, "--journal", str(tmp_path / "j.db"))
    assert pushed["applied"] == 3
    assert atlas_tagged(sandbox, "Lines") == {"7", "8", "9"}
