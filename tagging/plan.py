"""A TagOperation and the known state become a Plan: validated, de-duplicated, diffed and
chunked. Pure: no I/O (`prepare` gathers the known state, then calls `plan`)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagging import providers
from tagging.errors import InputError
from tagging.id_list import IdList, Text, arrow_text, numbers, series_text
from tagging.membership import first_occurrences, isin
from tagging.names import clean_tag, similar_existing
from tagging.values import Batch, Plan, TagOperation

if TYPE_CHECKING:
    # Known state: a long frame, or (read back from a provider) the same columns in Arrow.
    from typing import TypeAlias

    import pandas as pd

    State: TypeAlias = pd.DataFrame | pa.Table

# --- building a plan ---------------------------------------------------------------------

KNOWN_COLUMNS = ["id", "tag"]
KIND_COLUMN = "kind"  # optional in known state: the id's Nekt resource / Immuta model type


@dataclass(frozen=True, eq=False)
class Items:
    """An operation's items, checked: tags cleaned, kinds canonical, ids de-duplicated (on
    (kind, id) where ids have kinds). What known state is read for, and what is planned."""

    op: TagOperation
    ids: Text  # Arrow text: no pandas on the CLI's path
    kinds: pd.Series | None  # per id (also when one kind was given), or None
    requested: int


def items(op: TagOperation) -> Items:
    """Validate and de-duplicate an operation (InputError for anything the API would reject).
    No I/O."""
    api = providers.get(op.provider)
    tags = _clean_tags(op.tags)
    if op.action not in ("add", "remove"):
        raise InputError(f"action must be 'add' or 'remove', not {op.action!r}")
    ids = _id_text(op.ids)
    if len(ids) == 0:
        raise InputError("no ids to tag: select at least one row")
    kinds = api.normalize_kinds(_kind_series(op, len(ids)), len(ids))
    op = replace(op, tags=tags)
    if isinstance(op.kinds, str) and kinds is not None:
        op = replace(op, kinds=str(kinds.iloc[0]))
    api.validate(op, ids if getattr(api, "validates_arrow", False) else _text_series(ids), kinds)
    if any(not tag.strip() for tag in tags):  # for a provider that does not say so itself
        raise InputError(f"{api.label} tag names must not be empty")
    keep = _first_occurrences(ids, kinds)
    every = bool(keep.all())  # no repeats: keep the column as it is (30M ids: no copy)
    unique = ids if every else ids.filter(pa.array(keep))
    # Kinds ride along per id even when one kind was given, so a journaled batch is complete.
    per_id_kinds = None
    if kinds is not None:
        per_id_kinds = (
            (kinds if every else kinds[keep])
            if len(kinds) == len(keep)
            else _repeat(kinds.iloc[0], len(unique))
        )
        per_id_kinds = per_id_kinds.reset_index(drop=True)
    return Items(op, unique, per_id_kinds, int(keep.sum()))


def plan(
    op: TagOperation | Items,
    known: State | None = None,
    chunk_size: int | None = None,
    *,
    catalog: Collection[str] | None = None,
    state_source: str = "",
) -> Plan:
    """Validate, de-duplicate, diff against known state and chunk an operation. No I/O.

    known:   ["id", "tag"] rows (one per id carrying a tag); ids already in the wanted state
             are skipped (add: carrying ALL the tags; remove: carrying NONE of them). With
             several tags, ids are grouped by the tags that change for them, and each batch
             says which it applies (`Batch.tags`), so an undo never touches a tag the id had.
             An optional "kind" column says whose id it is (Immuta data source 6 and project
             6 are different models): with kinds on both sides, rows match on (kind, id); a
             row with no kind matches its id of any kind.
    catalog: tag names the API already has (from `Connection.tags()`); lets Immuta plans warn
             about parent tags and refuse tags that do not exist.
    """
    checked = op if isinstance(op, Items) else items(op)
    api = providers.get(checked.op.provider)
    warnings = tuple(similar_existing(checked.op.tags, catalog)) + tuple(
        api.warnings(checked.op, catalog)
    )
    ids, per_id_kinds = checked.ids, checked.kinds
    size = chunk_size or api.default_chunk
    if size < 1:
        raise InputError(f"chunk size must be at least 1, not {size}")
    groups: list[tuple[np.ndarray, tuple[str, ...] | None]]
    if known is None:
        groups = [(np.ones(len(ids), dtype=bool), None)]
    else:
        groups = _groups(checked.op.tags, _changes(checked.op, ids, known, per_id_kinds))
    column = arrow_text(ids)  # one Arrow column; batches are stretches of it
    batches: list[Batch] = []
    for chosen, tags_of_group in groups:
        part_kinds = _pick_series(per_id_kinds, chosen) if per_id_kinds is not None else None
        batches.extend(
            _chunk(column, chosen, part_kinds, size, start=len(batches), tags=tags_of_group)
        )
    return Plan(
        operation=checked.op,
        batches=tuple(batches),
        requested=checked.requested,
        skipped=checked.requested - sum(len(b.ids) for b in batches),
        known_state=known is not None,
        warnings=warnings,
        state_source=state_source if known is not None else "",
    )


def _clean_tags(tags: Sequence[str] | str) -> tuple[str, ...]:
    """Tag names NFC-normalised (then de-duplicated); empty or invisible ones refused."""
    if isinstance(tags, str):
        tags = (tags,)
    if not tags:
        raise InputError("no tags chosen: pick at least one tag")
    for tag in tags:
        if not isinstance(tag, str):
            raise InputError(f"tag names must be text, not {type(tag).__name__}")
    return tuple(dict.fromkeys(clean_tag(tag) for tag in tags))


def _id_text(values: Sequence[str]) -> Text:
    """Ids as Arrow text; integer ids become their decimal text."""
    if isinstance(values, pa.Array | pa.ChunkedArray) and (
        pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        if values.null_count:
            row = int(np.flatnonzero(numbers(pc.is_null(values)))[0])
            raise InputError(f"id at row {row} is missing: drop empty ids before tagging")
        return values  # already text (the CLI's ids file): no pandas, no copy
    if (text := _plain_text(values)) is not None:
        return text
    return series_text(_id_series(values))


def _id_series(values: Sequence[str]) -> pd.Series:
    """Ids as a string Series with a 0..n-1 index; integer ids become their decimal text."""
    import pandas as pd

    s: pd.Series
    if isinstance(values, pd.Series) and _is_text(values) and not values.isna().any():
        return values.reset_index(drop=True)  # already text: no copy through Python objects
    if isinstance(values, pa.Array | pa.ChunkedArray):
        s = pd.Series(values.to_pylist(), dtype=object)
    elif isinstance(values, pd.Series | pd.Index):
        s = pd.Series(values.to_numpy(), copy=False)
    else:
        s = pd.Series(np.asarray(values) if isinstance(values, np.ndarray) else list(values))
    missing = s.isna()
    if missing.any():
        row = int(missing.to_numpy().nonzero()[0][0])
        raise InputError(f"id at row {row} is missing: drop empty ids before tagging")
    if pd.api.types.is_float_dtype(s.dtype):
        if not (s == s.round()).all():
            raise InputError("ids are fractional numbers: pick an id column of text or integers")
        s = s.astype("int64")
    if pd.api.types.is_bool_dtype(s.dtype):
        raise InputError("ids are true/false values: pick the id column")
    return s.astype(str)


def _text_series(ids: Text) -> pd.Series:
    """Arrow text as the text Series a provider's validate() takes (no copy of the text)."""
    import pandas as pd

    return pd.Series(pd.array(ids, dtype="str"))


