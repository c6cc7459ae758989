"""tagging.maps.map_figure and its helpers, and the demo map's clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tagging.demo import atlas_frame
from tagging.maps import (
    BY_TAG,
    BY_TAGGED,
    MIN_PER_GROUP,
    SEVERAL,
    HoverText,
    map_figure,
    map_layers,
    map_sample,
    suggest_map_columns,
)
from tagging.selection import points_in_polygon

FRAME = atlas_frame()


def scatter(fig: go.Figure) -> list[go.Scattergl]:
    return [t for t in fig.data if isinstance(t, go.Scattergl)]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["id", "x", "y"], ("x", "y")),
        (["id", "UMAP_X", "UMAP_Y"], ("UMAP_X", "UMAP_Y")),
        (["tsne_1", "tsne_2"], ("tsne_1", "tsne_2")),
        (["pca_x", "pca_y", "x"], ("pca_x", "pca_y")),
        (["embedding_x", "embedding_y"], ("embedding_x", "embedding_y")),
        (["a", "b", "1", "2"], None),
        (["x"], None),
    ],
)
def test_suggest_map_columns(columns: list[str], expected: tuple[str, str] | None) -> None:
    assert suggest_map_columns(pd.DataFrame({c: [0.5] for c in columns})) == expected


def test_text_columns_named_x_y_are_not_a_map() -> None:
    assert suggest_map_columns(pd.DataFrame({"x": ["a"], "y": ["b"]})) is None


def test_demo_map_has_a_cluster_per_field() -> None:
    assert FRAME["x"].dtype == FRAME["y"].dtype == np.float64
    centres = FRAME.groupby("field")[["x", "y"]].median()
    gaps = np.linalg.norm(centres.to_numpy()[:, None] - centres.to_numpy()[None], axis=2)
    assert gaps[~np.eye(len(centres), dtype=bool)].min() > 4  # clusters sit apart
    # a circle around cs.LG's centre holds mostly cs.LG rows
    cx, cy = centres.loc["cs.LG"]
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    hit = points_in_polygon(
        FRAME["x"], FRAME["y"], np.c_[cx + 2.5 * np.cos(t), cy + 2.5 * np.sin(t)]
    )
    assert (FRAME.loc[hit, "field"] == "cs.LG").mean() > 0.99
    assert hit.sum() > 0.8 * (FRAME["field"] == "cs.LG").sum()
    assert atlas_frame(50)[["x", "y"]].equals(atlas_frame(50)[["x", "y"]])  # deterministic


def test_small_frames_are_drawn_whole_with_row_positions_as_customdata() -> None:
    fig = map_figure(FRAME, "x", "y", color="field", title_column="title")
    traces = scatter(fig)
    assert sorted(np.concatenate([t.customdata for t in traces]).tolist()) == list(range(10_000))
    assert fig.layout.dragmode == "lasso"
    assert "density" not in {t.name for t in fig.data}
    first = traces[0]
    pos = int(first.customdata[0])
    assert first.text[0] == f"{FRAME['id'][pos]} · {FRAME['title'][pos]}"


def test_big_frames_draw_a_stratified_sample_over_a_density_layer() -> None:
    big = atlas_frame(200_000)
    big.loc[:99, "field"] = "rare"  # 100 rows of a tiny group still get drawn
    fig = map_figure(big, "x", "y", color="field", max_points=20_000)
    drawn = {t.name: len(t.x) for t in scatter(fig)}
    assert sum(drawn.values()) <= 20_000 + 7 * MIN_PER_GROUP
    assert drawn["rare"] == 100  # all of it: below the floor
    assert isinstance(fig.data[0], go.Heatmap)
    assert "drawing" in fig.layout.title.text


def test_sample_is_deterministic_and_proportional() -> None:
    groups = pd.Series(np.where(np.arange(100_000) < 90_000, "a", "b"))
    first, again = map_sample(groups, 10_000), map_sample(groups, 10_000)
    assert np.array_equal(first, again)
    assert np.all(np.diff(first) > 0)
    counts = groups.iloc[first].value_counts()
    assert abs(counts["a"] - 9_000) < 300 and abs(counts["b"] - 1_000) < 100


def test_selected_rows_are_highlighted_and_drawn_even_when_sampled() -> None:
    big = atlas_frame(50_000)
    selected = np.zeros(len(big), dtype=bool)
    selected[[3, 40_000]] = True
    fig = map_figure(big, "x", "y", color="field", selected=selected, max_points=1_000)
    marked = {int(t.customdata[i]) for t in scatter(fig) for i in (t.selectedpoints or [])}
    assert marked == {3, 40_000}
    assert scatter(fig)[0].unselected.marker.opacity < 0.5


def test_colour_by_tag_and_by_tagged() -> None:
    state = pd.DataFrame({"id": ["0", "1", "1", "2"], "tag": ["a", "a", "b", "b"]})
    small = FRAME.head(5)
    by_tagged = {t.name: sorted(t.customdata.tolist()) for t in scatter(
        map_figure(small, "x", "y", color=BY_TAGGED, state=state))}  # fmt: skip
    assert by_tagged == {"tagged": [0, 1, 2], "untagged": [3, 4]}
    by_tag = {t.name: sorted(t.customdata.tolist()) for t in scatter(
        map_figure(small, "x", "y", color=BY_TAG, state=state))}  # fmt: skip
    assert by_tag == {"a": [0], "b": [2], SEVERAL: [1], "untagged": [3, 4]}


def test_empty_frame_says_so() -> None:
    fig = map_figure(FRAME.head(0), "x", "y")
    assert fig.layout.annotations[0].text == "No rows"


def test_with_every_row_selected_the_map_is_the_unselected_one() -> None:
    """Nothing to dim: the same figure, so the page does not redraw the chart."""
    big = atlas_frame(50_000)
    every = np.ones(len(big), dtype=bool)
    fig = map_figure(big, "x", "y", color="field", selected=every, max_points=1_000)
    plain = map_figure(big, "x", "y", color="field", max_points=1_000)
    assert fig.to_json() == plain.to_json()
    assert all(t.selectedpoints is None for t in scatter(fig))
    but_one = every.copy()
    but_one[int(scatter(plain)[0].customdata[0])] = False  # a drawn row: dimmed
    dimmed = map_figure(big, "x", "y", color="field", selected=but_one, max_points=1_000)
    assert sum(len(t.customdata) - len(t.selectedpoints) for t in scatter(dimmed)) == 1


def test_hover_text_is_id_and_title_cut_at_80_characters() -> None:
    rows = pd.DataFrame(
        {"id": ["a", None, "c"], "title": ["x" * 100, "short", None], "x": [0.0, 1, 2], "y": 0.0}
    )
    fig = map_figure(rows, "x", "y", title_column="title")
    assert list(scatter(fig)[0].text) == ["a · " + "x" * 80, " · short", "c · "]


def test_hover_text_kept_per_row_is_the_text_made_for_it() -> None:
    """The app keeps each row's hover text across maps (at most `most` rows, then it starts
    over): every map's text is the one its rows would get made afresh."""
    hover = HoverText(FRAME, "id", "title", most=150)
    for rows in ([5, 9, 2], [9, 40, 5, 7], list(range(100, 220)), [2, 7]):
        at = np.array(rows)
        assert hover.kept(at).tolist() == hover.made(at).tolist()
    lower = FRAME[FRAME["x"] < FRAME["x"].median()]
    positions = np.flatnonzero(FRAME["x"] < FRAME["x"].median())
    layers = map_layers(
        lower, "x", "y", title_column="title", max_points=200,
        hover_of=lambda at: hover.kept(positions[at]),
    )  # fmt: skip
    plain = map_layers(lower, "x", "y", title_column="title", max_points=200)
    picked = np.zeros(len(lower), dtype=bool)
    picked[::7] = True  # rows the sample missed are added, with their text
    for selected in (None, picked):
        texts = [t.get("text") for t in layers.spec(selected)["data"]]
        assert texts == [t.get("text") for t in plain.spec(selected)["data"]]
        assert sum(len(t or ()) for t in texts) > 200  # the sample, and added rows
