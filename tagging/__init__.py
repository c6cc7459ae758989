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

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tagging import charts, errors
    from tagging.config import Connection, connect
    from tagging.coverage import coverage
    from tagging.coverage_time import coverage_over_time
    from tagging.datasets import load_dataset
    from tagging.demo import demo_datasets
    from tagging.errors import TaggingError
    from tagging.executor import push
    from tagging.filters import Condition, apply_filters
    from tagging.journal import Journal
    from tagging.maps import map_figure
    from tagging.notebook import Workbench
    from tagging.plan import plan
    from tagging.prepare import prepare
    from tagging.render import describe
    from tagging.selection import points_in_polygon
    from tagging.values import Plan, Progress, PushResult, TagOperation

# Each public name and the module that defines it, imported on first use: `python -m tagging`
# imports this package first, and a push needs neither pandas' frames (coverage, datasets)
# nor plotly (charts, maps) nor ipywidgets (Workbench).
_HOME = {
    "Condition": "tagging.filters",
    "Connection": "tagging.config",
    "Journal": "tagging.journal",
    "Plan": "tagging.values",
    "Progress": "tagging.values",
    "PushResult": "tagging.values",
    "TagOperation": "tagging.values",
    "TaggingError": "tagging.errors",
    "Workbench": "tagging.notebook",
    "apply_filters": "tagging.filters",
    "connect": "tagging.config",
    "coverage": "tagging.coverage",
    "coverage_over_time": "tagging.coverage_time",
    "demo_datasets": "tagging.demo",
    "describe": "tagging.render",
    "load_dataset": "tagging.datasets",
    "map_figure": "tagging.maps",
    "plan": "tagging.plan",
    "points_in_polygon": "tagging.selection",
    "prepare": "tagging.prepare",
    "push": "tagging.executor",
}
_MODULES = ("charts", "errors")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f"tagging.{name}")
    if name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'tagging' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# Functions named like their module: importing `tagging.plan` binds the module to the
# package's `plan`, which must stay the function (as when this package imported it eagerly).
_SHADOWED = {"coverage", "plan", "prepare"}


class _Package(ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if "IPython" in sys.modules:  # plans and results render as tables in Jupyter
    from tagging.render import register_notebook_formatters

    register_notebook_formatters()

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
