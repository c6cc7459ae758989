"""The app freezes what imports leave alive, so full garbage collections in later reruns walk
only the session's objects (ui/heap.py: a full pass over the imports' ~140,000 objects cost
~0.09 s and fell in every other empty rerun of the Tag page at 1M rows)."""

from __future__ import annotations

import gc
import sys
import types
import weakref

import pandas as pd
import pytest
from app_harness import app_env, open_app  # noqa: F401

from ui import heap


def _tracked(obj: object) -> bool:
    """Whether collections still walk `obj` (frozen objects are not in gc.get_objects())."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.usefixtures("app_env")
def test_after_a_run_the_imports_are_frozen_and_an_identical_rerun_freezes_nothing() -> None:
    at = open_app("atlas")
    at.switch_page("app_pages/tag.py").run()
    assert not at.exception, at.exception
    assert not _tracked(vars(pd)) and not _tracked(vars(sys.modules["streamlit"]))
    frozen = gc.get_freeze_count()
    at.run()  # the same page again imports nothing new
    assert not heap.freeze_imports()
    assert gc.get_freeze_count() <= frozen


def test_cyclic_garbage_is_collected_before_a_freeze_not_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    dead = weakref.ref(node)
    del node
    monkeypatch.setitem(sys.modules, "heap_test_module", types.ModuleType("heap_test_module"))
    assert heap.freeze_imports()
    assert dead() is None
    assert not heap.freeze_imports()  # no module imported since
