"""Plans and results for people: plain-text lines, tables, copy-as-curl and notebook HTML.

Beside the values (not inside them): rendering asks the provider registry how to name a
target and count requests, which the leaf values must not import.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

from tagging import providers
from tagging.values import ApiRequest, Batch, Plan, PushResult

if TYPE_CHECKING:
    import pandas as pd


def request_count(plan: Plan) -> int:
    """HTTP requests the plan needs when nothing is retried."""
    api = providers.get(plan.provider)
    return sum(api.request_count(plan.operation, b) for b in plan.batches)


def describe(plan: Plan) -> list[str]:
    """Plain-text lines saying what a push of this plan will do."""
    op = plan.operation
    api = providers.get(op.provider)
    tags = ", ".join(repr(t) for t in op.tags)
    where = api.target_label(op.target, op.kinds if isinstance(op.kinds, str) else None)
    to = "to" if op.action == "add" else "from"
    if plan.to_send or not plan.requested:
        lines = [f"{op.action} {tags} {to} {plan.to_send:,} {where}"]
    else:  # not "add 'x' to 0 points": say why nothing goes
        state = "already carry" if op.action == "add" else "do not carry"
        lines = [f"nothing to {op.action}: all {plan.requested:,} selected ids {state} {tags}"]
    if plan.requested != plan.to_send or plan.known_state:
        reason = "already tagged" if op.action == "add" else "not carrying these tags"
        lines.append(f"{plan.skipped:,} of {plan.requested:,} ids skipped: {reason}")
    if plan.state_source:
        lines.append(state_note(plan))
    if plan.tags_differ:
        lines.extend(_partial_tag_lines(plan))
    if plan.batches:
        largest = max(len(b.ids) for b in plan.batches)
        batches = f"{len(plan.batches):,} batch{'es' if len(plan.batches) != 1 else ''}"
        lines.append(
            f"{batches} of up to {largest:,} ids, {_plural(request_count(plan), 'request')} "
            f"to {op.provider}"
        )
    else:
        lines.append("nothing to send")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def state_note(plan: Plan) -> str:
    """Where the known state came from, e.g. "prior state from the provider and the journal"."""
    return f"prior state from the {plan.state_source.replace('+', ' and the ')}"


def _partial_tag_lines(plan: Plan) -> list[str]:
    """How many ids get which tags, when known state says only some tags change for some."""
    counts: dict[tuple[str, ...], int] = {}
    for b in plan.batches:
        tags = plan.tags_for(b)
        counts[tags] = counts.get(tags, 0) + len(b.ids)
    verb = "get" if plan.operation.action == "add" else "lose"
    rest = "already" if plan.operation.action == "add" else "not"
    lines = []
    for tags, n in counts.items():
        label = ", ".join(repr(t) for t in tags)
        if tags == plan.operation.tags:
            lines.append(f"{n:,} ids {verb} all of {label}")
        else:
            lines.append(f"{n:,} ids {verb} only {label} (the other tags are {rest} on them)")
    return lines


def plan_frame(plan: Plan) -> pd.DataFrame:
    """One row per batch: batch, ids, first id, last id, kinds, requests; plus the batch's
    tags when batches apply different tags."""
    import pandas as pd

    api = providers.get(plan.provider)
    op = plan.operation
    rows = [
        {
            "batch": b.index,
            "ids": len(b.ids),
            "first id": b.ids[0] if b.ids else "",
            "last id": b.ids[-1] if b.ids else "",
            "kinds": _kinds_label(plan, b),
            "tags": ", ".join(plan.tags_for(b)),
            "requests": api.request_count(op, b),
        }
        for b in plan.batches
    ]
    columns = ["batch", "ids", "first id", "last id", "kinds", "requests"]
    if plan.tags_differ:
        columns.insert(5, "tags")
    return pd.DataFrame(rows, columns=columns)


def _kinds_label(plan: Plan, batch: Batch) -> str:
    if batch.kinds is not None:
        return ", ".join(sorted(set(batch.kinds)))
    kinds = plan.operation.kinds
    return kinds if isinstance(kinds, str) else ""


# --- copy as curl ---------------------------------------------------------------------------


def to_curl(plan: Plan, max_ids: int = 5, base_url: str | None = None) -> list[str]:
    """Commands for the first batch, cut to `max_ids` ids, the key as a `$VAR` placeholder;
    one per request kind. When batches apply different tags, the first batch of each."""
    if not plan.batches:
        return []
    api = providers.get(plan.provider)
    base = (base_url or api.default_url or f"${api.url_env}").rstrip("/")
    headers = api.auth_headers(f"${api.key_env}")
    commands: list[str] = []
    for first in _first_per_tag_set(plan):
        sample = Batch(
            index=first.index,
            ids=first.ids[:max_ids],
            kinds=first.kinds[:max_ids] if first.kinds is not None else None,
            tags=first.tags,
        )
        requests = list(api.requests(plan.operation, sample))
        commands.extend(
            curl_command(r, base, headers, (api.key_env, api.url_env))
            for r in _one_per_kind(requests)
        )
    return commands


def _first_per_tag_set(plan: Plan) -> list[Batch]:
    firsts: dict[tuple[str, ...], Batch] = {}
    for batch in plan.batches:
        firsts.setdefault(plan.tags_for(batch), batch)
    return list(firsts.values())


def curl_command(
    request: ApiRequest, base_url: str, headers: dict[str, str], placeholders: Iterable[str] = ()
) -> str:
    """One POSIX-shell command: every part quoted with shlex.quote, so nothing in a URL, tag
    name, id or body runs when pasted; only the `$VAR` placeholders we put in (the key and
    URL variables named in `placeholders`) are left for the shell to expand."""
    names = tuple(placeholders)

    def word(text: str) -> str:
        return shell_word(text, names)

    lines = [f"curl -L {word(base_url + request.path)}", f"-X {shlex.quote(request.method)}"]
    lines.append(f"-H {word('Content-Type: application/json')}")
    lines.extend(f"-H {word(f'{name}: {value}')}" for name, value in headers.items())
    if request.body is not None:
        lines.append(f"-d {shlex.quote(json.dumps(request.body, indent=2, ensure_ascii=False))}")
    return " \\\n  ".join(lines)


def shell_word(text: str, placeholders: Sequence[str] = ()) -> str:
    """`text` as one shell word: literal parts shlex-quoted, `$NAME` for each placeholder
    name double-quoted (expanded, never split); any other `$` stays literal."""
    if not placeholders:
        return shlex.quote(text)
    pattern = "|".join(re.escape(f"${name}") for name in placeholders)
    parts = [p for p in re.split(f"({pattern})", text) if p]
    return "".join(f'"{p}"' if p[1:] in placeholders else shlex.quote(p) for p in parts) or "''"


def _one_per_kind(requests: list[ApiRequest]) -> list[ApiRequest]:
    """Per-model APIs (Immuta) send one request per id: show the first model's only."""
    if not requests or any(len(r.ids) != 1 for r in requests):
        return requests
    first = requests[0].ids
    return [r for r in requests if r.ids == first]


