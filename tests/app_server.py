"""`streamlit run app.py` as the browser tests start it: a free port, until /_stcore/health.
The start-up itself lives in benchmarks/browser.py, shared with the ui.browser.* scenario."""

from benchmarks.browser import running_app

__all__ = ["running_app"]
