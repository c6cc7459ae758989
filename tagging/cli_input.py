"""What the CLI reads from its options: a provider, its target, ids and their kinds.

Every option a provider needs comes from its description in the registry (target fields, the
kind flag), so a new provider adds options without touching the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from tagging import providers
from tagging.errors import InputError
from tagging.ids_file import IdsRead, check_readable, read_lines, read_table
from tagging.providers import Provider

KIND_OPTION = "kind"  # the parameter every provider's kind flag fills


def provider(name: str) -> Provider:
    name = name.strip().lower()
    if name not in providers.names():
        *others, last = providers.names()
        raise InputError(f"--provider: {name!r}: use {', '.join(others)} or {last}")
    return providers.get(name)


def target_fields() -> dict[str, tuple[str, str]]:
    """Every registered provider's target fields: {name: (flag, help)}."""
    fields: dict[str, tuple[str, str]] = {}
    for api in _all():
        for f in api.target_fields:
            fields.setdefault(f.name, (f.flag, f"{api.label}: {f.help}"))
    return fields


def kind_flags() -> list[str]:
    return list(dict.fromkeys(api.kind_flag for api in _all() if api.kind_flag))


def target(api: Provider, options: Mapping[str, str | None]) -> dict[str, str]:
    """The target from the provider's own fields; another provider's field is an error."""
    own = {f.name for f in api.target_fields}
    for name, (flag, _) in target_fields().items():
        if name not in own and options.get(name) is not None:
            raise InputError(f"{flag} does not apply to --provider {api.name}")
    return api.target({name: options.get(name) for name in own})


def ids_and_kinds(
    api: Provider,
    ids: str | None,
    ids_file: Path | None,
    id_column: str | None,
    kind: str | None,
    type_column: str | None,
    dataset: Path | None = None,
    where: Sequence[str] = (),
) -> IdsRead:
    """Ids and their kinds (one for all in `kind`, or one per id) from the options: listed,
    in a file, or the rows of a dataset that match every `--where`."""
    if sum(x is not None for x in (ids, ids_file, dataset)) != 1:
        raise InputError(
            "give the ids with exactly one of --ids or --ids-file, or the rows of --dataset"
        )
    if where and dataset is None:
        raise InputError("--where filters the rows of --dataset: add --dataset FILE|FOLDER")
    if not api.kinds and (kind is not None or type_column is not None):
        flag = "--type-column" if type_column is not None else "a kind option"
        raise InputError(f"{flag} does not apply to --provider {api.name}")
    if kind is not None and type_column is not None:
        raise InputError(f"give either {api.kind_flag} or --type-column, not both")
    if api.kinds and kind is None and type_column is None:
        raise InputError(f"--provider {api.name} needs {api.kind_flag} or --type-column")
    if ids is not None:
        if type_column is not None:
            raise InputError("--type-column needs --ids-file or --dataset with that column")
        parts = [i.strip() for i in ids.split(",")]
        given = [i for i in parts if i]
        text = pa.chunked_array([pa.array(given, pa.large_string())])
        return IdsRead(text, None, len(parts), len(parts) - len(given))
    if dataset is not None:
        from tagging.dataset_ids import read_dataset_ids  # DuckDB only when asked for

        return read_dataset_ids(dataset, where, id_column, type_column)
    assert ids_file is not None
    check_readable(ids_file, "--ids-file")
    if id_column is None and type_column is None and ids_file.suffix.lower() in ("", ".txt"):
        return read_lines(ids_file)
    return read_table(ids_file, id_column, type_column)


def _all() -> list[Provider]:
    return [providers.get(name) for name in providers.names()]
