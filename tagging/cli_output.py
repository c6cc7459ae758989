"""What the CLI prints: progress bars, results, plans, tables. Output only, no decisions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tagging.render import describe, plan_frame
from tagging.values import Plan, Progress, PushResult

if TYPE_CHECKING:
    from rich.console import Console

LISTED_IDS = 50  # ids listed per kind on a terminal; --json always lists all


class Exit(Exception):
    """Leave with this code after the output is printed."""

    def __init__(self, code: int) -> None:
        self.code = code


@contextmanager
def progress_bar(as_json: bool) -> Iterator[Callable[[Progress], None] | None]:
    """A rich progress bar on a terminal; nothing for --json or when output is piped."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    from rich import progress as bars
    from rich.console import Console

    with bars.Progress(
        "[progress.description]{task.description}",
        bars.BarColumn(),
        bars.MofNCompleteColumn(),
        bars.TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("ids", total=None)

        def update(p: Progress) -> None:
            bar.update(task, total=p.total_ids, completed=p.done_ids)

        yield update


def finish(result: PushResult, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    summary = result.summary()
    if extra:
        summary.update(extra)
    mismatched = result.verified.mismatched_ids if result.verified else ()
    code = 1 if (result.not_found or result.failed or result.cancelled or mismatched) else 0
    if as_json:
        out(json.dumps(summary))
        raise Exit(code)
    out(
        f"job {result.job_id}: applied {result.applied}, not found {result.not_found}, "
        f"failed {result.failed}"
    )
    if result.unverified_reason:
        out(f"verified: not read back ({result.unverified_reason})")
    elif result.verified is None:
        out("verified: not read back (the API cannot be read, or --no-verify)")
    else:
        out(f"verified: {result.verified.checked} ids read back, {len(mismatched)} mismatched")
    for label, listed in (
        ("not found", result.not_found_ids),
        ("failed", result.failed_ids),
        ("mismatched", list(mismatched)),
    ):
        if listed:
            more = f" … and {len(listed) - LISTED_IDS} more" if len(listed) > LISTED_IDS else ""
            shown = (i if len(i) <= 80 else f"{i[:77]}…" for i in listed[:LISTED_IDS])
            out(f"{label}: {', '.join(shown)}{more}")
    reasons = sorted({o.reason for o in result.outcomes if o.reason})
    for reason in reasons[:5]:
        out(f"reason: {reason}")
    if result.failed or result.cancelled:
        out(f"resume with: python -m tagging resume {result.job_id}")
    raise Exit(code)


def print_plan(plan: Plan, as_json: bool) -> None:
    op = plan.operation
    if as_json:
        batches = [
            {"index": b.index, "ids": len(b.ids), "tags": list(plan.tags_for(b))}
            for b in plan.batches
        ]
        doc = {
            "dry_run": True,
            "provider": op.provider,
            "target": dict(op.target),
            "action": op.action,
            "tags": list(op.tags),
            "requested": plan.requested,
            "skipped": plan.skipped,
            "to_send": plan.to_send,
            "batch_count": len(plan.batches),
            "tags_differ": plan.tags_differ,
            "batches": batches,
            "summary": [line for line in describe(plan) if not line.startswith("warning: ")],
            "warnings": list(plan.warnings),
        }
        out(json.dumps(doc))
        return
    from rich.table import Table

    frame = plan_frame(plan)
    if not frame["kinds"].astype(bool).any():
        frame = frame.drop(columns="kinds")
    table = Table(*frame.columns, title=f"plan (dry run): {op.action} {', '.join(op.tags)} on "
                  f"{op.provider} {dict(op.target) or ''}")  # fmt: skip
    for row in frame.head(10).itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    if len(frame) > 10:
        table.add_row("…", str(int(frame["ids"].iloc[10:].sum())), *[""] * (len(frame.columns) - 2))
    screen = console()
    screen.print(table)
    for line in describe(plan):  # says which ids get which tags when batches differ
        screen.print(line, highlight=False, markup=False)
    screen.print("Nothing was sent.")


def print_coverage(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("", "rows", "tagged", "untagged", *summary["tags"])
    groups = {"all": summary, **summary.get("facets", {})}
    for name, s in groups.items():
        row = [str(name), str(s["rows"]), str(s["tagged"]), str(s["untagged"])]
        table.add_row(*row, *(str(s["tags"].get(t, 0)) for t in summary["tags"]))
    console().print(table)


def console() -> Console:
    """Rich output on stdout; wide when piped, so tables stay readable in logs and files."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_jobs(entries: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("job", "created (UTC)", "provider", "action", "tags", "status", "ids", "applied",
                  "not found", "failed", "pending")  # fmt: skip
    for e in entries:
        c = e["counts"]
        table.add_row(
            e["id"], e["created_at"][:19].replace("T", " "), e["provider"], e["action"],
            ", ".join(e["tags"]), e["status"], *(str(c[k]) for k in
            ("ids", "applied", "not_found", "failed", "pending")),
        )  # fmt: skip
    console().print(table if entries else "no jobs yet")
