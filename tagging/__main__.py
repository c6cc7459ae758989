"""Command line: `python -m tagging sandbox|push|jobs|resume|undo|coverage`.

A thin layer over the library (sqlite-utils style): parse options, call tagging, print.
Provider choices, target options (`--projection-id`...) and kind options (`--resource-type`,
`--model-type`) come from the provider registry.
Exit codes: 0 everything applied; 1 finished with ids not found or failed (listed);
2 bad input or configuration, as one line on stderr.
"""

from __future__ import annotations

import sys

# `import httpx` also imports its command-line client (click, rich, pygments: ~0.1 s) when
# click is installed; the failed import leaves httpx.main a stub in this process only.
if "httpx" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    import httpx  # noqa: F401

    del sys.modules["httpx._main"]

import inspect
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from tagging import cli_input, pandas_import
from tagging import providers as registry
from tagging.cli_output import Exit, err, finish, out, print_coverage, print_jobs, print_plan
from tagging.cli_output import progress_bar as terminal_progress
from tagging.errors import ApiError, AuthError, ConfigError, InputError, TaggingError
from tagging.render import state_note
from tagging.sandbox.cli import sandbox_command

if TYPE_CHECKING:
    from tagging.config import Connection
    from tagging.journal import Journal
    from tagging.values import Plan, Progress, PushResult, TagOperation

app = typer.Typer(add_completion=False, help=__doc__)

DEFAULT_JOURNAL = ".tagging/journal.db"

JournalOpt = Annotated[
    str,
    typer.Option("--journal", help="Journal: a SQLite file path or a postgresql:// URL."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ProviderOpt = Annotated[
    str, typer.Option("--provider", help="One of: " + ", ".join(registry.names()) + ".")
]
JobArg = Annotated[str, typer.Argument(help="Job id (see `jobs`).")]
NoVerifyOpt = Annotated[
    bool, typer.Option("--no-verify", help="Do not read the sent ids back afterwards.")
]


def provider_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add every registered provider's target fields (and, with `kinds`, its kind flag) as
    options of a command whose function takes them as **options."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    added = [
        _option(name, str | None, typer.Option(flag, help=text))
        for name, (flag, text) in cli_input.target_fields().items()
    ]
    command.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    return command


def _option(name: str, kind: Any, info: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind, info]
    )


app.command(name="sandbox")(sandbox_command)  # the options live with the sandbox


@app.command()
@provider_options
def push(
    provider: ProviderOpt,
    tag: Annotated[list[str], typer.Option("--tag", help="Tag name; repeat for several.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the tags instead.")] = False,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated ids.")] = None,
    ids_file: Annotated[
        Path | None, typer.Option("--ids-file", help="Text file (one id a line) or a table.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Id column of --ids-file or --dataset.")
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            help="Tag the rows of this dataset (a Parquet folder or glob is read through DuckDB).",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Only --dataset rows where 'COLUMN OP VALUE'; repeat."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            *cli_input.kind_flags(),
            help="The kind of every id (Nekt resource type, Immuta model type).",
        ),  # fmt: skip
    ] = None,
    type_column: Annotated[
        str | None,
        typer.Option("--type-column", help="Column of --ids-file or --dataset with each kind."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; send reads only.")
    ] = False,
    chunk_size: Annotated[
        int | None, typer.Option("--chunk-size", min=1, help="Ids per batch.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Requests in flight.")
    ] = None,
    no_verify: NoVerifyOpt = False,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
    **options: str | None,
) -> None:
    """Add (or --remove) tags on ids, journaled so the job can be resumed or undone."""
    from tagging.values import TagOperation

    api = cli_input.provider(provider)
    target = cli_input.target(api, options)
    read = cli_input.ids_and_kinds(
        api, ids, ids_file, id_column, kind, type_column, dataset, where or ()
    )
    op = TagOperation(
        provider=api.name,
        action="remove" if remove else "add",
        tags=tuple(tag),
        ids=cast("Sequence[str]", read.ids),  # Arrow text (or a text Series): kept as Arrow
        target=target,
        kinds=cast("Sequence[str]", read.kinds) if read.kinds is not None else kind,
    )
    if dry_run:  # a dry run writes nothing, not even a new journal file
        existing = "://" in journal or Path(journal).exists()
        dry = _dry_plan(op, _journal(journal) if existing else None, chunk_size)
        if read.note(dry.requested) and not as_json:
            err(f"note: {read.note(dry.requested)}")
        print_plan(dry, as_json)
        return
    book = _journal(journal)
    book.ready()  # a read-only or damaged journal: said before anything is sent
    conn = _connect(api.name)
    the_plan = _prepare(op, conn, book, chunk_size)
    job_id = book.start_job(the_plan)
    if not as_json:
        notes = [state_note(the_plan)] if the_plan.state_source else []
        notes += [n for n in [read.note(the_plan.requested)] if n]
        more = f" ({'; '.join(notes)})" if notes else ""
        err(f"job {job_id}: {the_plan.to_send} ids in {len(the_plan.batches)} batches "
            f"to {conn.where}{more}")  # fmt: skip
        for warning in the_plan.warnings:
            err(f"warning: {warning}")

    def run(progress: Callable[[Progress], None] | None) -> PushResult:
        from tagging.executor import push as send

        return send(the_plan, conn, journal=book, job_id=job_id, progress=progress,
                    concurrency=concurrency, verify=not no_verify)  # fmt: skip

    finish(_send(book, job_id, run, as_json), as_json)


