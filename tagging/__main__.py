"""Command line: `python -m tagging sandbox|push|jobs|resume|undo|coverage`.

A thin layer over the library (sqlite-utils style): parse options, call tagging, print.
Exit codes: 0 everything applied; 1 finished with ids not found or failed (listed);
2 bad input or configuration, as one line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tagging import providers
from tagging.errors import AuthError, ConfigError, InputError, TaggingError

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from tagging.config import Connection
    from tagging.journal import Journal
    from tagging.outcome import Progress, PushResult
    from tagging.plan import Plan, TagOperation

app = typer.Typer(add_completion=False, help=__doc__)

DEFAULT_JOURNAL = ".tagging/journal.db"
LISTED_IDS = 50  # ids listed per kind on a terminal; --json always lists all

JournalOpt = Annotated[
    str,
    typer.Option("--journal", help="Journal: a SQLite file path or a postgresql:// URL."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ProviderOpt = Annotated[str, typer.Option("--provider", help="atlas, nekt or immuta.")]
ProjectionOpt = Annotated[
    str | None, typer.Option("--projection-id", help="Atlas projection (map) id.")
]
IdFieldOpt = Annotated[str | None, typer.Option("--id-field", help="Atlas field the ids name.")]
JobArg = Annotated[str, typer.Argument(help="Job id (see `jobs`).")]


class Exit(Exception):
    """Leave with this code after the output is printed."""

    def __init__(self, code: int) -> None:
        self.code = code


@app.command()
def sandbox(
    host: str = typer.Option("127.0.0.1", help="Interface to bind; loopback by default."),
    port: int = typer.Option(8765, help="Port to listen on."),
    db: str = typer.Option(":memory:", help="SQLite file for state, or :memory:."),
    atlas_points: int = typer.Option(10_000, help="Points in the demo Atlas projection."),
    nekt_resources: int = typer.Option(96, help="Nekt resources, spread over the 8 types."),
    immuta_datasources: int = typer.Option(600, help="Immuta data sources (ids 1..N)."),
    latency_ms: int = typer.Option(0, help="Added latency per API request."),
    fail_rate: float = typer.Option(0.0, help="Share of API requests answered 500/502/503."),
    rate_limit: int = typer.Option(0, help="Requests per second before 429 (0: no limit)."),
    seed: int = typer.Option(0, help="Seed for the fault dice."),
) -> None:
    """Run the local sandbox that speaks all three tagging APIs."""
    from tagging.sandbox.server import serve

    serve(
        host=host,
        port=port,
        db=db,
        atlas_points=atlas_points,
        nekt_resources=nekt_resources,
        immuta_datasources=immuta_datasources,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        seed=seed,
    )


@app.command()
def push(
    provider: ProviderOpt,
    tag: Annotated[list[str], typer.Option("--tag", help="Tag name; repeat for several.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the tags instead.")] = False,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated ids.")] = None,
    ids_file: Annotated[
        Path | None, typer.Option("--ids-file", help="Text file (one id a line) or a table.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Id column of --ids-file.")
    ] = None,
    projection_id: ProjectionOpt = None,
    id_field: IdFieldOpt = None,
    resource_type: Annotated[
        str | None, typer.Option("--resource-type", help="Nekt resource type of all ids.")
    ] = None,
    model_type: Annotated[
        str | None, typer.Option("--model-type", help="Immuta model type of all ids.")
    ] = None,
    type_column: Annotated[
        str | None, typer.Option("--type-column", help="Column of --ids-file with each type.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; send nothing.")
    ] = False,
    chunk_size: Annotated[
        int | None, typer.Option("--chunk-size", min=1, help="Ids per batch.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Requests in flight.")
    ] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Add (or --remove) tags on ids, journaled so the job can be resumed or undone."""
    from tagging.known_state import read_state
    from tagging.plan import TagOperation
    from tagging.plan import plan as make_plan

    provider = _provider(provider)
    frame_ids, kinds = _read_ids(
        provider, ids, ids_file, id_column, resource_type, model_type, type_column
    )
    op = TagOperation(
        provider=provider,  # type: ignore[arg-type]
        action="remove" if remove else "add",
        tags=tuple(tag),
        ids=frame_ids,
        target=_target(provider, projection_id, id_field),
        kinds=kinds,
    )
    if dry_run:
        _print_plan(_dry_plan(op, chunk_size), as_json)
        return
    the_plan = make_plan(op, chunk_size=chunk_size)
    conn, catalog = _connect(provider, op.target)
    # Where the API can say which tags the ids carry now, diff against it: fewer requests,
    # and an exact undo. The catalog lets Immuta plans refuse unknown and parent tags.
    known = read_state(conn, op)
    if known is not None or provider == "immuta":
        the_plan = make_plan(op, known=known, chunk_size=chunk_size, catalog=catalog)
    book = _journal(journal)
    job_id = book.start_job(the_plan)
    if not as_json:
        _err(f"job {job_id}: {the_plan.to_send} ids in {len(the_plan.batches)} batches")
        for warning in the_plan.warnings:
            _err(f"warning: {warning}")
    _finish(_send(book, job_id, lambda progress: _push(the_plan, conn, book, job_id, progress,
                                                       concurrency), as_json), as_json)  # fmt: skip


