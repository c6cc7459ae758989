"""One module per tagging API; `get(name)` returns the one a plan or connection needs."""

from __future__ import annotations

from importlib import import_module

from tagging.errors import ConfigError
from tagging.providers.base import ProviderAPI

PROVIDERS = ("atlas", "nekt", "immuta")


def get(name: str) -> ProviderAPI:
    if name not in PROVIDERS:
        raise ConfigError(f"unknown provider {name!r}: choose one of {', '.join(PROVIDERS)}")
    api: ProviderAPI = import_module(f"tagging.providers.{name}").API
    return api
