"""Immuta data sources and their data dictionaries, as fh-immuta-utils 0.5.2 reads them.

- `GET /dataSource?searchText&schema&size&offset` -> `{"hits": [data source], "count": N}`,
  by id; `searchText` matches the name (case-insensitive substring), `schema` its schema
  (the part before the dot). `size` is 1..`MAX_PAGE_SIZE` (default 50), `offset` >= 0.
- `GET /dataSource/{id}` and `GET /dataSource/name/{name}` -> one data source:
  `{"id", "name", "blobHandlerType", "connectionString", "schemaName", "sqlTableName",
  "type", "deleted", "createdAt", "updatedAt"}`.
- `GET /dictionary/{id}` -> `{"id", "dataSource", "metadata": [column], "types",
  "createdAt", "updatedAt"}`, a column being `{"name", "dataType", "remoteType", "nullable",
  "remoteColumn", "tags": [{"name", "source", "deleted"}]}`. The column tags are the ones of
  the `column` model `{id}_{name}`: the same state `POST /tag/column/...` changes.
- `PUT /dictionary/{id}` with such a body sets the tags of every column it lists that has a
  `tags` key to exactly those tags (entries with `deleted` true or "True" left out); other
  columns keep theirs. As for `POST /tag/...`: all or nothing, an unknown or deleted tag
  rejects the call, parent tags are ignored. It answers the dictionary as `GET` does.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from tagging.demo import World
from tagging.sandbox import immuta_tags as tags
from tagging.sandbox.immuta_tags import ImmutaError
from tagging.sandbox.store import IMMUTA_USER_ID, SEED_TIME

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
HANDLER_TYPE = "PostgreSQL"
CONNECTION = "sandbox-postgres.internal:5432/sandbox"
_COLUMN_TYPES = {"id": "integer", "amount": "decimal", "created_at": "timestamp"}


class DataSources:
    def __init__(self, world: World) -> None:
        self._sources = {int(d["id"]): d for d in world.immuta_datasources()}  # type: ignore[call-overload]
        self._by_name = {str(d["name"]): i for i, d in self._sources.items()}

    def get(self, raw_id: str) -> dict[str, Any]:
        source = self._sources.get(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
        if source is None:
            raise ImmutaError(404, f"Data source {raw_id} not found")
        return _datasource_json(source)

    def by_name(self, name: str) -> dict[str, Any]:
        if name not in self._by_name:
            raise ImmutaError(404, f"Data source {name} not found")
        return _datasource_json(self._sources[self._by_name[name]])

    def search(
        self, search_text: str | None, schema: str | None, size: int, offset: int
    ) -> dict[str, Any]:
        needle = (search_text or "").lower()
        hits = [
            s
            for _, s in sorted(self._sources.items())
            if needle in str(s["name"]).lower()
            and (schema is None or str(s["name"]).split(".")[0] == schema)
        ]
        return {
            "hits": [_datasource_json(s) for s in hits[offset : offset + size]],
            "count": len(hits),
        }

    def dictionary(self, db: sqlite3.Connection, raw_id: str) -> dict[str, Any]:
        source = self.get(raw_id)
        columns = self._columns(source["id"])
        metadata = [
            _column_json(name, tags.model_tags(db, "column", f"{source['id']}_{name}"))
            for name in columns
        ]
        return {
            "id": source["id"],
            "dataSource": source["id"],
            "metadata": metadata,
            "types": sorted({c["dataType"] for c in metadata}),
            "createdAt": SEED_TIME,
            "updatedAt": SEED_TIME,
        }

    def put_dictionary(self, db: sqlite3.Connection, raw_id: str, payload: Any) -> dict[str, Any]:
        source = self.get(raw_id)
        wanted = _parse_dictionary(payload, set(self._columns(source["id"])), source["id"])
        names = list(dict.fromkeys(n for ns in wanted.values() for n in ns))
        rows = {n: tags.active_tag(db, n) for n in names}
        invalid = [n for n, r in rows.items() if r is None]
        if invalid:
            listed = json.dumps(invalid, ensure_ascii=False)
            raise ImmutaError(400, f"No tags were processed: invalid tags {listed}")
        for column, column_tags in wanted.items():
            model_id = f"{source['id']}_{column}"
            db.execute(
                "DELETE FROM immuta_links WHERE model_type = 'column' AND model_id = ?",
                (model_id,),
            )
            leaves = [rows[n] for n in column_tags if not tags.has_children(db, n)]
            db.executemany(
                "INSERT OR IGNORE INTO immuta_links (model_type, model_id, tag_id, added_by)"
                " VALUES ('column', ?, ?, ?)",
                [(model_id, r[0], IMMUTA_USER_ID) for r in leaves if r is not None],
            )
        return self.dictionary(db, raw_id)

    def _columns(self, source_id: int) -> list[str]:
        return list(self._sources[source_id]["columns"])  # type: ignore[call-overload]


def page_params(size: str | None, offset: str | None) -> tuple[int, int]:
    """(size, offset) of `GET /dataSource`, Joi-style 400s for anything else."""
    page = DEFAULT_PAGE_SIZE if size is None else _integer(size, "size")
    start = 0 if offset is None else _integer(offset, "offset")
    if not 1 <= page <= MAX_PAGE_SIZE:
        raise ImmutaError(400, f'"size" must be between 1 and {MAX_PAGE_SIZE}')
    return page, start


def _integer(value: str, name: str) -> int:
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    raise ImmutaError(400, f'"{name}" must be a non-negative integer')


def _datasource_json(source: dict[str, object]) -> dict[str, Any]:
    name = str(source["name"])
    return {
        "id": source["id"],
        "name": name,
        "blobHandlerType": HANDLER_TYPE,
        "connectionString": CONNECTION,
        "schemaName": name.split(".")[0],
        "sqlTableName": name.replace(".", "_"),
        "type": "queryable",
        "deleted": False,
        "createdAt": SEED_TIME,
        "updatedAt": SEED_TIME,
    }


def _column_json(name: str, assigned: list[dict[str, Any]]) -> dict[str, Any]:
    data_type = _COLUMN_TYPES.get(name, "text")
    return {
        "name": name,
        "dataType": data_type,
        "remoteType": data_type,
        "nullable": name != "id",
        "remoteColumn": name,
        "tags": [{"name": t["name"], "source": t["source"], "deleted": False} for t in assigned],
    }


def _parse_dictionary(payload: Any, columns: set[str], source_id: int) -> dict[str, list[str]]:
    """{column: tag names wanted} for the columns whose `tags` the body sets."""
    if not isinstance(payload, dict) or not isinstance(payload.get("metadata"), list):
        raise ImmutaError(400, '"metadata" must be an array')
    out: dict[str, list[str]] = {}
    for i, column in enumerate(payload["metadata"]):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise ImmutaError(400, f'"metadata[{i}].name" must be a string')
        if column["name"] not in columns:
            raise ImmutaError(400, f'Column "{column["name"]}" is not in data source {source_id}')
        if "tags" not in column:
            continue
        if not isinstance(column["tags"], list):
            raise ImmutaError(400, f'"metadata[{i}].tags" must be an array')
        names: list[str] = []
        for j, tag in enumerate(column["tags"]):
            if not isinstance(tag, dict):
                raise ImmutaError(400, f'"metadata[{i}].tags[{j}]" must be an object')
            name = tags.check_tag_name(tag.get("name"), f"metadata[{i}].tags[{j}].name")
            if str(tag.get("deleted", False)).lower() != "true":
                names.append(name)
        out[column["name"]] = list(dict.fromkeys(names))
    return out
