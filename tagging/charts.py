"""Plotly figures built from coverage frames. No data work here beyond picking the top items.

Usage::

    cov = coverage(df, "id", state, facet="field")
    st.plotly_chart(tag_bar(cov))                 # rows per tag, "123 (12.3%)" labels
    st.plotly_chart(tags_per_row_donut(cov))      # 0 / 1 / 2+ tags per row
    st.plotly_chart(facet_stacked_bar(cov))       # tagged vs untagged per facet value
    st.plotly_chart(facet_heatmap(cov))           # share of each facet value's rows, per tag
    st.plotly_chart(hierarchy_sunburst(cov))      # dotted names: A > A.B > A.B.C
    st.plotly_chart(coverage_line(coverage_over_time(events)))

Every figure has a title and axis titles, transparent backgrounds and no template of its
own, so Streamlit's light or dark theme (or a notebook's) styles it. Colours are mid-tone so
they read on both. With nothing to show, a figure says so ("No tags yet") instead of failing.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from tagging.coverage import Coverage

TAGGED = "#3b82f6"  # mid blue: readable on white and on near-black
UNTAGGED = "#9ca3af"  # mid grey
ONE_TAG = "#93c5fd"
GRID = "rgba(128, 128, 128, 0.25)"
HEAT = "Blues"
NO_TAGS = "No tags yet"
OTHER = "Other"


def empty_figure(title: str, message: str = NO_TAGS) -> go.Figure:
    """A blank figure with a centred message, for when there is nothing to chart."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font={"size": 16},
    )  # fmt: skip
    style(fig, title)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def tag_bar(cov: Coverage, top: int = 30) -> go.Figure:
    """Horizontal bars: rows per tag (largest on top), labelled with count and share."""
    title = "Rows per tag"
    per_tag = cov.per_tag
    if per_tag.empty or int(per_tag["rows"].sum()) == 0:
        return empty_figure(title)
    shown = per_tag.head(top)
    if len(per_tag) > top:
        title += f" (top {top} of {len(per_tag)})"
    fig = go.Figure(
        go.Bar(
            x=shown["rows"],
            y=shown["tag"],
            orientation="h",
            marker_color=TAGGED,
            text=[f"{n:,} ({s:.1%})" for n, s in zip(shown["rows"], shown["share"], strict=True)],
            textposition="auto",
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
            name="Rows",
        )
    )
    style(fig, title, x="Rows", y="Tag")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(height=max(320, 28 * len(shown) + 120))
    return fig


def tags_per_row_donut(cov: Coverage) -> go.Figure:
    """Donut of rows with 0, 1 and 2+ tags."""
    title = "Tags per row"
    if cov.rows == 0 or cov.tagged == 0:
        return empty_figure(title, "No rows" if cov.rows == 0 else NO_TAGS)
    names = {"0": "No tag", "1": "1 tag", "2+": "2+ tags"}
    frame = cov.tags_per_row
    fig = go.Figure(
        go.Pie(
            labels=[names[b] for b in frame["tags"]],
            values=frame["rows"],
            hole=0.55,
            sort=False,
            direction="clockwise",
            marker={"colors": [UNTAGGED, ONE_TAG, TAGGED]},
            textinfo="label+percent",
            hovertemplate="%{label}: %{value:,} rows (%{percent})<extra></extra>",
        )
    )
    fig.add_annotation(
        text=f"{cov.share:.0%}<br>tagged", x=0.5, y=0.5, showarrow=False, font={"size": 18}
    )
    style(fig, title)
    fig.update_layout(showlegend=False)
    return fig


def facet_stacked_bar(cov: Coverage, top: int = 20) -> go.Figure:
    """Stacked bars per facet value: tagged and untagged rows (top values, rest as Other)."""
    if cov.facet is None or cov.facet_totals is None:
        return empty_figure("Tagged vs untagged", "Choose a facet column")
    title = f"Tagged vs untagged by {cov.facet}"
    totals = cov.facet_totals
    if totals.empty:
        return empty_figure(title, "No rows")
    if len(totals) > top:
        rest = totals.iloc[top - 1 :]
        other = pd.DataFrame(
            {
                "value": [OTHER],
                "rows": [rest["rows"].sum()],
                "tagged": [rest["tagged"].sum()],
                "untagged": [rest["untagged"].sum()],
            }
        )
        totals = pd.concat([totals.iloc[: top - 1], other], ignore_index=True)
        title += f" (top {top - 1} of {len(cov.facet_totals)})"
    values = totals["value"].astype("str")
    fig = go.Figure()
    for col, name, colour in (("tagged", "Tagged", TAGGED), ("untagged", "Untagged", UNTAGGED)):
        share = totals[col] / totals["rows"].where(totals["rows"] > 0)
        fig.add_bar(
            x=values,
            y=totals[col],
            name=name,
            marker_color=colour,
            text=[f"{n:,}" for n in totals[col]],
            textposition="inside",
            customdata=share.fillna(0.0),
            hovertemplate=f"%{{x}}: %{{y:,}} {name.lower()} (%{{customdata:.1%}})<extra></extra>",
        )
    style(fig, title, x=cov.facet, y="Rows")
    fig.update_layout(barmode="stack", legend_title_text="")
    fig.update_xaxes(type="category")
    return fig