def _send(
    book: Journal,
    job_id: str,
    run: Callable[[Callable[[Progress], None] | None], PushResult],
    as_json: bool,
) -> PushResult:
    """Run a push with a progress bar; Ctrl-C leaves the job marked as interrupted."""
    try:
        with terminal_progress(as_json) as progress:
            return run(progress)
    except KeyboardInterrupt:
        book.finish_job(job_id, "interrupted")
        err(f"interrupted: resume with `python -m tagging resume {job_id}`")
        raise Exit(130) from None


@app.command()
def jobs(journal: JournalOpt = DEFAULT_JOURNAL, as_json: JsonOpt = False) -> None:
    """List journaled jobs, newest first."""
    entries = _journal(journal).jobs()
    if as_json:
        out(json.dumps(entries))
        return
    print_jobs(entries)


@app.command()
def resume(
    job: JobArg,
    no_verify: NoVerifyOpt = False,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Send the unfinished batches of an interrupted or partly failed job."""
    book = _journal(journal)
    book.ready()
    book.check_free(job)  # one job, one runner: said before anything else
    plan = book.load_plan(job)
    conn = _checked(plan.operation.provider, plan.operation.target)
    if not as_json:
        err(f"job {job}: resuming {plan.to_send} ids in {len(plan.batches)} batches "
            f"to {conn.where}")  # fmt: skip

    def run(progress: Callable[[Progress], None] | None) -> PushResult:
        return book.resume(job, conn, progress, verify=not no_verify)

    finish(_send(book, job, run, as_json), as_json)


@app.command()
def undo(
    job: JobArg,
    force: Annotated[
        bool, typer.Option("--force", help="Also reverse items whose prior state is unknown.")
    ] = False,
    no_verify: NoVerifyOpt = False,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
) -> None:
    """Reverse what a job changed (a new job), never a tag an item carried before it."""
    from tagging.errors import PriorStateUnknown

    book = _journal(journal)
    book.ready()
    preview = book.undo_preview(job)
    if preview.unknown and not force:  # said before anything is sent
        err(str(PriorStateUnknown(job, preview.unknown)))
        raise Exit(2)
    warning = None
    if preview.unknown:
        warning = f"reversing {preview.unknown} items whose prior state is unknown (--force)"
        err(f"warning: {warning}")
    plan = preview.plan
    conn = _checked(plan.operation.provider, plan.operation.target)
    if not as_json:
        err(f"undo of job {job}: {plan.operation.action} on {plan.to_send} ids "
            f"to {conn.where}")  # fmt: skip
    with terminal_progress(as_json) as progress:
        result = book.undo(job, conn, progress=progress, force=force, verify=not no_verify)
    finish(result, as_json, extra={"undo_of": job, "warning": warning})


journal_app = typer.Typer(help="Check a journal, or copy what is readable out of a damaged one.")
app.add_typer(journal_app, name="journal")


@journal_app.command("check")
def journal_check(journal: JournalOpt = DEFAULT_JOURNAL) -> None:
    """Say whether the journal is sound (exit 0) or what is wrong with it (exit 1)."""
    from tagging.journal.health import check

    problems = check(journal)
    if not problems:
        out(f"journal at {_journal(journal).location}: ok")
        return
    out(f"journal at {journal} is damaged: {problems[0]}")
    for problem in problems[1:5]:
        out(f"  also: {problem}")
    out(f"copy out what is readable: python -m tagging journal recover --journal {journal} "
        "--to NEW.db")  # fmt: skip
    raise Exit(1)


@journal_app.command("recover")
def journal_recover(
    to: Annotated[str, typer.Option("--to", help="A new SQLite file for what is readable.")],
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Copy every readable job and batch of a damaged SQLite journal into a new file."""
    from tagging.journal.health import recover

    out(f"{recover(journal, to).line} into {to}: use it with --journal {to}")


@app.command()
@provider_options
def coverage(
    provider: ProviderOpt,
    dataset: Annotated[Path, typer.Option("--dataset", help="CSV/TSV/Parquet/JSON/Excel.")],
    id_column: Annotated[str, typer.Option("--id-column", help="Id column of the dataset.")],
    facet: Annotated[
        str | None, typer.Option("--facet", help="Column to break coverage down by.")
    ] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    as_json: JsonOpt = False,
    **options: str | None,
) -> None:
    """How many rows of a dataset carry each tag, from the journal's record."""
    from tagging.coverage import coverage as cover
    from tagging.datasets import load_dataset

    api = cli_input.provider(provider)
    given = any(options.get(f.name) for f in api.target_fields)
    target = cli_input.target(api, options) if given else None
    frame = load_dataset(dataset, id_column=id_column)
    if facet is not None and facet not in frame.columns:
        raise InputError(f"--facet: no column {facet!r} in {dataset.name}")
    state = _journal(journal).state_for(api.name, target)
    summary = cover(frame, id_column, state, facet=facet).to_json()
    if as_json:
        out(json.dumps(summary))
        return
    print_coverage(summary)


# --- helpers ------------------------------------------------------------------------------


_opened: list[Journal] = []  # closed by main() before it leaves


def _journal(path: str) -> Journal:
    from tagging.journal import Journal

    book = Journal(path)
    _opened.append(book)
    return book


def _connect(provider: str) -> Connection:
    from tagging.config import connect

    return connect(provider)


def _checked(provider: str, target: dict[str, str] | Any) -> Connection:
    """A connection that has answered one read: nothing is sent to a dead URL or with a
    rejected key (both end here as one line)."""
    conn = _connect(provider)
    with _reachable(conn):
        conn.check(target)
    return conn


def _prepare(op: TagOperation, conn: Connection, book: Journal | None, chunk: int | None) -> Plan:
    from tagging.prepare import prepare

    with _reachable(conn):
        return prepare(op, conn, journal=book, chunk_size=chunk)


def _dry_plan(op: TagOperation, book: Journal | None, chunk_size: int | None) -> Plan:
    """The plan a push would send (reads only). When the API cannot be reached, the plan is
    made from the journal alone and a note says so."""
    from tagging.plan import plan

    conn = _connect(op.provider)
    try:
        return _prepare(op, conn, book, chunk_size)
    except AuthError:
        raise
    except (ConfigError, ApiError) as exc:
        err(f"note: current tags not read ({exc}); the plan uses the journal alone")
        known = book.state_for(op.provider, op.target) if book is not None else None
        return plan(op, known, chunk_size, state_source="journal")


@contextmanager
def _reachable(conn: Connection) -> Iterator[None]:
    """Turn "the sandbox is not running" into a line that says how to start it."""
    try:
        yield
    except ConfigError as exc:
        if isinstance(exc, AuthError) or not conn.is_sandbox or "cannot reach" not in str(exc):
            raise
        api = registry.get(conn.provider)
        raise ConfigError(
            f"no sandbox answers at {conn.base_url}: start it with `python -m tagging "
            f"sandbox`, or set {api.key_env} and {api.url_env} for a live API"
        ) from None


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    try:
        result = app(args=args, prog_name="python -m tagging", standalone_mode=False)
    except Exit as done:
        return done.code
    except typer.TyperException as exc:  # usage errors: unknown option, missing value...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err(f"error: {' '.join(message.split())}")
        return 2
    except TaggingError as exc:
        err(f"error: {exc}")
        return 2
    except typer.Abort:
        err("error: interrupted; `python -m tagging jobs` shows what to resume")
        return 130
    except Exception as exc:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("TAGGING_DEBUG"):
            raise
        err(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
             "(set TAGGING_DEBUG=1 for a traceback)")  # fmt: skip
        return 2
    return result if isinstance(result, int) else 0


def main() -> None:
    pandas_import.defer()  # a push of a text ids file then never imports pandas (0.3 s)
    code = run()
    try:
        for book in _opened:
            book.close()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        sys.exit(code)
    # Everything is written and closed: leave without tearing the interpreter down (freeing
    # a million ids' objects and every module took 0.18 s after a push's answer was printed).
    os._exit(code)


if __name__ == "__main__":
    main()