# --- notebooks ------------------------------------------------------------------------------


def plan_html(plan: Plan) -> str:
    lines = "".join(f"<li>{escape(line)}</li>" for line in describe(plan))
    table = plan_frame(plan).head(20).to_html(index=False)
    more = len(plan.batches) - 20
    tail = f"<p>… and {more} more batches</p>" if more > 0 else ""
    return f"<ul>{lines}</ul>{table}{tail}"


def result_html(result: PushResult) -> str:
    """A small table: the counts, then the first ids that need a look."""
    rows = [
        ("job", result.job_id or "(not journaled)"),
        ("applied", f"{result.applied:,}"),
        ("not found", f"{result.not_found:,}"),
        ("failed", f"{result.failed:,}"),
    ]
    for label, ids in (("not found ids", result.not_found_ids), ("failed ids", result.failed_ids)):
        if ids:
            more = f" … and {len(ids) - 10:,} more" if len(ids) > 10 else ""
            rows.append((label, ", ".join(ids[:10]) + more))
    if result.cancelled:
        rows.append(("status", "cancelled: resume the job to finish it"))
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def register_notebook_formatters() -> None:
    """Show plans and results as HTML tables in Jupyter (a no-op outside IPython)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    html = shell.display_formatter.formatters["text/html"]
    html.for_type(Plan, plan_html)
    html.for_type(PushResult, result_html)