def _push(
    plan: Plan,
    conn: Connection,
    book: Journal,
    job_id: str,
    progress: Callable[[Progress], None] | None,
    concurrency: int | None,
) -> PushResult:
    from tagging.executor import push as send

    return send(plan, conn, journal=book, job_id=job_id, progress=progress, concurrency=concurrency)


def _send(
    book: Journal,
    job_id: str,
    run: Callable[[Callable[[Progress], None] | None], PushResult],
    as_json: bool,
) -> PushResult:
    """Run a push with a progress bar; Ctrl-C leaves the job marked as interrupted."""
    try:
        with _progress(as_json) as progress:
            return run(progress)
    except KeyboardInterrupt:
        book.finish_job(job_id, "interrupted")
        _err(f"interrupted: resume with `python -m tagging resume {job_id}`")
        raise Exit(130) from None


@app.command()
def jobs(journal: JournalOpt = DEFAULT_JOURNAL, as_json: JsonOpt = False) -> None:
    """List journaled jobs, newest first."""
    entries = _journal(journal).jobs()
    if as_json:
        _out(json.dumps(entries))
        return
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
    _console().print(table if entries else "no jobs yet")


@app.command()
def resume(
    job: JobArg,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Send the unfinished batches of an interrupted or partly failed job."""
    book = _journal(journal)
    plan = book.load_plan(job)
    conn, _ = _connect(plan.operation.provider, plan.operation.target)
    if not as_json:
        _err(f"job {job}: resuming {plan.to_send} ids in {len(plan.batches)} batches")
    _finish(_send(book, job, lambda progress: book.resume(job, conn, progress), as_json), as_json)


@app.command()
def undo(
    job: JobArg,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Apply the inverse operation to exactly the ids a job changed (a new job)."""
    book = _journal(journal)
    plan = book.undo_plan(job)
    warning = book.undo_warning(job)
    if warning:
        _err(f"warning: {warning}")
    conn, _ = _connect(plan.operation.provider, plan.operation.target)
    with _progress(as_json) as progress:
        result = book.undo(job, conn, progress=progress)
    _finish(result, as_json, extra={"undo_of": job, "warning": warning})


@app.command()
def coverage(
    provider: ProviderOpt,
    dataset: Annotated[Path, typer.Option("--dataset", help="CSV/TSV/Parquet/JSON/Excel.")],
    id_column: Annotated[str, typer.Option("--id-column", help="Id column of the dataset.")],
    projection_id: ProjectionOpt = None,
    id_field: IdFieldOpt = None,
    facet: Annotated[
        str | None, typer.Option("--facet", help="Column to break coverage down by.")
    ] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """How many rows of a dataset carry each tag, from the journal's record."""
    from tagging.coverage import coverage as cover
    from tagging.datasets import load_dataset

    provider = _provider(provider)
    frame = load_dataset(dataset, id_column=id_column)
    if facet is not None and facet not in frame.columns:
        raise InputError(f"--facet: no column {facet!r} in {dataset.name}")
    target = _target(provider, projection_id, id_field) if projection_id else None
    state = _journal(journal).state_for(provider, target)
    summary = cover(frame, id_column, state, facet=facet).to_json()
    if as_json:
        _out(json.dumps(summary))
        return
    _print_coverage(summary)


# --- helpers ------------------------------------------------------------------------------


def _provider(name: str) -> str:
    name = name.strip().lower()
    if name not in ("atlas", "nekt", "immuta"):
        raise InputError(f"--provider: {name!r}: use atlas, nekt or immuta")
    return name


def _target(provider: str, projection_id: str | None, id_field: str | None) -> dict[str, str]:
    if provider != "atlas":
        if projection_id or id_field:
            raise InputError("--projection-id and --id-field are for --provider atlas")
        return {}
    target = {"projection_id": projection_id or ""}
    if id_field is not None:
        target["id_field"] = id_field
    return target


def _read_ids(
    provider: str,
    ids: str | None,
    ids_file: Path | None,
    id_column: str | None,
    resource_type: str | None,
    model_type: str | None,
    type_column: str | None,
) -> tuple[list[str], str | list[str] | None]:
    """Ids and their kinds (one for all, or one per id) from the options."""
    if (ids is None) == (ids_file is None):
        raise InputError("give the ids with exactly one of --ids or --ids-file")
    kind_flag = {"nekt": "--resource-type", "immuta": "--model-type"}.get(provider)
    fixed = {"--resource-type": resource_type, "--model-type": model_type}
    for flag, value in fixed.items():
        if value is not None and flag != kind_flag:
            raise InputError(f"{flag} does not apply to --provider {provider}")
    kind = fixed.get(kind_flag or "")
    if type_column is not None and provider == "atlas":
        raise InputError("--type-column does not apply to --provider atlas")
    if kind is not None and type_column is not None:
        raise InputError(f"give either {kind_flag} or --type-column, not both")
    if kind_flag and kind is None and type_column is None:
        raise InputError(f"--provider {provider} needs {kind_flag} or --type-column")
    if ids is not None:
        if type_column is not None:
            raise InputError("--type-column needs --ids-file with that column")
        return [i.strip() for i in ids.split(",") if i.strip()], kind
    assert ids_file is not None
    values, kinds = _ids_from_file(ids_file, id_column, type_column)
    return values, kinds if type_column is not None else kind


def _ids_from_file(
    path: Path, id_column: str | None, type_column: str | None
) -> tuple[list[str], list[str] | None]:
    if not path.is_file():
        raise InputError(f"--ids-file: no file {str(path)!r}")
    if id_column is None and type_column is None and path.suffix.lower() in ("", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                f"--ids-file: {path.name} is not UTF-8 text: save it as UTF-8, one id a line"
            ) from None
        return [line.strip() for line in text.splitlines() if line.strip()], None
    frame = _load_table(path, id_column)
    column = id_column or ("id" if "id" in frame.columns else str(frame.columns[0]))
    for flag, col in (("--id-column", column), ("--type-column", type_column)):
        if col is not None and col not in frame.columns:
            raise InputError(f"{flag}: no column {col!r} in {path.name}")
    rows = frame[frame[column].notna()]
    values = rows[column].astype(str).str.strip().tolist()
    kinds = rows[type_column].astype(str).str.strip().tolist() if type_column else None
    return values, kinds


def _load_table(path: Path, id_column: str | None) -> pd.DataFrame:
    """The table, with the id column read as text (so "007" stays "007")."""
    from tagging.datasets import load_dataset

    return load_dataset(path, id_column=id_column)


def _journal(path: str) -> Journal:
    from tagging.journal import Journal

    return Journal(path)


def _connect(provider: str, target: Mapping[str, str]) -> tuple[Connection, list[str]]:
    """A connection that has answered one read, and the tag names the API knows.

    Nothing is sent to a dead URL or with a rejected key: both end here as one line.
    """
    from tagging.config import connect

    conn = connect(provider)
    try:
        return conn, conn.check(target)
    except ConfigError as exc:
        if conn.is_sandbox and not isinstance(exc, AuthError):
            api = providers.get(provider)
            raise ConfigError(
                f"no sandbox answers at {conn.base_url}: start it with `python -m tagging "
                f"sandbox`, or set {api.key_env} and {api.url_env} for a live API"
            ) from None
        raise


@contextmanager
def _progress(as_json: bool) -> Iterator[Callable[[Progress], None] | None]:
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


def _finish(result: PushResult, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    summary = result.summary()
    if extra:
        summary.update(extra)
    code = 1 if (result.not_found or result.failed or result.cancelled) else 0
    if as_json:
        _out(json.dumps(summary))
        raise Exit(code)
    _out(
        f"job {result.job_id}: applied {result.applied}, not found {result.not_found}, "
        f"failed {result.failed}"
    )
    for label, listed in (("not found", result.not_found_ids), ("failed", result.failed_ids)):
        if listed:
            more = f" … and {len(listed) - LISTED_IDS} more" if len(listed) > LISTED_IDS else ""
            shown = (i if len(i) <= 80 else f"{i[:77]}…" for i in listed[:LISTED_IDS])
            _out(f"{label}: {', '.join(shown)}{more}")
    reasons = sorted({o.reason for o in result.outcomes if o.reason})
    for reason in reasons[:5]:
        _out(f"reason: {reason}")
    if result.failed or result.cancelled:
        _out(f"resume with: python -m tagging resume {result.job_id}")
    raise Exit(code)


def _dry_plan(op: TagOperation, chunk_size: int | None) -> Plan:
    """The plan a push would send. Where the API can say which tags the ids carry now
    (Immuta data sources), that is read (GET only), so the dry run shows the same batches;
    when it cannot be reached, every id is planned and a note says so."""
    from tagging.errors import ApiError
    from tagging.known_state import can_read_state, read_state
    from tagging.plan import plan as make_plan

    if not can_read_state(op):
        return make_plan(op, chunk_size=chunk_size)
    try:
        conn, catalog = _connect(op.provider, op.target)
        known = read_state(conn, op)
    except (ConfigError, ApiError) as exc:
        _err(f"note: current tags not read ({exc}); the plan sends every id")
        return make_plan(op, chunk_size=chunk_size)
    return make_plan(op, known=known, chunk_size=chunk_size, catalog=catalog)


def _print_plan(plan: Plan, as_json: bool) -> None:
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
            "summary": [line for line in plan.describe() if not line.startswith("warning: ")],
            "warnings": list(plan.warnings),
        }
        _out(json.dumps(doc))
        return
    from rich.table import Table

    frame = plan.to_frame()
    if not frame["kinds"].astype(bool).any():
        frame = frame.drop(columns="kinds")
    table = Table(*frame.columns, title=f"plan (dry run): {op.action} {', '.join(op.tags)} on "
                  f"{op.provider} {dict(op.target) or ''}")  # fmt: skip
    for row in frame.head(10).itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    if len(frame) > 10:
        table.add_row("…", str(int(frame["ids"].iloc[10:].sum())), *[""] * (len(frame.columns) - 2))
    console = _console()
    console.print(table)
    for line in plan.describe():  # says which ids get which tags when batches differ
        console.print(line, highlight=False, markup=False)
    console.print("Nothing was sent.")


def _print_coverage(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("", "rows", "tagged", "untagged", *summary["tags"])
    groups = {"all": summary, **summary.get("facets", {})}
    for name, s in groups.items():
        row = [str(name), str(s["rows"]), str(s["tagged"]), str(s["untagged"])]
        table.add_row(*row, *(str(s["tags"].get(t, 0)) for t in summary["tags"]))
    _console().print(table)


def _console() -> Console:
    """Rich output on stdout; wide when piped, so tables stay readable in logs and files."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    try:
        result = app(args=args, prog_name="python -m tagging", standalone_mode=False)
    except Exit as done:
        return done.code
    except typer.TyperException as exc:  # usage errors: unknown option, missing value...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _err(f"error: {' '.join(message.split())}")
        return 2
    except TaggingError as exc:
        _err(f"error: {exc}")
        return 2
    except typer.Abort:
        _err("error: interrupted; `python -m tagging jobs` shows what to resume")
        return 130
    except Exception as exc:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("TAGGING_DEBUG"):
            raise
        _err(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
             "(set TAGGING_DEBUG=1 for a traceback)")  # fmt: skip
        return 2
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
