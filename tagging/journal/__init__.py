"""The journal: every job and batch, for history, resume, undo and coverage.

storage   the tables behind one small interface (`Storage`): a SQLite file for a path,
          PostgreSQL for a postgresql:// URL; typed records in `records`
replay    which (kind, id)s a batch really changed, and the state replayed from that
jobs      resume and undo
exports   a job's records as the `jobs --json` dict and the one-row-per-id table
facade    `Journal`, the one handle callers use
"""

from tagging.journal.facade import DEFAULT_PATH, Journal, actor_of

__all__ = ["DEFAULT_PATH", "Journal", "actor_of"]
