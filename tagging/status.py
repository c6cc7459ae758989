"""How a batch's and a job's status follow from their outcomes: the rules, once.

The executor uses them for the result it reports, the journal for what it stores, including
a resume that merges a resent part of a batch back into the whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from tagging.values import BatchStatus, JobStatus


def batch_status(size: int, failed: int, not_found: int) -> BatchStatus:
    """A sent batch of `size` ids of which `failed` failed and `not_found` were unknown."""
    if failed and failed == size:
        return "failed"
    if failed or not_found:
        return "partial"
    return "applied"


def job_status(batches: Mapping[str, int], *, stopped: bool = False) -> JobStatus:
    """A finished run's status from how many of its batches ended in each status.

    A run that stopped early (cancelled, or the API stayed down) or left batches pending is
    "interrupted", so it can be resumed; a job of no batches (all known already) is "done".
    """
    if stopped or batches.get("pending"):
        return "interrupted"
    ended = {status for status, count in batches.items() if count}
    if ended <= {"applied"}:
        return "done"
    if ended == {"failed"}:
        return "failed"
    return "partial"
