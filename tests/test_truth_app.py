"""Provider truth in the app (issue 13): the issue's scenarios driven through the Tag and
History pages (AppTest) against a real sandbox, each ending with the exact `/_sandbox/state`.
"""

from __future__ import annotations

import os

import httpx
import pandas as pd
import pytest
from app_harness import app_env, click_push, errors, metrics, open_app, select_rows  # noqa: F401
from conftest import KEYS, Sandbox
from streamlit.testing.v1 import AppTest

import tagging
from tagging.demo import ATLAS_PROJECTION_ID
from tagging.journal import Journal
from ui.session import Workset

pytestmark = pytest.mark.usefixtures("app_env")
P = ATLAS_PROJECTION_ID


def tag_page(provider: str = "atlas") -> AppTest:
    at = open_app(provider)
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def tag_rows(at: AppTest, rows: list[int], tag: str) -> dict[str, str]:
    """Select rows, type a tag, and return the preview's metrics."""
    select_rows(at, rows)
    at.text_input(key="tag_new").set_value(tag).run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return metrics(at)


def push(at: AppTest) -> tagging.PushResult:
    click_push(at)  # the push runs in a thread: wait for it
    assert not at.exception and not errors(at), (at.exception, errors(at))
    result: tagging.PushResult = at.session_state["tag_result"]
    return result


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def undo_from_history(at: AppTest, job_id: str, anyway: bool = False) -> AppTest:
    at.switch_page("app_pages/history.py").run()
    at.selectbox(key="hist_job").set_value(job_id).run()
    if anyway:
        at.checkbox(key="hist_undo_confirm").check().run()
    else:
        assert not at.warning  # the prior state was known: no confirmation to give
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_yes").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def tagged(sandbox: Sandbox, tag: str) -> list[str]:
    return sorted(sandbox.state()["atlas"].get(P, {}).get(tag, []), key=int)


def test_keep_me_survives_the_undo_of_a_wider_push(sandbox: Sandbox) -> None:
    at = tag_page()
    assert tag_rows(at, list(range(10, 15)), "keep me")["To send"] == "5"
    push(at)
    m = tag_rows(at, list(range(10, 20)), "keep me")
    assert (m["Rows selected"], m["Already tagged"], m["To send"]) == ("10", "5", "5")
    second = push(at)
    assert second.applied == 5
    assert any("Verified: 5 ids read back as expected" in c for c in captions(at))
    assert tagged(sandbox, "keep me") == [str(i) for i in range(10, 20)]
    undo_from_history(at, str(second.job_id))
    assert tagged(sandbox, "keep me") == [str(i) for i in range(10, 15)]
    assert any("Verified: 5 ids read back as expected" in c for c in captions(at))


def test_a_tag_set_outside_survives_the_undo(sandbox: Sandbox) -> None:
    body = {"projection_id": P, "tag_name": "outside", "ids": ["1", "2"], "operation": "add"}
    headers = {"Authorization": f"Bearer {KEYS['atlas']}"}
    url = f"{sandbox.api('atlas')}/v1/query/update/tag/ids"
    httpx.post(url, json=body, headers=headers, timeout=30).raise_for_status()
    at = tag_page()
    m = tag_rows(at, [1, 2, 3, 4], "outside")
    assert (m["Already tagged"], m["To send"]) == ("2", "2")  # read back from the map
    done = push(at)
    assert tagged(sandbox, "outside") == ["1", "2", "3", "4"]
    undo_from_history(at, str(done.job_id))
    assert tagged(sandbox, "outside") == ["1", "2"]


def test_already_tagged_counts_only_ids_the_map_holds(sandbox: Sandbox) -> None:
    at = tag_page()
    frame = pd.DataFrame({"id": [str(i) for i in range(9998, 10004)], "title": "t"})
    at.session_state["workset"] = Workset("beyond.csv", frame, "id", target={"projection_id": P})
    at.run()
    at.button(key="tag_select_all").click().run()
    at.text_input(key="tag_new").set_value("big").run()
    assert metrics(at)["Already tagged"] == "0"
    done = push(at)
    assert (done.applied, done.not_found_ids) == (2, ["10000", "10001", "10002", "10003"])
    m = metrics(at)
    assert (m["Rows selected"], m["Already tagged"]) == ("6", "2")  # never 10000..10003
    assert tagged(sandbox, "big") == ["9998", "9999"]


def test_history_asks_before_an_undo_of_partly_unknown_prior_state(sandbox: Sandbox) -> None:
    """Nekt cannot be read back: the journal knows `a` (an earlier job tagged it), not `b`."""
    a, b = (s["id"] for s in sandbox.world()["nekt"]["sources"][:2])
    conn = tagging.connect("nekt")
    journal = Journal(os.environ["TAGGING_JOURNAL"])

    def job(ids: list[str]) -> str:
        op = tagging.TagOperation("nekt", "add", ("keep me",), ids, kinds="sources")
        return str(
            tagging.push(tagging.prepare(op, conn, journal=journal), conn, journal=journal).job_id
        )

    job([a])
    second = job([a, b])
    at = open_app("nekt")
    at.switch_page("app_pages/history.py").run()
    at.selectbox(key="hist_job").set_value(second).run()
    (warning,) = [w.value for w in at.warning]
    assert "1 items' prior state is unknown" in warning
    assert at.button(key="hist_undo").disabled  # nothing can be sent without "Undo anyway"
    at.checkbox(key="hist_undo_confirm").check().run()
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_no").click().run()  # cancelled: still nothing sent
    assert all("keep me" in sandbox.state()["nekt"][i] for i in (a, b))
    assert len(journal.jobs()) == 2
    at.button(key="hist_undo").click().run()
    at.button(key="hist_undo_yes").click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    state = sandbox.state()["nekt"]
    assert "keep me" in state[a] and "keep me" not in state.get(b, [])
    assert any("Not verified" in c and "prior state from the journal" in c for c in captions(at))


def badges(at: AppTest) -> list[str]:
    return [m.value for m in at.sidebar.markdown if "badge[" in m.value]


def test_the_live_badge_names_the_host_typed_into_the_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IMMUTA_API_URL", raising=False)
    at = open_app("immuta")
    at.sidebar.radio(key="mode").set_value("live").run()
    assert any("live API · no URL set" in b for b in badges(at))
    at.sidebar.text_input(key="live_url_immuta").set_value("https://immuta.example.com:8443/")
    at.run()
    assert any("live API · immuta.example.com:8443" in b for b in badges(at))
    at.sidebar.text_input(key="live_url_immuta").set_value("https://other.example.org").run()
    (badge,) = badges(at)
    assert "live API · other.example.org" in badge and "8443" not in badge
