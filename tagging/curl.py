""" "Copy as curl": the plan's requests as shell commands, the key as a `$VAR` placeholder."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tagging import providers
from tagging.plan import Batch
from tagging.providers.base import ApiRequest

if TYPE_CHECKING:
    from tagging.plan import Plan


def plan_to_curl(plan: Plan, max_ids: int = 5, base_url: str | None = None) -> list[str]:
    """Commands for the first batch, cut to `max_ids` ids; one per request kind. When
    batches apply different tags (known state), the first batch of each tag set too."""
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
        commands.extend(curl_command(r, base, headers) for r in _one_per_kind(requests))
    return commands


def _first_per_tag_set(plan: Plan) -> list[Batch]:
    firsts: dict[tuple[str, ...], Batch] = {}
    for batch in plan.batches:
        firsts.setdefault(plan.tags_for(batch), batch)
    return list(firsts.values())


def curl_command(request: ApiRequest, base_url: str, headers: dict[str, str]) -> str:
    lines = [f'curl -L "{base_url}{request.path}"', f"-X {request.method}"]
    lines.append('-H "Content-Type: application/json"')
    lines.extend(f'-H "{name}: {value}"' for name, value in headers.items())
    if request.body is not None:
        body = json.dumps(request.body, indent=2, ensure_ascii=False).replace("'", "'\\''")
        lines.append(f"-d '{body}'")
    return " \\\n  ".join(lines)


def _one_per_kind(requests: list[ApiRequest]) -> list[ApiRequest]:
    """Per-model APIs (Immuta) send one request per id: show the first model's only."""
    if not requests or any(len(r.ids) != 1 for r in requests):
        return requests
    first = requests[0].ids
    return [r for r in requests if r.ids == first]