def _is_text(values: pd.Series) -> bool:
    import pandas as pd

    dtype = values.dtype
    return pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)


def _plain_text(values: Sequence[str]) -> pa.Array | None:
    """A list of text ids with none missing, as one arrow array: several times faster than
    pandas inferring the list's type (the CLI's million ids). None for anything else."""
    if not isinstance(values, list | tuple):
        return None
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    if not pa.types.is_string(array.type) or array.null_count:
        return None
    return array


def _first_occurrences(ids: Text, kinds: pd.Series | None) -> np.ndarray:
    """True at the first row of each item. With a kind per id the item is (kind, id):
    Immuta data source 6 and project 6 are two models, both sent."""
    if kinds is None or len(kinds) != len(ids):  # Atlas, or one kind for every id
        return first_occurrences(ids)
    import pandas as pd

    pairs = pd.DataFrame(
        {"kind": kinds.to_numpy(), "id": ids.to_numpy(zero_copy_only=False)}, copy=False
    )
    return ~pairs.duplicated(keep="first").to_numpy()


def _kind_series(op: TagOperation, n: int) -> pd.Series | None:
    if op.kinds is None:
        return None
    import pandas as pd

    if isinstance(op.kinds, str):
        return pd.Series([op.kinds])
    kinds = pd.Series(list(op.kinds) if not isinstance(op.kinds, pd.Series) else op.kinds)
    if len(kinds) != len(op.ids):
        raise InputError(f"{len(kinds)} kinds given for {len(op.ids)} ids: give one per id")
    return kinds.reset_index(drop=True).astype(str)


