"""Full garbage collections skip what the imports leave behind.

A full (generation 2) collection walks every tracked object, and streamlit, pandas, pyarrow
and plotly leave about 140,000 at import: one costs ~0.09 s and fell in every other empty
rerun of the Tag page at 1M rows (0.05 s, then 0.15 s). `gc.freeze` moves what is alive to
the permanent generation, which collections skip; objects made later are collected as
before (and frozen ones are still freed by their reference counts).
"""

from __future__ import annotations

import gc
import sys

_frozen_at = [0]  # how many modules were loaded at the last freeze


def freeze_imports() -> bool:
    """Freeze what is alive when modules were imported since the last call (a few runs a
    process: the first, and those that import a page's libraries); True when it froze."""
    if len(sys.modules) == _frozen_at[0]:
        return False
    gc.collect()  # the run's cyclic garbage goes now, not into the permanent generation
    gc.freeze()
    _frozen_at[0] = len(sys.modules)
    return True
