"""AppTest helpers shared by the tests/test_app_*.py files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def app_env(sandbox, tmp_path, monkeypatch) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """Point the app at the test sandbox and a fresh journal; returns the journal path."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    journal = tmp_path / "journal.db"
    monkeypatch.setenv("TAGGING_JOURNAL", str(journal))
    # AppTest re-detects a `pages/` folder on every run and then runs pages as MPA v1
    # scripts, skipping app.py (the real server sets this once, at the first st.navigation).
    original = PagesManager.__init__

    def v2_only(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        PagesManager.uses_pages_directory = False
        original(self, *args, **kwargs)

    monkeypatch.setattr(PagesManager, "__init__", v2_only)
    yield journal


def open_app(provider: str = "atlas", timeout: float = 60) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    if provider != "atlas":
        at.sidebar.selectbox(key="provider").set_value(provider).run()
    assert not at.exception, at.exception
    return at
