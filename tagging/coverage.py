"""Who carries which tag: coverage of a dataset by known tag state. Pure, vectorised pandas.

Usage::

    from tagging.coverage import coverage, untagged_ids

    state = journal.state_for(provider, target)                   # long ["id", "tag"]
    state = parse_tag_column(df["tags"], ids=df["id"])            # tagging.datasets
    cov = coverage(df, "id", state, facet="field")
    cov.rows, cov.tagged, cov.untagged, cov.share
    cov.per_tag          # ["tag", "rows", "share"]
    cov.tags_per_row     # ["tags" ("0", "1", "2+"), "rows", "share"]
    cov.facet_totals     # ["value", "rows", "tagged", "untagged", "share"]
    cov.by_facet         # ["value", "tag", "rows", "share"] (share of the facet value's rows)
    cov.hierarchy        # ["path", "parent", "label", "level", "rows", "assignments"]
    cov.to_json()        # the `coverage --json` shape
    df.loc[~tagged_mask(df, "id", state)]                         # the "untagged" filter

Ids are compared as strings. A row is tagged when its id carries at least one tag (of
``tags`` when given). Rows with a missing id are never tagged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tagging.columns import to_id_strings
from tagging.errors import DatasetError
from tagging.membership import isin, positions
from tagging.selection import row_keys

if TYPE_CHECKING:
    pass

BLANK = "(blank)"  # the facet label of rows whose facet value is missing
_BUCKETS = ("0", "1", "2+")


def empty_state() -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series(dtype="str"), "tag": pd.Series(dtype="str")})


@dataclass(frozen=True, eq=False)
class Coverage:
    """Coverage numbers and frames for one dataset against one known state."""

    rows: int
    tagged: int
    per_tag: pd.DataFrame
    tags_per_row: pd.DataFrame
    hierarchy: pd.DataFrame
    facet: str | None = None
    facet_totals: pd.DataFrame | None = None
    by_facet: pd.DataFrame | None = None

    @property
    def untagged(self) -> int:
        return self.rows - self.tagged

    @property
    def share(self) -> float:
        """Tagged rows / rows (0.0 for an empty dataset)."""
        return self.tagged / self.rows if self.rows else 0.0

    @property
    def tags(self) -> dict[str, int]:
        return _counts(self.per_tag)

    def to_json(self) -> dict[str, Any]:
        """``{"rows", "tagged", "untagged", "tags": {name: rows}}`` plus ``"facets"``."""
        out: dict[str, Any] = {
            "rows": self.rows,
            "tagged": self.tagged,
            "untagged": self.untagged,
            "tags": self.tags,
        }
        if self.facet_totals is not None and self.by_facet is not None:
            per_value = dict(list(self.by_facet.groupby("value", sort=False)))
            facets: dict[str, Any] = {}
            for value, rows, tagged in zip(
                self.facet_totals["value"].tolist(),
                self.facet_totals["rows"].tolist(),
                self.facet_totals["tagged"].tolist(),
                strict=True,
            ):
                facets[str(value)] = {
                    "rows": int(rows),
                    "tagged": int(tagged),
                    "untagged": int(rows) - int(tagged),
                    "tags": _counts(per_value[value]) if value in per_value else {},
                }
            out["facets"] = facets
        return out


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    """{tag: rows} from a frame with "tag" and "rows" columns, in its order."""
    return dict(
        zip(
            frame["tag"].astype("str").tolist(),
            frame["rows"].astype("int64").tolist(),
            strict=True,
        )
    )


def coverage(
    df: pd.DataFrame,
    id_column: str,
    state: pd.DataFrame | None,
    facet: str | None = None,
    tags: Iterable[str] | None = None,
    *,
    kind_column: str | None = None,
) -> Coverage:
    """Coverage of ``df`` (ids in ``id_column``) by ``state`` (long ["id", "tag"]).

    facet: a column to break the numbers down by (missing values are labelled "(blank)").
    tags:  only count these tags (they are listed even with zero rows); default: every tag
           in the state, including tags no row of this dataset carries.
    kind_column: match rows on (kind, id), for datasets whose ids repeat across kinds (Immuta
           data source 6 and project 6). The state says kinds in a "kind" column (state
           rows without a kind match any kind), or has "kind:id" ids
           (``state_from_sandbox(..., typed_ids=True)``).
    """
    ids = _row_ids(df, id_column, kind_column)
    known_ids, known_tags = _known(state, tags, _dataset_kinds(df, kind_column))
    names = _tag_names(known_tags, tags)
    pairs = _pairs(ids, known_ids, known_tags, names)  # (dataset row, tag it carries)
    n = len(ids)
    per_row = np.bincount(pairs.rows, minlength=n) if n else np.zeros(0, int)
    tagged = int((per_row > 0).sum())
    tag_rows = np.bincount(pairs.tags, minlength=len(names)).astype("int64")
    per_tag = _ranked(pd.DataFrame({"tag": names, "rows": tag_rows}), ["rows", "tag"])
    per_tag["share"] = _share(per_tag["rows"], n)
    buckets = np.minimum(per_row, 2)
    bucket_rows = np.bincount(buckets, minlength=3)[:3] if n else np.zeros(3, dtype="int64")
    tags_per_row = pd.DataFrame({"tags": list(_BUCKETS), "rows": bucket_rows.astype("int64")})
    tags_per_row["share"] = _share(tags_per_row["rows"], n)
    result = Coverage(
        rows=n,
        tagged=tagged,
        per_tag=per_tag.reset_index(drop=True),
        tags_per_row=tags_per_row,
        hierarchy=_hierarchy(pairs, names, tag_rows),
    )
    if facet is None:
        return result
    totals, by_facet = _facets(df, facet, pairs, per_row, names)
    return Coverage(
        rows=result.rows,
        tagged=result.tagged,
        per_tag=result.per_tag,
        tags_per_row=result.tags_per_row,
        hierarchy=result.hierarchy,
        facet=facet,
        facet_totals=totals,
        by_facet=by_facet,
    )


def tagged_mask(
    df: pd.DataFrame,
    id_column: str,
    state: pd.DataFrame | None,
    tags: Iterable[str] | None = None,
    *,
    kind_column: str | None = None,
) -> pd.Series:
    """Boolean mask aligned to ``df.index``: the row's id carries a tag (of ``tags``)."""
    ids = _row_ids(df, id_column, kind_column)
    known_ids, _ = _known(state, tags, _dataset_kinds(df, kind_column))
    return pd.Series(isin(ids, known_ids), index=df.index, dtype=bool)


