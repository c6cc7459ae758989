"""The provider registry: `get(name)`, `names()`, `register(provider)`.

The built-in providers (Nomic Atlas, Nekt, Immuta) are modules of this package; an installed
package adds one through the entry-point group `tagging.providers`, whose entry point names a
`Provider` object (or a module with a `PROVIDER`):

    [project.entry-points."tagging.providers"]
    mycatalog = "mycatalog_tagging:PROVIDER"
"""

from __future__ import annotations

import threading
from importlib import import_module
from importlib.metadata import entry_points

from tagging.errors import ConfigError
from tagging.providers.base import BaseProvider, Fetch, Provider, TargetField

BUILTIN = ("atlas", "nekt", "immuta")
ENTRY_POINT_GROUP = "tagging.providers"

_registry: dict[str, Provider] = {}
_loaded = False
_loading = threading.RLock()  # register() during the load (a plugin module) re-enters


def register(provider: Provider) -> Provider:
    """Add (or replace) a provider; returns it, so a module can write
    `PROVIDER = register(MyProvider())`."""
    if not provider.name or provider.name != provider.name.strip().lower():
        raise ConfigError(f"a provider needs a lower-case name, not {provider.name!r}")
    _load()
    _registry[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    """Remove a provider (tests that register a toy one clean up with this)."""
    _registry.pop(name, None)


def names() -> tuple[str, ...]:
    """Registered provider names, built-in ones first."""
    _load()
    return tuple(_registry)


def get(name: str) -> Provider:
    _load()
    try:
        return _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown provider {name!r}: choose one of {', '.join(_registry)}"
        ) from None


def _load() -> None:
    """Built-ins, then entry points, once per process (lazily: importing this is cheap).
    Threads that ask first wait for the whole list, never see half of it."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        found = {name: import_module(f"tagging.providers.{name}").PROVIDER for name in BUILTIN}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = point.load()
            except Exception as exc:  # a broken plugin must not break the built-in providers
                raise ConfigError(
                    f"cannot load tagging provider {point.name!r} ({point.value}): {exc}"
                ) from None
            provider = getattr(loaded, "PROVIDER", loaded)
            found[provider.name] = provider
        merged = {**found, **_registry}  # built-ins first; providers registered meanwhile stay
        _registry.clear()
        _registry.update(merged)
        _loaded = True


__all__ = [
    "BUILTIN",
    "BaseProvider",
    "Fetch",
    "Provider",
    "TargetField",
    "get",
    "names",
    "register",
    "unregister",
]
