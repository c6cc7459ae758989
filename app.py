"""The tagging workbench: navigation and the shared sidebar, nothing else."""

from pathlib import Path

import streamlit as st

from ui import heap, persist, session
from ui.sidebar import render_sidebar
from ui.tour import render_tour

st.set_page_config(
    page_title="Tagging workbench",
    page_icon=str(Path(__file__).parent / "ui" / "icon.png"),
    layout="wide",
)

page = st.navigation(
    [
        st.Page(
            "app_pages/dataset.py", title="Dataset", icon=":material/table_view:", default=True
        ),
        st.Page("app_pages/tag.py", title="Tag", icon=":material/sell:"),
        st.Page("app_pages/history.py", title="History", icon=":material/history:"),
        st.Page("app_pages/coverage.py", title="Coverage", icon=":material/donut_small:"),
    ]
)
persist.restore()  # a reload brings the session back (before the sidebar's demo)
render_sidebar()
render_tour()
session.note_page(page.url_path)  # pages that refresh on entry ask for it
try:
    page.run()
finally:  # also after st.stop() and st.rerun()
    persist.save()
    heap.freeze_imports()  # after the page's imports: later reruns' full collections skip them
