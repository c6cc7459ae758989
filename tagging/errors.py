"""One error tree. Every error's ``str()`` is a single line a user can act on.

TaggingError
├── ConfigError          missing/invalid setting, bad URL, unreachable host (exit 2)
│   └── AuthError        the API rejected the key: 401/403 (exit 2)
├── InputError           ids, types or tag names the provider would reject (exit 2)
├── DatasetError         a file that cannot be read as a table, bad id column (exit 2)
├── ApiError             the API answered with an error we cannot fix by retrying
└── JournalError         the journal cannot be opened/written, unknown job id
"""

from __future__ import annotations


class TaggingError(Exception):
    """Base class: the message is one line, safe to show (never contains a key)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(TaggingError):
    """A connection setting is missing or wrong; the message names the variable to set."""


class AuthError(ConfigError):
    """The API rejected the key (HTTP 401 or 403)."""


class InputError(TaggingError):
    """Ids, resource/model types or tag names that the provider would reject."""


class DatasetError(TaggingError):
    """A file that cannot be loaded as a table, or an unusable id column."""


class ApiError(TaggingError):
    """The API answered with an error. ``status`` and a short ``body`` excerpt are kept."""

    def __init__(self, provider: str, status: int, body: str, hint: str = "") -> None:
        self.provider = provider
        self.status = status
        self.body = " ".join(body.split())[:300]
        text = f"{provider} API answered HTTP {status}: {self.body or '(empty body)'}"
        super().__init__(f"{text}. {hint}" if hint else text)


class JournalError(TaggingError):
    """The journal cannot be opened or written, or a job id is unknown."""


class PriorStateUnknown(JournalError):
    """An undo would reverse items whose state before the job nothing knew (no read-back,
    no change an earlier job confirmed): raised before anything is sent, unless forced."""

    def __init__(self, job_id: str, count: int) -> None:
        super().__init__(
            f"{count} items' prior state is unknown: undo --force {job_id} reverses them anyway"
        )
        self.job_id = job_id
        self.count = count
