"""Sign-in through Streamlit's OIDC (`st.login`) where a deployment configures it in the
`[auth]` section of `.streamlit/secrets.toml`; without that section the app shows nothing of
it. The signed-in user's email is who the journal records as running a job (after
$TAGGING_USER, before the OS user: `tagging.journal.actor_of`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import streamlit as st

SHARED = ("redirect_uri", "cookie_secret")  # every provider needs these in [auth]
PROVIDER = ("client_id", "client_secret", "server_metadata_url")  # in [auth] or [auth.NAME]


def login_providers(auth: Mapping[str, Any] | None) -> list[str | None]:
    """What `st.login` can be called with, as Streamlit checks the `[auth]` section: None
    for the provider set in `[auth]` itself, a name for each complete `[auth.NAME]`
    (Streamlit refuses names with "_"); empty when sign-in is not configured."""
    if not auth or any(key not in auth for key in SHARED):
        return []
    found: list[str | None] = [None] if all(key in auth for key in PROVIDER) else []
    for name, section in auth.items():
        if isinstance(section, Mapping) and "_" not in name:
            if all(key in section for key in PROVIDER):
                found.append(str(name))
    return found


def signed_in_email(user: Mapping[str, Any]) -> str | None:
    """The email in `st.user`'s fields when someone signed in through `st.login`. A local app
    without `[auth]` has no `is_logged_in` at all (AppTest's default user is an email without
    it); a signed-out user has `is_logged_in: False`."""
    if user.get("is_logged_in") is not True:
        return None
    email = str(user.get("email") or "").strip()
    return email or None


def current_email() -> str | None:
    """The signed-in user's email in this session, else None."""
    try:
        return signed_in_email(st.user.to_dict())
    except (AttributeError, KeyError, RuntimeError):  # no session (a bare script)
        return None


def render_sign_in(auth: Mapping[str, Any] | None) -> None:
    """Sign in (one button per configured provider) or, once signed in, the email and Sign
    out; nothing when `[auth]` is not configured."""
    names = login_providers(auth)
    if not names:
        return
    email = current_email()
    if email is not None:
        st.caption(f"Signed in as **{email}**; your jobs are recorded under this name.")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            st.logout()
        return
    if importlib.util.find_spec("authlib") is None:  # st.login would fail on the click
        st.warning("Sign-in is configured but needs Authlib: `pip install Authlib`.")
        return
    for name in names:
        label = "Sign in" if name is None else f"Sign in with {name}"
        if st.button(label, key=f"auth_sign_in_{name or 'default'}", icon=":material/login:"):
            st.login(name)