def untagged_ids(
    df: pd.DataFrame,
    id_column: str,
    state: pd.DataFrame | None,
    tags: Iterable[str] | None = None,
    *,
    kind_column: str | None = None,
) -> pd.Series:
    """Ids (as strings, dataset order, index kept) of rows with no tag (of ``tags``)."""
    mask = tagged_mask(df, id_column, state, tags, kind_column=kind_column)
    return to_id_strings(df.loc[~mask, id_column])


def untagged_keys(
    df: pd.DataFrame,
    id_column: str,
    state: pd.DataFrame | None,
    tags: Iterable[str] | None = None,
    *,
    kind_column: str | None = None,
) -> pd.Series:
    """Selection keys (`selection.row_keys`, dataset order, index kept) of rows with no tag
    (of ``tags``): ids, or one key per (kind, id) with a kind column, since ids repeat across
    kinds (Immuta data source 6 untagged, project 6 tagged)."""
    mask = tagged_mask(df, id_column, state, tags, kind_column=kind_column)
    return row_keys(df, id_column, kind_column)[~mask.to_numpy()]


# --- known state from other sources ----------------------------------------------------------


def typed_row_ids(df: pd.DataFrame, id_column: str, kind_column: str) -> pd.Series:
    """ "kind:id" strings, e.g. "datasource:6", to match ``typed_ids=True`` states."""
    return _row_ids(df, id_column, kind_column).set_axis(df.index)


