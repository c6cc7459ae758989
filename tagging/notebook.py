"""The workbench as a notebook widget: filter, lasso on a map, pick tags, preview, push.

    wb = tagging.Workbench(df, provider="atlas", target={"projection_id": P})
    wb                     # in a cell: filters, map, selected rows, tags, plan, Push
    wb.selection           # next cell: the selected rows; wb.plan, wb.result likewise

The same steps as the app's Tag page: tagging.filters for the filters, points_in_polygon over
ALL rows for the map's lasso or box (the map draws at most `max_points` of them),
tagging.prepare for the preview, tagging.push (journaled, verified) for the Push button.
ipywidgets and plotly load with this module, which `import tagging` does not import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, cast

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tagging.config import Connection, connect
from tagging.errors import TaggingError
from tagging.executor import push
from tagging.filters import (
    OP_LABELS,
    Condition,
    apply_filters,
    condition_from_text,
    operators_for,
)
from tagging.journal import Journal
from tagging.prepare import prepare
from tagging.render import describe, result_html
from tagging.selection import id_strings, points_in_polygon
from tagging.values import Action, Plan, Progress, PushResult, TagOperation

Polygon = tuple[tuple[float, float], ...]
GRID_ROWS = 20
NO_OP_VALUE = ("is_null", "not_null")  # operators that take no value


class Workbench:
    """An interactive tagging workbench over a DataFrame, for a Jupyter cell.

    df:          the rows; `id_column` holds the provider's ids.
    provider:    a registered provider (`tagging.providers.names()`); target: where the ids live,
                 e.g. {"projection_id": P} for Atlas.
    kind_column: Nekt resource type / Immuta model type per row; or `kind` for all rows.
    x, y:        the map's numeric columns (default "x" and "y", else the first two numeric
                 ones; no map when the frame has fewer than two).
    journal, conn: default to tagging.Journal() and tagging.connect(provider) (the sandbox
                 unless a live connection is configured).
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        provider: str,
        target: Mapping[str, str] | None = None,
        id_column: str = "id",
        kind_column: str | None = None,
        kind: str | None = None,
        journal: Journal | None = None,
        conn: Connection | None = None,
        x: str | None = None,
        y: str | None = None,
        max_points: int = 20_000,
    ) -> None:
        self.df = df
        self.provider = provider
        self.target = dict(target or {})
        self.id_column = id_column
        self.kind_column = kind_column
        self.kind = kind
        self.journal = journal if journal is not None else Journal()
        self.conn = conn if conn is not None else connect(provider)
        self.axes = _map_columns(df, x, y)
        self.max_points = max_points
        self.conditions: tuple[Condition, ...] = ()
        self.polygon: Polygon | None = None  # the map's lasso or box, in data coordinates
        self.plan: Plan | None = None
        self.result: PushResult | None = None
        self.error: str | None = None  # why there is no plan (no rows, no tags, bad tag...)
        self._in_polygon: np.ndarray | None = None
        self._mask = np.ones(len(df), dtype=bool)
        self._build()
        self._refresh_catalog()
        self._refresh()

    # --- what the next cell reads -------------------------------------------------------

    @property
    def selection(self) -> pd.DataFrame:
        """The rows that match every filter and lie inside the map's lasso or box (all
        filtered rows while nothing is drawn)."""
        return self.df[self._mask]

    @property
    def tags(self) -> list[str]:
        """The tags picked from the provider's catalog, then the new ones typed in."""
        typed = (t.strip() for t in self.new_tags.value.split(","))
        return list(dict.fromkeys([*self.tag_picker.value, *(t for t in typed if t)]))

    @property
    def action(self) -> Action:
        return cast(Action, self.action_picker.value)

    # --- driving it from code (what the widgets call) -----------------------------------

    def set_filters(self, conditions: Sequence[Condition]) -> None:
        self.conditions = tuple(conditions)
        self._refresh()

    def select_polygon(self, polygon: Sequence[tuple[float, float]] | None) -> None:
        """Select the rows inside `polygon` (vertices in data coordinates); None: clear."""
        self.polygon = None if polygon is None else tuple((float(a), float(b)) for a, b in polygon)
        self._in_polygon = None
        if self.polygon is not None and self.axes is not None:
            xs, ys = (self.df[c].to_numpy(dtype=float) for c in self.axes)
            self._in_polygon = points_in_polygon(xs, ys, self.polygon)
        self._refresh()

    def select_box(self, xrange: Sequence[float], yrange: Sequence[float]) -> None:
        (x0, x1), (y0, y1) = xrange, yrange
        self.select_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def set_tags(self, tags: Sequence[str], action: Action = "add") -> None:
        """Pick `tags`: those the provider has in the picker, the others as new tags."""
        self.action_picker.value = action
        self.tag_picker.value = tuple(t for t in tags if t in self._catalog)
        self.new_tags.value = ", ".join(t for t in tags if t not in self._catalog)

    def push(self) -> PushResult | None:
        """Push the current plan with the journal, the progress bar fed by push's callback."""
        if self.plan is None or self.plan.to_send == 0:
            return None
        self.push_button.disabled = True
        self.progress.value, self.progress.max = 0, max(1, self.plan.to_send)
        self.result_view.value = "<i>pushing…</i>"
        try:
            self.result = push(self.plan, self.conn, journal=self.journal, progress=self._report)
        except TaggingError as exc:
            self.result_view.value = f"<b>push failed:</b> {escape(str(exc))}"
            self._refresh()
            return None
        self.result_view.value = result_html(self.result)
        self._refresh_catalog()  # a push can create tags
        self._refresh()  # the preview against what the journal now confirms
        return self.result

    # --- the one planning path ----------------------------------------------------------

    def _prepare(self, op: TagOperation) -> Plan:
        """The one planning path the app and the CLI take (known state, catalog checks)."""
        return prepare(op, self.conn, journal=self.journal, catalog=self._catalog or None)

    def _operation(self) -> TagOperation:
        rows = self.selection
        ids = id_strings(rows, self.id_column)
        present = ids.notna().to_numpy()
        kinds: str | list[str] | None = self.kind
        if self.kind_column is not None:
            kinds = rows[self.kind_column][present].astype(str).tolist()
        return TagOperation(
            provider=self.provider,
            action=self.action,
            tags=tuple(self.tags),
            ids=ids[present].tolist(),
            target=self.target,
            kinds=kinds,
        )

    # --- widgets ------------------------------------------------------------------------

    def _build(self) -> None:
        columns = [str(c) for c in self.df.columns]
        self.filter_column = w.Dropdown(options=columns, description="Filter")
        self.filter_op = w.Dropdown(layout=w.Layout(width="150px"))
        self.filter_value = w.Text(placeholder="value (a, b for lists and ranges)")
        self.add_filter_button = w.Button(description="Add filter", icon="filter")
        self.clear_filters_button = w.Button(description="Clear filters")
        self.filter_chips = w.HTML()
        self.figure = _figure(self.axes) if self.axes is not None else None
        self.clear_selection_button = w.Button(description="Clear map selection")
        # The grid scrolls beside the map rather than stretching the cell.
        self.grid = w.HTML(layout=w.Layout(max_height="470px", overflow="auto", flex="1"))
        self.action_picker = w.ToggleButtons(options=["add", "remove"], value="add")
        self.tag_picker = w.SelectMultiple(description="Tags", rows=5)
        self.new_tags = w.Text(description="New tags", placeholder="comma separated")
        self.catalog_note = w.HTML()
        self.plan_view = w.HTML()
        self.push_button = w.Button(button_style="primary", icon="paper-plane")
        self.progress = w.IntProgress(min=0, max=1, value=0, description="Progress")
        self.result_view = w.HTML()
        self._wire()
        self._sync_operators()
        self.widget = w.VBox(
            [
                w.HBox([self.filter_column, self.filter_op, self.filter_value]),
                w.HBox([self.add_filter_button, self.clear_filters_button, self.filter_chips]),
                w.HBox([*self._map_widgets(), self.grid]),
                w.HBox([self.action_picker, self.tag_picker, self.new_tags]),
                self.catalog_note,
                self.plan_view,
                w.HBox([self.push_button, self.progress]),
                self.result_view,
            ]
        )

    def _wire(self) -> None:
        self.filter_column.observe(lambda _: self._sync_operators(), names="value")
        self.add_filter_button.on_click(lambda _: self._add_filter())
        self.clear_filters_button.on_click(lambda _: self.set_filters(()))
        self.clear_selection_button.on_click(lambda _: self.select_polygon(None))
        if self.figure is not None:
            trace = self.figure.data[0]
            trace.on_selection(self._on_map_selection)
            trace.on_deselect(lambda *_: self.select_polygon(None))
        for widget in (self.action_picker, self.tag_picker, self.new_tags):
            widget.observe(lambda _: self._refresh_plan(), names="value")
        self.push_button.on_click(lambda _: self.push())

    def _map_widgets(self) -> list[Any]:
        if self.figure is None:
            return []
        return [w.VBox([self.figure, self.clear_selection_button])]

    def _sync_operators(self) -> None:
        ops = operators_for(self.df[self.filter_column.value])
        self.filter_op.options = [(OP_LABELS[o], o) for o in ops]

    def _add_filter(self) -> None:
        try:
            cond = _condition(
                self.filter_column.value, self.filter_op.value, self.filter_value.value
            )
            apply_filters(self.df.head(1), [cond])  # a value that does not fit fails here
        except TaggingError as exc:
            self.filter_chips.value = f"<span style='color:#b00'>{escape(str(exc))}</span>"
            return
        self.filter_value.value = ""
        self.set_filters([*self.conditions, cond])

    def _on_map_selection(self, _trace: Any, _points: Any, selector: Any) -> None:
        """plotly's selection event: the lasso's or box's outline, in data coordinates."""
        if getattr(selector, "type", None) == "box":
            self.select_box(selector.xrange, selector.yrange)
        elif getattr(selector, "type", None) == "lasso":
            self.select_polygon(list(zip(selector.xs, selector.ys, strict=True)))

    def _report(self, p: Progress) -> None:
        self.progress.max = max(1, p.total_ids)
        self.progress.value = p.done_ids
        self.progress.description = f"{p.done_ids:,}/{p.total_ids:,}"

    # --- recomputing what is shown --------------------------------------------------------

    def _refresh_catalog(self) -> None:
        try:
            self._catalog = sorted(self.conn.tags(self.target))
            self.catalog_note.value = ""
        except TaggingError as exc:
            self._catalog = []
            self.catalog_note.value = (
                f"<i>could not list the provider's tags: {escape(str(exc))}</i>"
            )
        picked = [t for t in self.tag_picker.value if t in self._catalog]
        self.tag_picker.options = self._catalog
        self.tag_picker.value = picked

    def _refresh(self) -> None:
        filtered = apply_filters(self.df, self.conditions).to_numpy(dtype=bool)
        self._mask = filtered if self._in_polygon is None else filtered & self._in_polygon
        self.filter_chips.value = " · ".join(escape(str(c)) for c in self.conditions)
        self._draw_map(filtered)
        self.grid.value = _grid_html(self.selection, int(filtered.sum()), len(self.df))
        self._refresh_plan()

    def _draw_map(self, filtered: np.ndarray) -> None:
        """The filtered rows (a sample of them), the selected ones highlighted."""
        if self.figure is None or self.axes is None:
            return
        drawn = _sample(self.df[filtered], self.max_points)
        chosen = self._mask[self.df.index.get_indexer(drawn.index)]
        with self.figure.batch_update():
            trace = self.figure.data[0]
            trace.x, trace.y = (drawn[c].to_numpy() for c in self.axes)
            # No outline drawn: nothing highlighted (every filtered row counts as selected).
            trace.selectedpoints = None if self.polygon is None else np.flatnonzero(chosen).tolist()

    def _refresh_plan(self) -> None:
        self.plan, self.error = None, None
        if not self.tags:
            self.error = "pick a tag or type a new one"
        else:
            try:
                self.plan = self._prepare(self._operation())
            except TaggingError as exc:
                self.error = str(exc)
        if self.plan is None:
            self.plan_view.value = f"<i>{escape(self.error or '')}</i>"
            self.push_button.description, self.push_button.disabled = "Push", True
            return
        self.plan_view.value = "<ul>" + "".join(
            f"<li>{escape(line)}</li>" for line in describe(self.plan)
        ) + "</ul>"  # fmt: skip
        n = self.plan.to_send
        self.push_button.description = f"Push {n:,} ids" if n else "Nothing to push"
        self.push_button.disabled = n == 0

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# --- pure helpers ---------------------------------------------------------------------------


