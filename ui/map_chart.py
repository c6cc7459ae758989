"""The map's chart: plotly.js in a Streamlit component that updates the plot it has.

`st.plotly_chart` gives a chart a new identity whenever its figure changes, so every filter,
colour or selection change built a new plot (a new WebGL context: about 1 s in a browser
without a GPU at 30,000 points). This component keeps one plot per key and calls
`Plotly.react` with each new figure (about 0.3 s), and reports plotly's own selection events
in the shape `st.plotly_chart` does ({"points", "box", "lasso"}).

plotly.js is the copy the plotly package ships (the version its figures are made for),
served by Streamlit's static file serving from `static/` beside app.py, copied there on
first use: the app stays offline.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plotly
import streamlit as st

STATIC = Path(__file__).resolve().parent.parent / "static"  # app.py's folder
_SOURCE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# The version in the name: a plotly upgrade is a new URL, not a stale cached script.
SCRIPT = f"plotly-{plotly.__version__}.min.js"
EMPTY: dict[str, Any] = {"points": [], "box": [], "lasso": []}

_JS = """
export default async function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data) return;
  const sent = JSON.parse(new TextDecoder().decode(data));
  let div = parentElement.querySelector(".tag-map");
  if (!div) {
    div = document.createElement("div");
    div.className = "tag-map";
    div.style.width = "100%";
    parentElement.appendChild(div);
  }
  // data-sent / data-drawn: what the plot was given and has drawn (tests wait on them).
  const fresh = div.dataset.sent !== sent.revision;
  div.dataset.sent = sent.revision;
  if (!window.Plotly) {
    // Served as text by Streamlit's static serving: evaluated here, once per page.
    window.__tagPlotly = window.__tagPlotly || fetch(new URL("app/static/SCRIPT",
        document.baseURI)).then((r) => r.text()).then((src) => { (0, eval)(src); });
    await window.__tagPlotly;
  }
  // A new figure clears the lasso drawn on the last one (it was applied, or is stale).
  const layout = fresh ? { ...sent.figure.layout, selections: [] } : sent.figure.layout;
  await Plotly.react(div, sent.figure.data, layout, { ...sent.config, responsive: true });
  div.dataset.drawn = sent.revision;
  if (div.dataset.bound) return;
  div.dataset.bound = "1";
  const report = (selection) =>
    setStateValue("selection", { ...selection, revision: div.dataset.drawn });
  const picked = (points) => (points || []).map((p) => ({
    curve_number: p.curveNumber, point_index: p.pointIndex, customdata: p.customdata,
  }));
  div.on("plotly_selected", (e) => {
    if (!e) return;
    const box = [], lasso = [];
    if (e.range && e.range.x) box.push({ xref: "x", yref: "y", x: e.range.x, y: e.range.y });
    if (e.lassoPoints && e.lassoPoints.x)
      lasso.push({ xref: "x", yref: "y", x: e.lassoPoints.x, y: e.lassoPoints.y });
    report({ points: picked(e.points), box, lasso });
  });
  div.on("plotly_click", (e) => report({ points: picked(e && e.points), box: [], lasso: [] }));
  div.on("plotly_deselect", () => report({ points: [], box: [], lasso: [] }));
}
"""

_component = st.components.v2.component(
    "tagging_map", js=_JS.replace("SCRIPT", SCRIPT), isolate_styles=False
)


def ensure_script() -> None:
    """plotly.js into `static/` (a copy of the installed package's, once per version)."""
    target = STATIC / SCRIPT
    if target.exists() and target.stat().st_size == _SOURCE.stat().st_size:
        return
    STATIC.mkdir(exist_ok=True)
    partial = target.with_suffix(".partial")
    shutil.copyfile(_SOURCE, partial)
    partial.replace(target)  # a page never loads half a file


def encode(figure: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[bytes, str]:
    """What the component receives (the figure's JSON, made once per figure) and the
    figure's revision, a hash of it: a selection made on another figure is not applied, and
    the same figure again is the same message (Streamlit sends an unchanged one cheaply)."""
    text = json.dumps(figure)
    revision = hashlib.sha1(text.encode()).hexdigest()[:16]
    payload = f'{{"figure": {text}, "revision": "{revision}", "config": {json.dumps(config)}}}'
    return payload.encode(), revision


def map_chart(payload: bytes, revision: str, key: str) -> dict[str, Any] | None:
    """Draw the figure `payload` (`encode`'s, with its `revision`) and return the last
    selection made on it ({"points", "box", "lasso", "revision"}; empty when none), or None
    when it was made on another figure (the plot clears it when it draws a new one)."""
    try:
        ensure_script()
    except OSError as exc:
        st.error(f"The map cannot be drawn: plotly.js could not be copied to {STATIC}: {exc}")
        return None
    result = _component(data=payload, key=key, on_selection_change=lambda: None)
    selection = getattr(result, "selection", None)
    if not isinstance(selection, Mapping):
        return dict(EMPTY)
    return dict(selection) if selection.get("revision") == revision else None
