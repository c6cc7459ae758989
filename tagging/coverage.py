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
from typing import Any

import numpy as np
import pandas as pd

from tagging.columns import to_id_strings
from tagging.coverage_counts import (
    CodeIndex,
    build_index,
    count,
    facet_cells,
    rows_per_path,
    small_int,
)
from tagging.errors import DatasetError
from tagging.membership import encode, isin
from tagging.selection import row_keys

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
    index = build_index(ids, known_ids, known_tags, names)
    del known_ids, known_tags  # a 30M-row dataset's state: let it go before the counting
    n = len(ids)
    tagged = len(index.hit_rows)  # every id in the index carries at least one tag
    tag_rows = index.rows_per_tag(len(names))
    per_tag = _ranked(pd.DataFrame({"tag": names, "rows": tag_rows}), ["rows", "tag"])
    per_tag["share"] = _share(per_tag["rows"], n)
    rows_of = index.rows_per_id
    bucket_rows = np.array(
        [n - tagged, rows_of[index.tags_per_id == 1].sum(), rows_of[index.tags_per_id >= 2].sum()],
        dtype="int64",
    )
    tags_per_row = pd.DataFrame({"tags": list(_BUCKETS), "rows": bucket_rows})
    tags_per_row["share"] = _share(tags_per_row["rows"], n)
    result = Coverage(
        rows=n,
        tagged=tagged,
        per_tag=per_tag.reset_index(drop=True),
        tags_per_row=tags_per_row,
        hierarchy=_hierarchy(index, names, tag_rows),
    )
    if facet is None:
        return result
    totals, by_facet = _facets(df, facet, index, names)
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


def _share(counts: pd.Series, total: int | pd.Series) -> pd.Series:
    if isinstance(total, pd.Series):
        return (counts / total.where(total > 0)).fillna(0.0)
    return counts / total if total else counts * 0.0


def _ranked(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, ascending=[False, True], kind="stable")


def _facets(
    df: pd.DataFrame, facet: str, index: CodeIndex, names: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if facet not in df.columns:
        raise DatasetError(f"facet column '{facet}' is not in the dataset")
    codes, labels = _facet_codes(df[facet])
    k, width = len(labels), len(names)
    rows = count(codes, k)
    tagged = count(codes, k, at=index.hit_rows)
    grid = facet_cells(index, codes, k, width)
    totals = pd.DataFrame(
        {"value": pd.Series(labels, dtype="str"), "rows": rows, "tagged": tagged}
    ).astype({"rows": "int64", "tagged": "int64"})
    totals = totals[totals["rows"] > 0]  # a category no row holds is no facet value
    totals["untagged"] = totals["rows"] - totals["tagged"]
    totals["share"] = _share(totals["tagged"], totals["rows"])
    totals = _ranked(totals, ["rows", "value"])
    order = totals.index.to_numpy()
    totals = totals.reset_index(drop=True)
    cells = grid.reshape(k, width)[order].ravel()
    by_facet = pd.DataFrame(
        {
            "value": np.repeat(totals["value"].to_numpy(dtype=object), width),
            "tag": np.tile(np.asarray(names, dtype=object), len(totals)),
            "rows": cells.astype("int64"),
        }
    ).astype({"value": "str", "tag": "str"})
    facet_rows = pd.Series(np.repeat(totals["rows"].to_numpy(), width))
    by_facet["share"] = _share(by_facet["rows"], facet_rows)
    return totals, by_facet


def _facet_codes(raw: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's facet label as a small integer code, and the labels: the value as text,
    "(blank)" when missing. Values that read the same as text share a label."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        codes = raw.cat.codes.to_numpy()
        values = pd.Series(raw.cat.categories).astype("str").tolist()
    elif pd.api.types.is_string_dtype(raw.dtype) and not pd.api.types.is_object_dtype(raw.dtype):
        codes, uniques = encode(raw)  # arrow text: int32 codes, no int64 copy
        values = [str(v) for v in uniques.to_pylist()]
    else:
        found, distinct = pd.factorize(raw, use_na_sentinel=True)
        codes = found.astype(small_int(len(distinct)))
        values = pd.Series(distinct).astype("str").tolist()
    labels = list(dict.fromkeys([*values, BLANK]))
    where = {label: i for i, label in enumerate(labels)}
    small = np.int16 if len(labels) < 2**15 else np.int32
    remap = np.array([where[v] for v in values] + [where[BLANK]], dtype=small)
    return remap[codes], labels  # code -1 (missing) picks the last entry: BLANK


def _hierarchy(index: CodeIndex, names: list[str], tag_rows: np.ndarray) -> pd.DataFrame:
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
    else:  # an id under two tags of one prefix counts its rows once there
        rows = rows_per_path(index, link_tag, link_path, len(names), len(paths))
    out = pd.DataFrame({"path": pd.Series(paths, dtype="str")})
    out["parent"] = out["path"].str.rpartition(".")[0]
    out["label"] = out["path"].str.rpartition(".")[2]
    out["level"] = out["path"].str.count(r"\.").astype("int64") + 1
    out["rows"] = rows.astype("int64")
    out["assignments"] = assignments.astype("int64")
    return out.sort_values(["level", "path"], kind="stable").reset_index(drop=True)