def _row_ids(df: pd.DataFrame, id_column: str, kind_column: str | None) -> pd.Series:
    """The dataset's ids as strings, positionally indexed (0..n-1)."""
    if id_column not in df.columns:
        raise DatasetError(f"id column '{id_column}' is not in the dataset")
    ids = to_id_strings(df[id_column]).reset_index(drop=True)
    if kind_column is not None:
        if kind_column not in df.columns:
            raise DatasetError(f"kind column '{kind_column}' is not in the dataset")
        kinds = df[kind_column].astype("str").reset_index(drop=True)
        ids = (kinds + ":" + ids).where(ids.notna() & df[kind_column].notna().to_numpy())
    return ids


def _dataset_kinds(df: pd.DataFrame, kind_column: str | None) -> list[str] | None:
    if kind_column is None or kind_column not in df.columns:
        return None
    return df[kind_column].dropna().astype("str").unique().tolist()


def _known(
    state: pd.DataFrame | None, tags: Iterable[str] | None, kinds: list[str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """The state's ids and tags as strings, positionally indexed (duplicates kept); with the
    dataset's `kinds` and a "kind" column in the state, ids become "kind:id" like the rows'
    (a row with no kind stands for every kind)."""
    if state is None or len(state) == 0:
        empty = empty_state()
        return empty["id"], empty["tag"]
    if not {"id", "tag"} <= set(state.columns):
        raise DatasetError("known state needs the columns 'id' and 'tag'")
    known = state
    if state["id"].isna().any() or state["tag"].isna().any():
        known = state.dropna(subset=["id", "tag"])
    ids = to_id_strings(known["id"])
    tag_values = known["tag"]
    if kinds is not None and "kind" in known.columns:
        typed = known["kind"].notna().to_numpy()
        of_any = pd.DataFrame({"id": ids[~typed], "tag": tag_values[~typed]}).merge(
            pd.DataFrame({"kind": kinds}), how="cross"
        )
        ids = pd.concat(
            [
                known["kind"][typed].astype("str") + ":" + ids[typed],
                of_any["kind"] + ":" + of_any["id"],
            ]
        )
        tag_values = pd.concat([tag_values[typed], of_any["tag"]])
    ids = ids.astype("str").reset_index(drop=True)
    tag_values = tag_values.astype("str").reset_index(drop=True)
    if tags is not None:
        keep = isin(tag_values, [str(t) for t in tags])
        ids, tag_values = ids[keep].reset_index(drop=True), tag_values[keep].reset_index(drop=True)
    return ids, tag_values


def _tag_names(known_tags: pd.Series, tags: Iterable[str] | None) -> list[str]:
    if tags is not None:
        return list(dict.fromkeys(str(t) for t in tags))
    return sorted(known_tags.unique().tolist())


@dataclass(frozen=True)
class _Pairs:
    """One entry per (dataset row, tag it carries): row positions and tag positions in names."""

    rows: np.ndarray
    tags: np.ndarray


def _pairs(ids: pd.Series, known_ids: pd.Series, known_tags: pd.Series, names: list[str]) -> _Pairs:
    """Rows joined to their tags on integer codes (an id's first position in the state), not
    by merging strings: a few int arrays instead of copies of a million ids."""
    if not names or known_ids.empty or ids.empty:
        return _Pairs(np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"))
    id_codes = positions(known_ids, known_ids)
    tag_codes = positions(known_tags, names)
    width = len(names)
    keys = _sorted_unique(id_codes * width + tag_codes)  # each (id, tag) once, grouped by id
    key_ids, key_tags = np.divmod(keys, width)
    tags_per_id = np.bincount(key_ids, minlength=len(known_ids))
    first_key = np.cumsum(tags_per_id) - tags_per_id
    row_codes = positions(ids, known_ids)
    rows = np.flatnonzero(row_codes >= 0)
    which, flat = _fan_out(row_codes[rows], tags_per_id, first_key)
    return _Pairs(rows[which], key_tags[flat])


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (np.unique's hashing is several times slower on millions)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _fan_out(
    groups: np.ndarray, sizes: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each element of `groups` (group numbers), one entry per member of its group:
    (the element's position, the member's position), members at starts[g]..+sizes[g]."""
    counts = sizes[groups]
    which = np.repeat(np.arange(len(groups)), counts)
    offsets = np.cumsum(counts) - counts
    flat = np.repeat(starts[groups] - offsets, counts) + np.arange(int(counts.sum()))
    return which, flat


def _share(counts: pd.Series, total: int | pd.Series) -> pd.Series:
    if isinstance(total, pd.Series):
        return (counts / total.where(total > 0)).fillna(0.0)
    return counts / total if total else counts * 0.0


def _ranked(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, ascending=[False, True], kind="stable")


def _facets(
    df: pd.DataFrame, facet: str, pairs: _Pairs, per_row: np.ndarray, names: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if facet not in df.columns:
        raise DatasetError(f"facet column '{facet}' is not in the dataset")
    raw = df[facet].reset_index(drop=True)
    labels = raw.astype("str").where(raw.notna(), BLANK)
    totals = (
        pd.DataFrame({"value": labels, "tagged": per_row > 0})
        .groupby("value", sort=False)["tagged"]
        .agg(rows="size", tagged="sum")
        .reset_index()
        .astype({"rows": "int64", "tagged": "int64"})
    )
    totals["untagged"] = totals["rows"] - totals["tagged"]
    totals["share"] = _share(totals["tagged"], totals["rows"])
    totals = _ranked(totals, ["rows", "value"]).reset_index(drop=True)
    counts = (
        pd.DataFrame(
            {
                "value": labels.to_numpy()[pairs.rows],
                "tag": np.asarray(names, dtype=object)[pairs.tags],
            }
        )
        .groupby(["value", "tag"])
        .size()
    )
    grid = pd.MultiIndex.from_product([totals["value"], names], names=["value", "tag"])
    by_facet = counts.reindex(grid, fill_value=0).rename("rows").reset_index()
    by_facet["rows"] = by_facet["rows"].astype("int64")
    facet_rows = by_facet["value"].map(totals.set_index("value")["rows"])
    by_facet["share"] = _share(by_facet["rows"], facet_rows)
    return totals, by_facet


def _hierarchy(pairs: _Pairs, names: list[str], tag_rows: np.ndarray) -> pd.DataFrame:
    """Dotted names rolled up: each prefix counts the rows carrying any tag under it."""
    if not names:
        return pd.DataFrame(
            {c: pd.Series(dtype="str") for c in ("path", "parent", "label")}
            | {c: pd.Series(dtype="int64") for c in ("level", "rows", "assignments")}
        )
    path_of: dict[str, int] = {}
    link_tags, link_paths = [], []  # (tag, prefix) links, grouped by tag
    for tag, name in enumerate(names):
        parts = name.split(".")
        for i in range(len(parts)):
            link_tags.append(tag)
            link_paths.append(path_of.setdefault(".".join(parts[: i + 1]), len(path_of)))
    paths = list(path_of)
    link_tag = np.asarray(link_tags, dtype="int64")
    link_path = np.asarray(link_paths, dtype="int64")
    assignments = np.bincount(link_path, weights=tag_rows[link_tag], minlength=len(paths))
    if len(link_tags) == len(names):  # no dotted names: each tag is its own path
        rows = tag_rows[link_tag]
    else:  # a row under two tags of one prefix counts once there
        links_per_tag = np.bincount(link_tag, minlength=len(names))
        which, flat = _fan_out(pairs.tags, links_per_tag, np.cumsum(links_per_tag) - links_per_tag)
        keys = _sorted_unique(pairs.rows[which] * len(paths) + link_path[flat])
        rows = np.bincount(keys % len(paths), minlength=len(paths))
    out = pd.DataFrame({"path": pd.Series(paths, dtype="str")})
    out["parent"] = out["path"].str.rpartition(".")[0]
    out["label"] = out["path"].str.rpartition(".")[2]
    out["level"] = out["path"].str.count(r"\.").astype("int64") + 1
    out["rows"] = rows.astype("int64")
    out["assignments"] = assignments.astype("int64")
    return out.sort_values(["level", "path"], kind="stable").reset_index(drop=True)