def _changes(
    op: TagOperation, ids: Text, known: State, kinds: pd.Series | None = None
) -> np.ndarray:
    """Boolean matrix (id x tag of op.tags): True where the operation changes that tag of
    that id (add: the id does not carry it yet; remove: it does)."""
    names = known.column_names if isinstance(known, pa.Table) else list(known.columns)
    missing = [c for c in KNOWN_COLUMNS if c not in names]
    if missing:
        raise InputError(f"known state needs columns 'id' and 'tag' (missing: {missing})")
    typed = kinds is not None and KIND_COLUMN in names
    if isinstance(known, pa.Table):
        if not typed:
            return _changes_arrow(op, ids, known)
        known = known.to_pandas()  # kinds on both sides: the frame's rules below
    columns = [*KNOWN_COLUMNS, KIND_COLUMN] if typed else KNOWN_COLUMNS
    relevant = known.loc[isin(known["tag"], op.tags), columns]
    relevant_ids = relevant["id"].astype(str).to_numpy(dtype=object)
    relevant_tags = relevant["tag"].to_numpy(dtype=object)
    wanted = ids  # Arrow text: looked up without Python strings
    carried = np.empty((len(ids), len(op.tags)), dtype=bool)
    if not typed:
        for column, tag in enumerate(op.tags):  # one vectorised lookup per tag, not per id
            carried[:, column] = isin(wanted, relevant_ids[relevant_tags == tag])
        return carried if op.action == "remove" else ~carried
    assert kinds is not None
    known_kinds = _canonical_kinds(op, relevant[KIND_COLUMN])
    untyped = known_kinds.isna().to_numpy()
    wanted_kinds = kinds.to_numpy(dtype=object)
    of_kind = {
        k: wanted_kinds == k for k in dict.fromkeys(wanted_kinds.tolist())
    }  # few kinds: loop them
    for column, tag in enumerate(op.tags):
        has_tag = relevant_tags == tag
        hit = isin(wanted, relevant_ids[has_tag & untyped])
        for kind, rows in of_kind.items():
            same = has_tag & (known_kinds == kind).to_numpy()
            hit[rows] |= isin(wanted.filter(pa.array(rows)), relevant_ids[same])
        carried[:, column] = hit
    return carried if op.action == "remove" else ~carried


def _changes_arrow(op: TagOperation, ids: Text, known: pa.Table) -> np.ndarray:
    """`_changes` of ids without kinds against an Arrow ["id", "tag"] table (what a
    provider reads back): one `is_in` per tag, no frame built."""
    tags = known.column("tag").cast(pa.string())  # typed scalars below: no pandas import
    known_ids = known.column("id").cast(pa.string())
    carried = np.empty((len(ids), len(op.tags)), dtype=bool)
    for column, tag in enumerate(op.tags):
        carried[:, column] = isin(ids, known_ids.filter(pc.equal(tags, pa.scalar(tag, tags.type))))
    return carried if op.action == "remove" else ~carried


