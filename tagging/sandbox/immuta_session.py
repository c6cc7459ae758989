"""Immuta sign-in: the API-key exchange clients such as fh-immuta-utils use, and the user.

`POST /bim/apikey/authenticate {"apikey": KEY}` answers `{"token": TOKEN}`; every other route
then accepts `Authorization: Bearer TOKEN` as well as the key itself. Tokens live in the
process (the most recent `MAX_TOKENS`), so a restarted sandbox asks clients to sign in again,
which they do on the 401.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

from tagging.sandbox.immuta_tags import ImmutaError
from tagging.sandbox.store import IMMUTA_USER_ID

MAX_TOKENS = 1024


class Tokens:
    def __init__(self, key: str) -> None:
        self._key = key
        self._issued: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def exchange(self, payload: Any) -> dict[str, str]:
        """The body of `POST /bim/apikey/authenticate`."""
        # A missing key is an authentication failure like a wrong one: 401, never a token.
        given = payload.get("apikey") if isinstance(payload, dict) else None
        if not isinstance(given, str) or not given:
            raise ImmutaError(401, "Missing API key")
        if not secrets.compare_digest(given.encode(), self._key.encode()):
            raise ImmutaError(401, "Invalid API key")
        token = secrets.token_hex(16)
        with self._lock:
            self._issued[token] = None
            while len(self._issued) > MAX_TOKENS:
                self._issued.popitem(last=False)
        return {"token": token}

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and token in self._issued


def current_user() -> dict[str, Any]:
    """`GET /bim/rpc/user/current`: the one sandbox user (`createdBy` / `addedBy` 2)."""
    return {
        "id": IMMUTA_USER_ID,
        "profile": IMMUTA_USER_ID,
        "iamid": "bim",
        "userid": "sandbox@example.com",
        "name": "Sandbox User",
        "email": "sandbox@example.com",
        "permissions": ["CREATE_DATA_SOURCE", "GOVERNANCE"],
    }
