"""Sign-in (st.login, OIDC) where `[auth]` is configured, nothing where it is not, and who a
job is recorded as: $TAGGING_USER, else the signed-in email, else the OS user. AppTest cannot
run an OIDC flow: it seeds `st.user` (`at.user`) in the shapes Streamlit's docs give."""

from __future__ import annotations

import getpass

import pytest
from app_harness import APP, app_env, click_push, open_app, select_rows  # noqa: F401
from streamlit.testing.v1 import AppTest

from tagging import Journal
from tagging.journal import actor_of
from ui.auth import login_providers, signed_in_email

pytestmark = pytest.mark.usefixtures("app_env")
DEFAULT = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a long random string",
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
}
PROVIDER = {k: DEFAULT[k] for k in ("client_id", "client_secret", "server_metadata_url")}
SHARED = {k: DEFAULT[k] for k in ("redirect_uri", "cookie_secret")}


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (None, []),
        ({}, []),
        ({k: v for k, v in DEFAULT.items() if k != "cookie_secret"}, []),  # Streamlit refuses
        ({**SHARED, "client_id": "id"}, []),  # an incomplete default provider
        (DEFAULT, [None]),
        ({**DEFAULT, "client_kwargs": {"prompt": "login"}}, [None]),
        ({**SHARED, "google": PROVIDER, "okta": PROVIDER}, ["google", "okta"]),
        ({**SHARED, "my_idp": PROVIDER, "half": {"client_id": "x"}}, []),  # "_" is refused
    ],
)
def test_sign_in_is_offered_only_for_what_st_login_accepts(auth, expected) -> None:  # type: ignore[no-untyped-def]
    assert login_providers(auth) == expected


@pytest.mark.parametrize(
    ("user", "email"),
    [
        ({}, None),  # a local app without [auth]: st.user is empty
        ({"email": "test@example.com"}, None),  # no is_logged_in: not a sign-in
        ({"is_logged_in": False}, None),  # [auth] configured, nobody signed in
        ({"is_logged_in": True, "email": " ana@example.org "}, "ana@example.org"),
        ({"is_logged_in": True, "name": "Ana"}, None),  # the provider gave no email
    ],
)
def test_the_signed_in_email_from_st_user(user, email, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert signed_in_email(user) == email
    monkeypatch.delenv("TAGGING_USER", raising=False)
    assert actor_of(signed_in_email(user)) == (email or getpass.getuser())
    monkeypatch.setenv("TAGGING_USER", "ci-bot")
    assert actor_of(signed_in_email(user)) == "ci-bot"  # the variable wins over a sign-in


def _buttons(at: AppTest) -> list[str]:
    return [str(b.key) for b in at.sidebar.button if str(b.key).startswith("auth_")]


def _push_one(at: AppTest) -> None:
    at.switch_page("app_pages/tag.py").run()
    select_rows(at, [0])
    at.text_input(key="tag_new").set_value("gold").run()
    click_push(at)
    assert not at.exception, at.exception


def test_without_auth_nothing_shows_and_jobs_are_the_os_users(app_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.delenv("TAGGING_USER", raising=False)
    at = open_app("atlas")  # AppTest's default st.user: an email, no is_logged_in
    assert _buttons(at) == []
    assert not [c for c in at.sidebar.caption if "Signed in" in c.value]
    _push_one(at)
    with Journal(app_env) as journal:
        assert [j["actor"] for j in journal.jobs()] == [getpass.getuser()]


def test_with_auth_a_sign_in_button_then_the_email_records_the_jobs(app_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.delenv("TAGGING_USER", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {**SHARED, "google": PROVIDER}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, at.exception
    assert _buttons(at) == ["auth_sign_in_google"]
    assert at.sidebar.button(key="auth_sign_in_google").label == "Sign in with google"

    at.user = {"is_logged_in": True, "email": "ana@example.org", "name": "Ana"}
    at.run()
    assert _buttons(at) == ["auth_sign_out"]
    assert any("ana@example.org" in c.value for c in at.sidebar.caption)
    _push_one(at)
    with Journal(app_env) as journal:
        assert [j["actor"] for j in journal.jobs()] == ["ana@example.org"]

    at.sidebar.button(key="auth_sign_out").click().run()  # st.logout clears st.user
    assert at.user == {"is_logged_in": False}
    at.run()  # a browser is sent to the sign-out page, then back to a new session
    assert _buttons(at) == ["auth_sign_in_google"]