def _canonical_kinds(op: TagOperation, kinds: pd.Series) -> pd.Series:
    """Known kinds in the provider's spelling ("Data Source" -> "datasource"); kinds the
    provider does not know stay as they are (they match nothing), missing ones stay NaN."""
    api = providers.get(op.provider)
    spelled: dict[object, object] = {}
    import pandas as pd

    for kind in pd.unique(kinds.dropna()):
        try:
            normal = api.normalize_kinds(pd.Series([str(kind)]), 1)
        except InputError:
            normal = None
        spelled[kind] = normal.iloc[0] if normal is not None else kind
    return kinds.map(spelled).reset_index(drop=True).astype(object)


def _groups(
    tags: tuple[str, ...], changes: np.ndarray
) -> list[tuple[np.ndarray, tuple[str, ...] | None]]:
    """Positions of ids grouped by the subset of tags that changes for them, groups in order
    of their first id, ids in request order; ids with nothing to change are dropped. The
    group changing every tag (and a single-tag operation) says None: all the tags."""
    if len(tags) == 1:  # a mask, not positions: 8x less memory for 30M ids
        return [(changes[:, 0], None)] if changes[:, 0].any() else []
    if len(tags) <= 62:  # one int64 bitmask per id: a fast 1-D unique
        keys = changes.astype(np.int64) @ (np.int64(1) << np.arange(len(tags), dtype=np.int64))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(changes, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")  # grouped, request order kept inside a group
    sizes = np.bincount(inverse, minlength=len(first))
    ends = np.cumsum(sizes)
    groups: list[tuple[np.ndarray, tuple[str, ...] | None]] = []
    for group in np.argsort(first, kind="stable"):
        subset = changes[first[group]]
        if not subset.any():
            continue  # ids already in the wanted state
        positions = order[ends[group] - sizes[group] : ends[group]]
        chosen = (
            None if subset.all() else tuple(t for t, on in zip(tags, subset, strict=True) if on)
        )
        groups.append((positions, chosen))
    return groups


def _repeat(value: str, n: int) -> pd.Series:
    import pandas as pd

    return pd.Series(np.full(n, value, dtype=object))


def _pick_series(values: pd.Series, chosen: np.ndarray) -> pd.Series:
    if chosen.dtype == bool:
        return values if chosen.all() else values[chosen].reset_index(drop=True)
    return values.iloc[chosen].reset_index(drop=True)


def _chunk(
    column: pa.Array,
    chosen: np.ndarray,
    kinds: pd.Series | None,
    size: int,
    *,
    start: int = 0,
    tags: tuple[str, ...] | None = None,
) -> list[Batch]:
    """Batches of up to `size` of the chosen ids (a bool mask over the column, or positions
    in send order), indexed from `start`. Under a mask a batch is a stretch of the column
    and its stretch of the mask (IdList): 30M planned ids cost no copy of their text."""
    kind_values = kinds.to_numpy() if kinds is not None else None
    stretches: list[tuple[pa.Array, np.ndarray | None]] = []
    if chosen.dtype == bool:
        counted = np.cumsum(chosen, dtype=np.int64 if len(chosen) >= 2**31 else np.int32)
        total = int(counted[-1]) if len(counted) else 0
        ends = np.searchsorted(counted, np.arange(size, total, size), side="left") + 1
        del counted
        bounds = [0, *ends.tolist(), len(chosen)]
        for a, b in itertools.pairwise(bounds):
            stretches.append((column.slice(a, b - a), chosen[a:b]))
    else:
        picked_ids = column.take(pa.array(chosen))
        for first in range(0, len(chosen), size):
            stretches.append((picked_ids.slice(first, size), None))
    batches = []
    for index, (part, mask) in enumerate(stretches, start=start):
        first = (index - start) * size
        part_kinds = (
            tuple(kind_values[first : first + size].tolist()) if kind_values is not None else None
        )
        ids = IdList(part, mask)
        if len(ids):
            batches.append(Batch(index=index, ids=ids, kinds=part_kinds, tags=tags))
    return batches
