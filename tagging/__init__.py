"""Tag thousands or millions of records in Nomic Atlas, Nekt and Immuta (or a plugged-in API).

The public API a notebook needs; everything else is private. Flow:
dataset -> filter -> TagOperation -> prepare (known state) -> Plan -> push -> journal
-> coverage -> charts.

    conn = tagging.connect("atlas")                    # env / secrets / explicit; sandbox default
    op = tagging.TagOperation("atlas", "add", ("Needs review",), ids,
                              target={"projection_id": P})
    journal = tagging.Journal()
    p = tagging.prepare(op, conn, journal=journal)     # reads only: catalog, known state
    result = tagging.push(p, conn, journal=journal, progress=True)

Modules for apps built on the library (the workbench's pages use them): `tagging.providers`
(the registry), `tagging.filters`, `tagging.selection`, `tagging.datasets`, `tagging.columns`,
`tagging.coverage`, `tagging.coverage_time`,
`tagging.known_state`, `tagging.render`, `tagging.export`, `tagging.errors`, `tagging.charts`,
`tagging.maps` (the map figure), `tagging.large_dataset` (Parquet beyond memory, via DuckDB),
`tagging.config` (what `connect` reads) and `tagging.demo` (the sandbox's demo world).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tagging import errors
from tagging.config import Connection, connect
from tagging.coverage import coverage
from tagging.coverage_time import coverage_over_time
from tagging.datasets import load_dataset
from tagging.demo import demo_datasets
from tagging.errors import TaggingError
from tagging.executor import push
from tagging.filters import Condition, apply_filters
from tagging.journal import Journal
from tagging.plan import plan
from tagging.prepare import prepare
from tagging.render import describe, register_notebook_formatters
from tagging.selection import points_in_polygon
from tagging.values import Plan, Progress, PushResult, TagOperation

if TYPE_CHECKING:
    from tagging import charts
    from tagging.maps import map_figure
    from tagging.notebook import Workbench

register_notebook_formatters()  # plans and results render as tables in Jupyter


def __getattr__(name: str) -> Any:
    # charts pulls in plotly (~0.4 s); the CLI and push never draw, so import it on first use.
    if name == "charts":
        return import_module("tagging.charts")
    if name == "map_figure":
        return import_module("tagging.maps").map_figure
    if name == "Workbench":  # the notebook widget: ipywidgets only for those who use it
        return import_module("tagging.notebook").Workbench
    raise AttributeError(f"module 'tagging' has no attribute {name!r}")


__all__ = [
    "Condition",
    "Connection",
    "Journal",
    "Plan",
    "Progress",
    "PushResult",
    "TagOperation",
    "TaggingError",
    "Workbench",
    "apply_filters",
    "charts",
    "connect",
    "coverage",
    "coverage_over_time",
    "demo_datasets",
    "describe",
    "errors",
    "load_dataset",
    "map_figure",
    "plan",
    "points_in_polygon",
    "prepare",
    "push",
]
