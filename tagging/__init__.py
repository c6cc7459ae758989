"""Tag thousands or millions of records in Nomic Atlas, Nekt and Immuta.

The public API; everything else is private. Flow:
dataset -> filter -> selection -> TagOperation -> plan -> push -> journal -> coverage -> charts.
"""

from tagging.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DatasetError,
    InputError,
    JournalError,
    TaggingError,
)
from tagging.outcome import BatchOutcome, Progress, PushResult
from tagging.plan import Batch, Plan, TagOperation

__all__ = [
    "ApiError",
    "AuthError",
    "Batch",
    "BatchOutcome",
    "ConfigError",
    "DatasetError",
    "InputError",
    "JournalError",
    "Plan",
    "Progress",
    "PushResult",
    "TagOperation",
    "TaggingError",
]
