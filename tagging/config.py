"""Connections: a base URL, a key and one configured httpx.Client per provider.

Resolution order: explicit arguments > a secrets mapping (st.secrets, passed in) > environment
> the local sandbox with its default keys. A key never appears in repr, errors or URLs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import httpx

from tagging import providers
from tagging.bounded import DEADLINE_ENV, BoundedTransport, deadline_from_env, max_answer_bytes
from tagging.demo import SANDBOX_KEYS
from tagging.errors import ApiError, ConfigError
from tagging.pool import ConnectionStack
from tagging.retry import RetryPolicy, send
from tagging.values import ApiRequest

SANDBOX_URL_ENV = "TAGGING_SANDBOX_URL"
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True, repr=False)
class Connection:
    """Where and how to reach one provider. `client` carries the auth header and timeouts."""

    provider: str
    base_url: str
    is_sandbox: bool
    client: httpx.Client = field(compare=False)
    _key: str = field(compare=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy, compare=False)

    def __repr__(self) -> str:
        where = "sandbox" if self.is_sandbox else "live"
        return f"Connection(provider={self.provider!r}, base_url={self.base_url!r}, {where})"

    __str__ = __repr__

    @property
    def curl_env_var(self) -> str:
        """The placeholder "copy as curl" shows instead of the key, e.g. `$NOMIC_API_KEY`."""
        return f"${providers.get(self.provider).key_env}"

    @property
    def host(self) -> str:
        """Where requests go, for badges and confirmations ("api-atlas.nomic.ai")."""
        url = httpx.URL(self.base_url)
        return f"{url.host}:{url.port}" if url.port else url.host

    @property
    def where(self) -> str:
        """The mode and host every confirmation names: "live api-atlas.nomic.ai"."""
        return f"{'sandbox' if self.is_sandbox else 'live'} {self.host}"

    def fetch(self, request: ApiRequest, policy: RetryPolicy | None = None) -> httpx.Response:
        """Send one read under the retry policy (5xx, timeouts, dropped connections, 429 with
        Retry-After) and return its final answer. An unreachable host or an API that stays
        down raises ConfigError / ApiError; the caller reads the answer (auth errors too)."""
        sent = send(self.client, request, policy or self.retry)
        if sent.refused:
            raise ConfigError(f"{self.base_url}: {sent.refused}: check {self._url_env}")
        if sent.timed_out:
            raise ConfigError(
                f"{self.base_url} is slow: no complete answer in time ({sent.gave_up}); "
                f"try again later, or give it longer with {DEADLINE_ENV}"
            )
        if sent.response is None:
            raise ConfigError(f"cannot reach {self.base_url}: {self._reach_hint()}")
        if sent.gave_up:
            raise ApiError(self.provider, sent.response.status_code, sent.gave_up, "try again")
        return sent.response

    def check(self, target: Mapping[str, str] | None = None) -> list[str]:
        """List the provider's tags ("Test connection"); some providers need a target.

        Raises AuthError (key rejected), ConfigError (host unreachable), ApiError (other).
        """
        api = providers.get(self.provider)
        first_contact = replace(self.retry, refused_is_final=True)  # nothing listens: say so
        try:
            return api.list_tags(partial(self.fetch, policy=first_contact), dict(target or {}))
        except (ValueError, TypeError, KeyError, AttributeError):  # not JSON, or another shape
            raise ConfigError(
                f"{self.base_url} answered with something that is not a tag list: "
                f"check that {api.url_env} points at the {api.label} API"
            ) from None

    tags = check

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _url_env(self) -> str:
        return SANDBOX_URL_ENV if self.is_sandbox else providers.get(self.provider).url_env

    def _reach_hint(self) -> str:
        if self.is_sandbox:
            return "start the sandbox with `python -m tagging sandbox`"
        return f"check {providers.get(self.provider).url_env} and your network"


def connect(
    provider: str,
    *,
    url: str | None = None,
    key: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    live: bool = False,
    max_answer: int | None = None,
) -> Connection:
    """A Connection from arguments, secrets, environment, or the local sandbox.

    The sandbox only when nothing at all is configured and `live` is False (the default a new
    user lands in). With `live=True` a missing URL or key is a ConfigError naming what to set:
    a live connection never falls back to the sandbox.

    timeout:    the overall deadline of one request, in seconds (headers and whole body);
                $TAGGING_DEADLINE_S overrides it.
    max_answer: the most bytes of one answer read ($TAGGING_MAX_ANSWER_MB, else 64 MB).
    """
    api = providers.get(provider)
    url = _first(url, _secret(secrets, provider, api.url_env, "url"), os.environ.get(api.url_env))
    key = _first(key, _secret(secrets, provider, api.key_env, "key"), os.environ.get(api.key_env))
    sandbox_base = _clean_url(
        os.environ.get(SANDBOX_URL_ENV) or DEFAULT_SANDBOX_URL, SANDBOX_URL_ENV
    )
    label = api.label
    if live:
        _require_live(api, url, key)
    if url is None and key is None:
        if provider not in SANDBOX_KEYS:
            raise ConfigError(f"the sandbox has no {label}: set {api.url_env} and {api.key_env}")
        url, key = f"{sandbox_base}/{provider}", SANDBOX_KEYS[provider]
    elif url is None:
        if api.default_url is None:
            raise ConfigError(
                f"{api.url_env} is not set: set it to your {label} URL, "
                f"or unset {api.key_env} to use the sandbox"
            )
        url = api.default_url
    url = _clean_url(url, api.url_env)
    is_sandbox = url == sandbox_base or url.startswith(sandbox_base + "/")
    if key is None:
        if not is_sandbox:
            raise ConfigError(
                f"{api.key_env} is not set: set it to your {label} API key, "
                f"or unset {api.url_env} to use the sandbox"
            )
        key = SANDBOX_KEYS.get(provider, "")
    key = _clean_key(key, api.key_env)
    deadline = deadline_from_env(timeout)
    bounded = BoundedTransport(
        transport or ConnectionStack(max_connections=64),
        deadline=deadline,
        max_bytes=max_answer_bytes() if max_answer is None else max_answer,
    )
    client = httpx.Client(
        base_url=url,
        headers={**api.auth_headers(key), "Accept": "application/json"},
        timeout=httpx.Timeout(deadline, connect=min(deadline, 10.0)),
        transport=bounded,
    )
    return Connection(provider, url, is_sandbox, client, key, retry or RetryPolicy())


def _require_live(api: providers.Provider, url: str | None, key: str | None) -> None:
    """Say which setting a live connection lacks; nothing is sent."""
    if url is None and api.default_url is None:
        raise ConfigError(
            f"the live {api.label} API needs a base URL: set {api.url_env} "
            "or fill in the Base URL field"
        )
    if key is None:
        raise ConfigError(
            f"the live {api.label} API needs a key: set {api.key_env} or fill in the API key field"
        )


def configured(provider: str, secrets: Mapping[str, Any] | None = None) -> tuple[str, bool]:
    """The live base URL set in secrets or env (or ""), and whether a key is set there too.

    Reads the same places, in the same order, as `connect` (for forms to pre-fill).
    """
    api = providers.get(provider)
    url = _first(_secret(secrets, provider, api.url_env, "url"), os.environ.get(api.url_env))
    key = _first(_secret(secrets, provider, api.key_env, "key"), os.environ.get(api.key_env))
    return str(url or ""), key is not None


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None and str(value).strip():
            return str(value)
    return None


def _secret(secrets: Mapping[str, Any] | None, provider: str, name: str, short: str) -> Any:
    """`secrets["NOMIC_API_KEY"]`, or a section named after the provider: `secrets[p]["key"]`."""
    if not secrets:
        return None
    if name in secrets:
        return secrets[name]
    section = secrets[provider] if provider in secrets else None
    if isinstance(section, Mapping):
        return section.get(short) or section.get(f"api_{short}")
    return None


# What a base URL may hold: the characters of http(s)://host[:port][/path] that no POSIX
# shell treats specially, so a URL printed in "copy as curl" can never run anything.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/%\[\]@?#=+,]*")


def _clean_url(url: str, variable: str) -> str:
    url = url.strip().rstrip("/")
    if not _URL_CHARS.fullmatch(url):
        odd = "".join(dict.fromkeys(ch for ch in url if not _URL_CHARS.fullmatch(ch)))
        raise ConfigError(
            f"{variable} has characters a shell would run or split ({ascii(odd[:12])}): "
            "use http(s)://host[:port][/path], with non-ASCII hosts in their xn-- form"
        )
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        shown = "" if "@" in url else f" {url!r}"
        raise ConfigError(f"{variable}{shown} is not a valid URL: use http(s)://host[:port][/path]")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise ConfigError(
            f"{variable} must not carry credentials, a query or a fragment: "
            "give only http(s)://host[:port][/path]"
        )
    return url


def _clean_key(key: str, variable: str) -> str:
    key = key.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ConfigError(f"{variable} contains spaces or line breaks: paste the key alone")
    if not key.isascii():  # HTTP headers are ASCII: such a key cannot be sent at all
        raise ConfigError(
            f"{variable} contains non-ASCII characters (e.g. a typographic dash or quote): "
            "paste the key exactly as the provider shows it"
        )
    return key
