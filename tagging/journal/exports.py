"""A job's records in the shapes callers read: the `jobs --json` dict and the arrow table
of one row per id that exports are written from."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from tagging.id_list import IdList
from tagging.journal.locks import pid_alive
from tagging.journal.records import BatchRecord, Counts, JobRecord
from tagging.journal.replay import RESULTS, id_result_codes

ExportFormat = Literal["csv", "json", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")


def job_dict(job: JobRecord, counts: Counts | None) -> dict[str, Any]:
    """One job in the `jobs --json` shape."""
    status = job.status
    # A "running" job whose process is gone on this machine was killed: say so.
    if (
        status == "running"
        and job.pid is not None
        and job.host == socket.gethostname()
        and not pid_alive(job.pid)
    ):
        status = "interrupted"
    return {
        "id": job.id,
        "created_at": job.created_at,
        "provider": job.provider,
        "target": dict(job.target),
        "action": job.action,
        "tags": list(job.tags),
        "status": status,
        "counts": (counts or Counts()).as_dict(),
        "actor": job.actor,
    }


def job_table(job: Mapping[str, Any], batches: Sequence[BatchRecord]) -> pa.Table:
    """The job (its `job_dict`) and its batches as an arrow table, one row per id: job_id,
    provider, action, tags, id, kind, batch, result."""
    job_id = job["id"]
    sizes = np.array([len(b.ids) for b in batches], dtype=np.int64)
    n = int(sizes.sum())
    tags = [";".join(b.tags or job["tags"]) for b in batches]
    batch_no = np.repeat(np.arange(len(batches), dtype=np.int32), sizes)
    index = pa.array(np.array([b.index for b in batches], dtype=np.int64)[batch_no])
    ids = pa.chunked_array([_id_array(b.ids) for b in batches], pa.string())
    kinds = pa.chunked_array(
        [pa.array(b.kinds or [""] * len(b.ids), pa.string()) for b in batches], pa.string()
    )
    codes = np.concatenate([id_result_codes(b) for b in batches] or [np.zeros(0, np.int8)])
    return pa.table(
        {
            "job_id": _repeated(job_id, n),
            "provider": _repeated(job["provider"], n),
            "action": _repeated(job["action"], n),
            "tags": pa.DictionaryArray.from_arrays(pa.array(batch_no), pa.array(tags)),
            "id": ids,
            "kind": kinds,
            "batch": index,
            "result": pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(RESULTS)),
        }
    )


def _id_array(ids: Sequence[str]) -> pa.Array:
    """A batch's ids as an arrow array: the journal's own buffer, or its older text rows."""
    if isinstance(ids, IdList):
        return ids.array.cast(pa.string())
    return pa.array(list(ids), pa.string())


def _repeated(value: str, n: int) -> pa.DictionaryArray:
    """One text value for every row, stored once."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)), pa.array([value]))
