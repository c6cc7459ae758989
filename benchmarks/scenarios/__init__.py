"""One module per scenario; each has `NAME`, `TITLE` and `run(quick) -> list[Result]`, whose
results are named `NAME` or `NAME.<part>` (or `PREFIX.<part>` where a module sets `PREFIX`:
several modules share the ui.* family)."""

from __future__ import annotations

from types import ModuleType

from benchmarks.scenarios import (
    atlas_cli,
    atlas_readback,
    immuta_concurrency,
    journal_overhead,
    large_dataset,
    large_plan,
    map_selection,
    nekt_requests,
    retries,
    sandbox_store,
    ui_browser,
    ui_review,
    ui_tag,
    workbench,
)

SCENARIOS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        atlas_cli,
        sandbox_store,
        immuta_concurrency,
        nekt_requests,
        retries,
        workbench,
        journal_overhead,
        map_selection,
        atlas_readback,
        large_dataset,
        large_plan,
        ui_review,
        ui_tag,
        ui_browser,
    )
}