def _map_columns(df: pd.DataFrame, x: str | None, y: str | None) -> tuple[str, str] | None:
    """The map's axes: as given, else "x" and "y", else the first two numeric columns."""
    if x and y:
        return x, y
    if {"x", "y"} <= set(df.columns):
        return "x", "y"
    numeric = [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]
    return (numeric[0], numeric[1]) if len(numeric) >= 2 else None


def _condition(column: str, op: str, text: str) -> Condition:
    """A Condition from the filter row's widgets: lists and ranges as "a, b"."""
    return condition_from_text(column, op, text)


def _sample(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """At most n rows, evenly spread over the frame (stable from one redraw to the next)."""
    if len(frame) <= n:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, n).astype(int)]


def _figure(axes: tuple[str, str]) -> go.FigureWidget:
    x, y = axes
    trace = go.Scattergl(
        mode="markers",
        marker={"size": 4, "opacity": 0.7},
        selected={"marker": {"color": "#d62728", "opacity": 1.0}},
        unselected={"marker": {"opacity": 0.25}},
    )
    layout = go.Layout(
        dragmode="lasso",
        # No hover: plotly's hover, unhover and selection events share one synced field, and
        # ipywidgets' message throttling keeps only its latest value, so the unhover that
        # follows a lasso's mouse-up would swallow the selection.
        hovermode=False,
        height=420,
        width=560,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        title={"text": "lasso or box to select", "font": {"size": 13}},
        xaxis={"title": {"text": x}},
        yaxis={"title": {"text": y}},
    )
    return go.FigureWidget(data=[trace], layout=layout)


def _grid_html(rows: pd.DataFrame, filtered: int, total: int) -> str:
    head = f"<b>{len(rows):,}</b> rows selected · {filtered:,} filtered · {total:,} in all"
    table = rows.head(GRID_ROWS).to_html(index=False, max_cols=8, border=0)
    return f"<div style='font-size:12px;line-height:1.3'>{head}{table}</div>"
