"""A ready-made progress callback: a tqdm bar (a widget in Jupyter, text in a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tagging.values import Plan, Progress

ProgressCallback = Callable[[Progress], None]


@contextmanager
def progress_bar(plan: Plan, desc: str | None = None) -> Iterator[ProgressCallback]:
    """`with progress_bar(p) as bar: push(p, conn, progress=bar)` shows ids sent and failures."""
    from tqdm.auto import tqdm  # only notebooks and scripts that ask for a bar pay for it

    label = desc or ", ".join(plan.operation.tags)
    with tqdm(total=plan.to_send, unit="id", unit_scale=True, desc=label) as bar:

        def update(p: Progress) -> None:
            bar.update(p.done_ids - bar.n)
            if p.failed_ids or p.retries:
                bar.set_postfix(failed=p.failed_ids, retries=p.retries, refresh=False)

        yield update
