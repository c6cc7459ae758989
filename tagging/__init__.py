"""Tag thousands or millions of records in Nomic Atlas, Nekt and Immuta.

The public API; everything else is private. Flow:
dataset -> filter -> selection -> TagOperation -> plan -> push -> journal -> coverage -> charts.

    conn = tagging.connect("atlas")                    # env / secrets / explicit; sandbox default
    op = tagging.TagOperation("atlas", "add", ("Needs review",), ids,
                              target={"projection_id": P})
    p = tagging.plan(op, known=state)                  # pure: no I/O
    result = tagging.push(p, conn, journal=tagging.Journal())
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tagging.config import Connection, connect
from tagging.coverage import (
    Coverage,
    coverage,
    coverage_over_time,
    events_from_journal,
    state_from_sandbox,
    tagged_mask,
    untagged_ids,
    untagged_keys,
)
from tagging.datasets import (
    IdReport,
    id_column_report,
    load_dataset,
    parse_tag_column,
    suggest_id_columns,
)
from tagging.demo import DemoDataset, demo_datasets
from tagging.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DatasetError,
    InputError,
    JournalError,
    TaggingError,
)
from tagging.executor import push
from tagging.export import to_csv_bytes, to_excel_bytes
from tagging.filters import Condition, apply_filters
from tagging.journal import Journal
from tagging.known_state import read_state
from tagging.outcome import BatchOutcome, Progress, PushResult
from tagging.plan import Batch, Plan, TagOperation, plan
from tagging.progress_bar import progress_bar
from tagging.retry import RetryPolicy

if TYPE_CHECKING:
    from tagging import charts


def __getattr__(name: str) -> Any:
    # charts pulls in plotly (~0.4 s); the CLI and push never draw, so import it on first use.
    if name == "charts":
        return import_module("tagging.charts")
    raise AttributeError(f"module 'tagging' has no attribute {name!r}")


__all__ = [
    "ApiError",
    "AuthError",
    "Batch",
    "BatchOutcome",
    "Condition",
    "ConfigError",
    "Connection",
    "Coverage",
    "DatasetError",
    "DemoDataset",
    "IdReport",
    "InputError",
    "Journal",
    "JournalError",
    "Plan",
    "Progress",
    "PushResult",
    "RetryPolicy",
    "TagOperation",
    "TaggingError",
    "apply_filters",
    "charts",
    "connect",
    "coverage",
    "coverage_over_time",
    "demo_datasets",
    "events_from_journal",
    "id_column_report",
    "load_dataset",
    "parse_tag_column",
    "plan",
    "progress_bar",
    "push",
    "read_state",
    "state_from_sandbox",
    "suggest_id_columns",
    "tagged_mask",
    "to_csv_bytes",
    "to_excel_bytes",
    "untagged_ids",
    "untagged_keys",
]
