"""What the CLI reads from its options: a provider, its target, ids and their kinds.

Every option a provider needs comes from its description in the registry (target fields, the
kind flag), so a new provider adds options without touching the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tagging import providers
from tagging.errors import InputError
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
) -> tuple[list[str], str | list[str] | None]:
    """Ids and their kinds (one for all, or one per id) from the options."""
    if (ids is None) == (ids_file is None):
        raise InputError("give the ids with exactly one of --ids or --ids-file")
    if not api.kinds and (kind is not None or type_column is not None):
        flag = "--type-column" if type_column is not None else "a kind option"
        raise InputError(f"{flag} does not apply to --provider {api.name}")
    if kind is not None and type_column is not None:
        raise InputError(f"give either {api.kind_flag} or --type-column, not both")
    if api.kinds and kind is None and type_column is None:
        raise InputError(f"--provider {api.name} needs {api.kind_flag} or --type-column")
    if ids is not None:
        if type_column is not None:
            raise InputError("--type-column needs --ids-file with that column")
        return [i.strip() for i in ids.split(",") if i.strip()], kind
    assert ids_file is not None
    values, kinds = _ids_from_file(ids_file, id_column, type_column)
    return values, kinds if type_column is not None else kind


def _ids_from_file(
    path: Path, id_column: str | None, type_column: str | None
) -> tuple[list[str], list[str] | None]:
    if not path.is_file():
        raise InputError(f"--ids-file: no file {str(path)!r}")
    if id_column is None and type_column is None and path.suffix.lower() in ("", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                f"--ids-file: {path.name} is not UTF-8 text: save it as UTF-8, one id a line"
            ) from None
        return [line.strip() for line in text.splitlines() if line.strip()], None
    from tagging.datasets import load_dataset  # the table, its id column read as text

    frame = load_dataset(path, id_column=id_column)
    column = id_column or ("id" if "id" in frame.columns else str(frame.columns[0]))
    for flag, col in (("--id-column", column), ("--type-column", type_column)):
        if col is not None and col not in frame.columns:
            raise InputError(f"{flag}: no column {col!r} in {path.name}")
    rows = frame[frame[column].notna()]
    values = rows[column].astype(str).str.strip().tolist()
    kinds = rows[type_column].astype(str).str.strip().tolist() if type_column else None
    return values, kinds


def _all() -> list[Provider]:
    return [providers.get(name) for name in providers.names()]
