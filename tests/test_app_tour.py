"""The Tour's "Flaky API" in AppTest: with the sandbox failing a third of the requests, the
demo's push goes in small batches, so the retries show in the sidebar, and the state the
sandbox holds afterwards is exactly the selected ids."""

from __future__ import annotations

import pytest
from app_harness import add_filter, app_env, click_push, errors, metrics, open_app  # noqa: F401
from conftest import Sandbox

from tagging import Journal
from tagging.demo import ATLAS_PROJECTION_ID, atlas_frame
from tagging.sandbox.launcher import faults
from ui.tour import FLAKY_BATCH

pytestmark = pytest.mark.usefixtures("app_env")


def test_a_flaky_demo_push_reports_retries_and_ends_exact(sandbox: Sandbox, app_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    frame = atlas_frame()
    wanted = frame.loc[frame["field"] == "cs.LG", "id"]
    at = open_app("atlas")
    at.sidebar.toggle(key="tour_on").set_value(True).run()
    at.sidebar.toggle(key="tour_flaky").set_value(True).run()
    assert faults(sandbox.url)["fail_rate"] > 0
    at.switch_page("app_pages/tag.py").run()
    assert at.number_input(key="tag_chunk").value == FLAKY_BATCH
    add_filter(at, "field", "equals", "cs.LG")
    at.button(key="tag_select_all").click().run()
    at.text_input(key="tag_new").set_value("Needs review").run()
    batches = -(-len(wanted) // FLAKY_BATCH)
    assert metrics(at)["Batches"] == str(batches)
    click_push(at, timeout=120)
    assert not at.exception and not errors(at), (at.exception, errors(at))

    shown = {m.label: m.value for m in at.sidebar.metric}
    assert shown["Applied"] == f"{len(wanted):,}"
    retries = int(shown["Retries"].replace(",", ""))
    assert retries > 0
    state = sandbox.state()["atlas"][ATLAS_PROJECTION_ID]["Needs review"]
    assert sorted(state) == sorted(wanted)  # every id once, despite the faults
    with Journal(app_env) as journal:
        [job] = journal.jobs()
        sent = sum(b["attempts"] for b in journal.batches(job["id"]))
    assert (job["counts"]["applied"], job["counts"]["failed"]) == (len(wanted), 0)
    assert sent - batches == retries  # the sidebar counts the journal's extra requests

    at.sidebar.toggle(key="tour_flaky").set_value(False).run()
    assert faults(sandbox.url)["fail_rate"] == 0
    assert at.number_input(key="tag_chunk").value == 0  # the provider's batches again