def facet_heatmap(cov: Coverage, top_values: int = 25, top_tags: int = 25) -> go.Figure:
    """Facet value x tag heatmap: colour is the share of the value's rows, text the count."""
    if cov.facet is None or cov.by_facet is None or cov.facet_totals is None:
        return empty_figure("Tags by facet", "Choose a facet column")
    title = f"Rows per tag and {cov.facet} (colour: share of the {cov.facet}'s rows)"
    if cov.per_tag.empty or int(cov.per_tag["rows"].sum()) == 0:
        return empty_figure(title)
    tags = cov.per_tag["tag"].head(top_tags).tolist()
    values = cov.facet_totals["value"].head(top_values).tolist()
    cells = cov.by_facet[cov.by_facet["tag"].isin(tags) & cov.by_facet["value"].isin(values)]
    share = cells.pivot(index="value", columns="tag", values="share").loc[values, tags]
    rows = cells.pivot(index="value", columns="tag", values="rows").loc[values, tags]
    fig = go.Figure(
        go.Heatmap(
            z=share.to_numpy(),
            x=[str(t) for t in tags],
            y=[str(v) for v in values],
            text=[[f"{n:,}" for n in row] for row in rows.to_numpy()],
            texttemplate="%{text}",
            colorscale=HEAT,
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "Share of rows"}, "tickformat": ".0%"},
            hovertemplate="%{y} · %{x}: %{text} rows (%{z:.1%})<extra></extra>",
        )
    )
    style(fig, title, x="Tag", y=cov.facet)
    # automargin: long tag and facet names get the room they need instead of being clipped
    fig.update_xaxes(type="category", showgrid=False, automargin=True, tickangle=-30)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False, automargin=True)
    return fig


def hierarchy_sunburst(cov: Coverage) -> go.Figure:
    """Sunburst of dotted tag names; sizes are tag assignments, hover shows distinct rows."""
    title = "Tag hierarchy"
    nodes = cov.hierarchy[cov.hierarchy["assignments"] > 0]
    if nodes.empty:
        return empty_figure(title)
    fig = go.Figure(
        go.Sunburst(
            ids=nodes["path"],
            parents=nodes["parent"],
            labels=nodes["label"],
            values=nodes["assignments"],
            branchvalues="total",
            customdata=nodes["rows"],
            hovertemplate="%{id}: %{customdata:,} rows<extra></extra>",
            marker={"colorscale": HEAT},
            insidetextorientation="radial",  # labels stay inside their wedge
        )
    )
    style(fig, title)
    fig.update_layout(margin={"t": 60, "l": 10, "r": 10, "b": 10})
    return fig


def coverage_line(over_time: pd.DataFrame) -> go.Figure:
    """Tagged rows over time: ["time", "tagged"], or one line per tag ["time", "tag", "rows"]."""
    title = "Tagged rows over time"
    if over_time.empty:
        return empty_figure(title)
    fig = go.Figure()
    if "tag" in over_time.columns:
        for tag, group in over_time.groupby("tag", sort=True):
            fig.add_scatter(
                x=group["time"], y=group["rows"], name=str(tag), mode="lines+markers",
                line_shape="hv",
            )  # fmt: skip
        title = "Rows per tag over time"
    else:
        fig.add_scatter(
            x=over_time["time"], y=over_time["tagged"], name="Tagged rows",
            mode="lines+markers", line_shape="hv", line_color=TAGGED,
        )  # fmt: skip
    style(fig, title, x="Time", y="Rows")
    fig.update_yaxes(rangemode="tozero")
    _pad_short_span(fig, pd.to_datetime(over_time["time"]))
    return fig


def _pad_short_span(fig: go.Figure, times: pd.Series) -> None:
    """Events within a minute (one push) would get sub-millisecond ticks: show an hour
    around them, with minute ticks."""
    if times.empty or times.max() - times.min() >= pd.Timedelta(minutes=1):
        return
    mid = times.min() + (times.max() - times.min()) / 2
    half = pd.Timedelta(minutes=30)
    fig.update_xaxes(range=[mid - half, mid + half], tickformat="%H:%M", dtick=10 * 60 * 1000)


def style(fig: go.Figure, title: str, x: str | None = None, y: str | None = None) -> None:
    """Title, axis titles and transparent backgrounds; colours of text come from the theme."""
    fig.update_layout(
        title={"text": title},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"t": 60, "l": 10, "r": 10, "b": 10},
    )
    if x is not None:
        fig.update_xaxes(title_text=x, gridcolor=GRID, zerolinecolor=GRID)
    if y is not None:
        fig.update_yaxes(title_text=y, gridcolor=GRID, zerolinecolor=GRID, automargin=True)
