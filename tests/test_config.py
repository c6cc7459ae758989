"""Connections: resolution order, one-line errors naming the variable, keys kept hidden."""

from __future__ import annotations

import httpx
import pytest
from conftest import KEYS, PROVIDER_VARS, Sandbox, free_port

from tagging.config import connect
from tagging.errors import ApiError, AuthError, ConfigError
from tagging.retry import RetryPolicy

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_means_the_local_sandbox_with_its_default_keys() -> None:
    for provider in ("atlas", "nekt", "immuta"):
        conn = connect(provider)
        assert conn.base_url == f"http://127.0.0.1:8765/{provider}"
        assert conn.is_sandbox
        assert str(conn.client.base_url).rstrip("/") == conn.base_url


def test_sandbox_url_comes_from_tagging_sandbox_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGGING_SANDBOX_URL", "http://127.0.0.1:9999/")
    assert connect("nekt").base_url == "http://127.0.0.1:9999/nekt"


def test_auth_headers_are_the_documented_ones() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json=[])

    transport = httpx.MockTransport(handler)
    connect("atlas", key=SECRET, transport=transport).client.get("/x")
    assert seen["authorization"] == f"Bearer {SECRET}"
    seen.clear()
    connect("nekt", key=SECRET, transport=transport).client.get("/x")
    assert seen["x-api-key"] == SECRET
    seen.clear()
    connect("immuta", url="https://immuta.example.com", key=SECRET, transport=transport).client.get(
        "/x"
    )
    assert seen["authorization"] == SECRET


def test_key_without_url_uses_the_public_default_for_atlas_and_nekt() -> None:
    assert connect("atlas", key=SECRET).base_url == "https://api-atlas.nomic.ai"
    conn = connect("nekt", key=SECRET)
    assert conn.base_url == "https://api.nekt.ai"
    assert not conn.is_sandbox


def test_immuta_key_without_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMUTA_API_KEY", SECRET)
    with pytest.raises(ConfigError) as err:
        connect("immuta")
    assert str(err.value) == (
        "IMMUTA_API_URL is not set: set it to your Immuta URL, "
        "or unset IMMUTA_API_KEY to use the sandbox"
    )


def test_live_url_without_key_names_the_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_API_URL", "https://api-atlas.nomic.ai")
    with pytest.raises(ConfigError, match="^NOMIC_API_KEY is not set: "):
        connect("atlas")


@pytest.mark.parametrize(
    "url", ["api.nekt.ai", "ftp://api.nekt.ai", "http://", "https://user:pw@api.nekt.ai"]
)
def test_malformed_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        connect("nekt", url=url, key=SECRET)
    message = str(err.value)
    assert message.startswith("NEKT_API_URL")
    assert "\n" not in message
    assert "pw" not in message


def test_explicit_beats_secrets_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEKT_API_URL", "https://env.example.com")
    monkeypatch.setenv("NEKT_API_KEY", "env-key")
    secrets = {"NEKT_API_URL": "https://secrets.example.com", "NEKT_API_KEY": "secret-key"}
    assert connect("nekt").base_url == "https://env.example.com"
    assert connect("nekt", secrets=secrets).base_url == "https://secrets.example.com"
    conn = connect("nekt", url="https://arg.example.com", secrets=secrets)
    assert conn.base_url == "https://arg.example.com"
    assert conn.client.headers["x-api-key"] == "secret-key"


def test_secrets_may_use_a_section_per_provider() -> None:
    secrets = {"immuta": {"url": "https://immuta.example.com", "key": SECRET}}
    conn = connect("immuta", secrets=secrets)
    assert conn.base_url == "https://immuta.example.com"
    assert conn.client.headers["authorization"] == SECRET


def test_key_never_shows_in_repr_or_str() -> None:
    conn = connect("atlas", key=SECRET)
    assert SECRET not in repr(conn)
    assert SECRET not in str(conn)
    assert repr(conn) == "Connection(provider='atlas', base_url='https://api-atlas.nomic.ai', live)"


def test_key_with_a_line_break_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        connect("nekt", key="abc\ndef")
    assert "abc" not in str(err.value)
    assert str(err.value).startswith("NEKT_API_KEY contains")


def test_curl_env_var_names_the_key_variable() -> None:
    assert connect("atlas").curl_env_var == "$NOMIC_API_KEY"
    assert connect("nekt").curl_env_var == "$NEKT_API_KEY"
    assert connect("immuta").curl_env_var == "$IMMUTA_API_KEY"


def test_unknown_provider() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'jira'"):
        connect("jira")


# --- check(): "Test connection" against the real sandbox ----------------------------------


def test_check_lists_tags_from_the_sandbox(sandbox: Sandbox) -> None:
    conn = connect("immuta", url=sandbox.api("immuta"), key=KEYS["immuta"])
    assert "Discovered.Passport" in conn.check()
    assert connect("nekt", url=sandbox.api("nekt"), key=KEYS["nekt"]).check() == []


def test_check_maps_a_rejected_key_to_auth_error(sandbox: Sandbox) -> None:
    for provider in ("atlas", "nekt", "immuta"):
        target = {"projection_id": "52fcac24-9ab0-4545-8065-0d2fe8350d09"}
        conn = connect(provider, url=sandbox.api(provider), key=SECRET)
        with pytest.raises(AuthError) as err:
            conn.check(target)
        assert SECRET not in str(err.value)
        assert "rejected the key (HTTP 401)" in str(err.value)


def test_check_maps_an_unreachable_host_to_one_config_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/nekt"
    with pytest.raises(ConfigError) as err:
        connect("nekt", url=url, key=SECRET).check()
    assert str(err.value) == f"cannot reach {url}: check NEKT_API_URL and your network"


def test_check_of_unreachable_sandbox_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAGGING_SANDBOX_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConfigError, match="start the sandbox with `python -m tagging sandbox`"):
        connect("immuta").check()


def test_check_maps_other_errors_to_api_error() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500, text="<html>oops</html>")

    no_wait = RetryPolicy(base_delay=0.0)
    conn = connect(
        "immuta",
        url="https://immuta.example.com",
        key=SECRET,
        transport=httpx.MockTransport(answer),
        retry=no_wait,
    )
    with pytest.raises(ApiError) as err:
        conn.check()
    assert err.value.status == 500
    assert len(sent) == no_wait.max_attempts  # reads go through the retry policy too
    assert str(err.value) == (
        "immuta API answered HTTP 500: gave up after 8 attempts: HTTP 500 <html>oops</html>. "
        "try again"
    )


def test_live_atlas_check_needs_a_projection() -> None:
    with pytest.raises(ConfigError, match="projection_id"):
        connect("atlas", key=SECRET).check()


def test_configured_reads_secrets_sections_like_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    from tagging.config import configured

    assert configured("immuta") == ("", False)
    secrets = {"immuta": {"url": "https://immuta.example.com", "key": SECRET}}
    assert configured("immuta", secrets) == ("https://immuta.example.com", True)
    monkeypatch.setenv("NEKT_API_URL", "https://nekt.example.com")
    assert configured("nekt") == ("https://nekt.example.com", False)
