"""AppTest helpers shared by the tests/test_app_*.py files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def app_env(sandbox, tmp_path, monkeypatch) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """Point the app at the test sandbox and a fresh journal; returns the journal path."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    journal = tmp_path / "journal.db"
    monkeypatch.setenv("TAGGING_JOURNAL", str(journal))
    yield journal


def open_app(provider: str = "atlas", timeout: float = 60) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    if provider != "atlas":
        at.sidebar.selectbox(key="provider").set_value(provider).run()
    assert not at.exception, at.exception
    return at


def grid_key(at: AppTest) -> str:
    return str(at.session_state["tag_grid_key"])


def select_rows(at: AppTest, rows: list[int]) -> AppTest:
    """Tick grid rows as a user would: the grid reports positions of the shown frame."""
    at.session_state[grid_key(at)] = {"selection": {"rows": rows, "columns": []}}
    return at.run()


def add_filter(at: AppTest, column: str, op: str, value: object = None) -> AppTest:
    at.selectbox(key="flt_column").set_value(column).run()
    at.selectbox(key="flt_op").set_value(op).run()
    if op == "in":
        at.multiselect(key="flt_values").set_value(list(value)).run()  # type: ignore[call-overload]
    elif op == "between":
        low, high = value  # type: ignore[misc]
        at.text_input(key="flt_low").set_value(low)
        at.text_input(key="flt_high").set_value(high).run()
    elif value is not None:
        at.text_input(key="flt_value").set_value(str(value)).run()
    return at.button(key="flt_add").click().run()


def selected(at: AppTest) -> set[str]:
    """The selected row keys (the session holds a mask over the dataset's rows)."""
    sel = at.session_state["selection"] if "selection" in at.session_state else None
    return set(sel.ids()) if sel is not None else set()


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label -> value; later metrics with the same label win (the result block)."""
    return {m.label: m.value for m in at.metric}


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def click_push(at: AppTest, key: str = "tag_push", timeout: float = 60) -> AppTest:
    """Click a push button and wait for the push: it runs in a thread (ui/push_panel.py), so
    the run that follows the click may still show its progress."""
    at.button(key=key).click().run()
    try:
        run = at.session_state["_push_run"]
    except KeyError:  # ended (and taken) within the click's run, or refused
        return at
    run.thread.join(timeout)
    return at.run()
