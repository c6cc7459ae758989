"""pandas imported only when something uses it, also under pyarrow.

pyarrow asks whether pandas is installed the first time it converts a Python object
(`pa.array(list)`, `pa.scalar("")`), and imports it to answer: 0.3 s of the CLI's start-up
for a push that builds no frame. `defer()` lets that first question find no pandas, and
tells pyarrow again as soon as pandas is really imported, so every conversion from pandas
(and `to_pandas`) works as usual afterwards. The CLI calls it; the library leaves pyarrow
alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_NAME = "pandas"


def defer() -> None:
    """Keep pyarrow's first conversion from importing pandas (no-op once pandas is in)."""
    if _NAME in sys.modules:
        return
    shim = _shim()
    if shim is None:  # another pyarrow: it keeps its own ways
        return
    blocker = _Blocked()
    sys.meta_path.insert(0, blocker)
    try:
        shim.have_pandas  # noqa: B018 (the probe: pyarrow records "no pandas" for now)
    finally:
        sys.meta_path.remove(blocker)
    sys.meta_path.insert(0, _Rearm())


def _shim() -> Any:
    import pyarrow.lib

    shim = getattr(pyarrow.lib, "_pandas_api", None)
    kind = type(shim)  # on the class: reading the properties would import pandas
    return shim if hasattr(kind, "have_pandas") and hasattr(kind, "compat") else None


class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name == _NAME:
            raise ImportError("pandas deferred")
        return None


class _Rearm(importlib.abc.MetaPathFinder):
    """On the real import of pandas: once it is loaded, pyarrow looks for it again."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != _NAME:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:  # the finders after this one, as the import would ask
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the real one's
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.real.exec_module(module)
        _shim().compat  # noqa: B018 (pyarrow imports pandas' integration now it is here)
