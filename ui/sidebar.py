"""The sidebar every page shares: provider, connection mode and a connection test.

The embedded sandbox is the default, started once per server process; live mode takes its
base URL and key from the environment, st.secrets or a password field kept only in session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from tagging import Connection, connect, providers
from tagging.config import configured
from tagging.demo import SANDBOX_KEYS
from tagging.errors import TaggingError
from tagging.sandbox.launcher import ensure_running
from ui import session
from ui.auth import render_sign_in
from ui.datasets import ensure_demo_loaded
from ui.target_form import current_target

SANDBOX_DB = ".tagging/sandbox.db"
CONN_KEY = "_connection"
CHECK_KEY = "_connection_check"


@st.cache_resource(show_spinner="Starting the local sandbox…")
def _start_sandbox(url: str) -> str:
    """Start (or find) the sandbox once per server process; returns its URL."""
    ensure_running(url, SANDBOX_DB)
    return url


def _secrets() -> Mapping[str, Any] | None:
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None


def connection() -> Connection:
    """The connection the sidebar describes, rebuilt only when its settings change.

    Raises TaggingError (one line) when a setting is missing or wrong.
    """
    prov = session.provider()
    if session.is_live():
        url = st.session_state.get(f"live_url_{prov}") or None
        key = st.session_state.get(f"live_key_{prov}") or None
        settings: tuple[Any, ...] = ("live", prov, url, hash(key))
    else:
        url, key = f"{session.sandbox_url()}/{prov}", None
        settings = ("sandbox", prov, url)
    cached = st.session_state.get(CONN_KEY)
    if cached is not None and cached[0] == settings:
        return cached[1]
    if session.is_live():  # never the sandbox: a missing URL or key says what to set
        conn = connect(prov, url=url, key=key, secrets=_secrets(), live=True)
    else:
        conn = connect(prov, url=url, key=SANDBOX_KEYS[prov])
    st.session_state[CONN_KEY] = (settings, conn)
    return conn


def _live_defaults(provider: str) -> tuple[str, bool]:
    """The live base URL from env/secrets, and whether a key is configured there."""
    return configured(provider, _secrets())


def _connection_form(provider: str) -> None:
    if session.is_live():
        url, has_key = _live_defaults(provider)
        # The URL typed into the form (this run's value, set before the form is drawn) wins
        # over the configured one, as it does for the connection.
        typed = str(st.session_state.get(f"live_url_{provider}") or "").strip()
        st.badge(
            f"live API · {_host(typed or url) or 'no URL set'}",
            icon=":material/cloud:",
            color="orange",
        )
        st.text_input("Base URL", value=url, key=f"live_url_{provider}", persist_state="session")
        st.text_input(
            "API key",
            type="password",
            key=f"live_key_{provider}",
            persist_state="session",
            placeholder=f"from {providers.get(provider).key_env}" if has_key else "paste a key",
            help="Kept only in this browser session; never written to disk or the journal.",
        )
    else:
        try:
            _start_sandbox(session.sandbox_url())
        except RuntimeError as exc:  # the launcher could not start it
            st.error(" ".join(str(exc).split()))
        st.badge(
            f"sandbox · {_host(session.sandbox_url())}", icon=":material/science:", color="violet"
        )
        st.caption(
            f"Local emulation at `{session.sandbox_url()}/{provider}`. A sandbox the app "
            "started keeps running after the app stops (its state stays in `.tagging/`): "
            "stop it with `kill $(cat .tagging/sandbox.pid)`."
        )


def _host(url: str) -> str:
    """The host a badge names (the URL as typed when it does not parse)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        return url
    return f"{parsed.host}:{parsed.port}" if parsed.port else (parsed.host or url)


def _test_connection() -> None:
    try:
        conn = connection()
        tags = conn.check(current_target(session.workset(), conn.provider))
    except TaggingError as exc:
        st.session_state[CHECK_KEY] = ("error", str(exc))
        return
    shown = ", ".join(tags[:8]) + (" …" if len(tags) > 8 else "")
    text = f"Connected to {conn.where}: {len(tags)} tags. {shown}".strip()
    st.session_state[CHECK_KEY] = ("ok", text)


def render_sidebar() -> None:
    """Draw the shared sidebar and make sure a dataset is loaded."""
    with st.sidebar:
        secrets = _secrets()
        render_sign_in(secrets.get("auth") if secrets else None)  # only where [auth] is set
        st.selectbox(
            "Provider",
            session.provider_names(),
            format_func=session.label,
            key=session.PROVIDER_KEY,
            # st.switch_page (Coverage -> Tag) sends no widget states: keep these across it.
            persist_state="session",
            on_change=st.session_state.pop,
            args=(CHECK_KEY, None),
        )
        st.radio(
            "Connection",
            ["sandbox", "live"],
            format_func={"sandbox": "Embedded sandbox", "live": "Live API"}.__getitem__,
            key=session.MODE_KEY,
            persist_state="session",
            horizontal=True,
            on_change=st.session_state.pop,
            args=(CHECK_KEY, None),
        )
        provider = session.provider()
        _connection_form(provider)
        st.button("Test connection", key="test_connection", on_click=_test_connection)
        check = st.session_state.get(CHECK_KEY)
        if check:
            (st.success if check[0] == "ok" else st.error)(check[1])
    ensure_demo_loaded(provider)
