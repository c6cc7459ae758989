"""Coverage over time: the journal's confirmed changes as events, replayed into tagged rows
per moment (in total, per tag, or per actor). Pure pandas on the events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from tagging.errors import DatasetError
from tagging.membership import codes_in, isin

if TYPE_CHECKING:
    from tagging.journal.replay import Change


class JournalLike(Protocol):
    def changes(
        self, provider: str, target: Mapping[str, Any] | None = None
    ) -> Iterable[Change]: ...


EVENT_COLUMNS = ["time", "id", "tag", "action", "actor"]


def events_from_journal(
    journal: JournalLike, provider: str, target: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Journal jobs as events ["time", "id", "tag", "action", "actor"], oldest first.

    Only ids the API confirmed count (the journal's replay says which), each with its
    batch's own tags; the time is the batch's last update, the actor who ran its job.
    """
    frames = [
        pd.DataFrame({"time": c.time, "id": c.ids}).merge(
            pd.DataFrame({"tag": c.tags, "action": c.action, "actor": c.actor or ""}), how="cross"
        )
        for c in journal.changes(provider, target)
    ]
    if not frames:
        empty = {c: pd.Series(dtype="str") for c in EVENT_COLUMNS[1:]}
        return pd.DataFrame(empty).assign(time=pd.Series(dtype="datetime64[ns, UTC]"))[
            EVENT_COLUMNS
        ]
    events = pd.concat(frames, ignore_index=True)
    events["time"] = pd.to_datetime(events["time"], utc=True, format="ISO8601")
    return events[EVENT_COLUMNS]


def coverage_over_time(
    events: pd.DataFrame,
    *,
    ids: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    by_tag: bool = False,
    by_actor: bool = False,
) -> pd.DataFrame:
    """Tagged ids over time from events ["time", "id", "tag", "action" ("add"/"remove")].

    Events replay from an empty state in time order (ties keep their order); adds and
    removes are idempotent set operations. Returns ["time", "tagged"] (ids carrying at
    least one tag after the last event at that time), or with ``by_tag`` the long frame
    ["time", "tag", "rows"] with a point whenever a tag's count changes.
    With ``by_actor`` (events with an "actor" column) ["time", "actor", "tagged"]: each
    id that became tagged or untagged counts for the actor whose event did it, so at any
    time the actors' values add up to the total.
    ids: count only these ids (e.g. the dataset's); tags: only these tags.
    """
    needed = ["time", "id", "tag", "action", *(["actor"] if by_actor else [])]
    missing = set(needed) - set(events.columns)
    if missing:
        raise DatasetError(f"events need columns {', '.join(needed)}; missing {sorted(missing)}")
    ev = events[needed].astype({"id": "str", "tag": "str"})
    if ids is not None:
        ev = ev[_among(ev["id"], _as_text(ids))]
    if tags is not None:
        ev = ev[isin(ev["tag"], _as_text(tags))]
    ev = ev.sort_values("time", kind="stable").reset_index(drop=True)
    # Group on integer codes, not text: three groupbys over the events each hashed every id.
    id_key = pd.factorize(ev["id"])[0]
    tag_key = pd.factorize(ev["tag"])[0]
    pair_key = id_key.astype("int64") * (int(tag_key.max(initial=0)) + 1) + tag_key
    if ev.empty and by_actor:
        return ev[["time", "actor"]].assign(tagged=0).reset_index(drop=True)
    if ev.empty:
        empty = ev[["time"]].assign(tag=ev["tag"], rows=0) if by_tag else ev[["time"]]
        return empty.assign(**({} if by_tag else {"tagged": 0})).reset_index(drop=True)
    present = ev["action"].eq("add").astype("int64")
    before = present.groupby(pair_key).shift(fill_value=0)
    change = present - before  # +1 tag gained, -1 tag lost, 0 no-op
    if by_tag:
        rows = change.groupby(ev["tag"]).cumsum()
        out = pd.DataFrame({"time": ev["time"], "tag": ev["tag"], "rows": rows})
        out = out[change.ne(0)].drop_duplicates(["time", "tag"], keep="last")
        return out.reset_index(drop=True)
    carried = change.groupby(id_key).cumsum()  # tags the id carries after each event
    now = carried.gt(0).astype("int64")
    was = now.groupby(id_key).shift(fill_value=0)
    if by_actor:
        gained = now - was  # +1 the id became tagged, -1 it lost its last tag
        by = pd.DataFrame(
            {
                "time": ev["time"],
                "actor": ev["actor"],
                "tagged": gained.groupby(ev["actor"]).cumsum(),
            }
        )
        by = by[gained.ne(0)].drop_duplicates(["time", "actor"], keep="last")
        return by.astype({"tagged": "int64"}).reset_index(drop=True)
    tagged = (now - was).cumsum()
    out = pd.DataFrame({"time": ev["time"], "tagged": tagged.astype("int64")})
    return out.drop_duplicates("time", keep="last").reset_index(drop=True)


# --- internals -------------------------------------------------------------------------------


def _among(event_ids: pd.Series, ids: pd.Series | list[str]) -> np.ndarray:
    """Which events are of one of `ids` (a dataset's million): the events' few distinct ids
    make the hash table and the dataset's ids probe it, rather than the other way round."""
    codes, uniques = pd.factorize(event_ids)
    found = codes_in(ids, pd.Series(uniques, dtype="str"))
    present = np.zeros(len(uniques) + 1, dtype=bool)  # the extra slot: missing ids (-1)
    present[found[found >= 0]] = True
    return present[codes]


def _as_text(values: Iterable[Any]) -> pd.Series | list[str]:
    """Values as text, like `str(v)` of each: a text Series without missing values is used
    as it is (a million dataset ids as a Python list cost half a second)."""
    if (
        isinstance(values, pd.Series)
        and pd.api.types.is_string_dtype(values.dtype)
        and not pd.api.types.is_object_dtype(values.dtype)
        and not values.hasnans
    ):
        return values
    return [str(v) for v in values]
