"""The shape DESIGN.md promises: a small public API, values at the bottom, no import cycle, no
provider named outside tagging/providers/ (and the sandbox and demo world), a library that
never imports the sandbox, pages and ui/ that use the library's public modules only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tagging

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "tagging"
PUBLIC = [
    "Condition",
    "Connection",
    "Journal",
    "Plan",
    "Progress",
    "PushResult",
    "TagOperation",
    "TaggingError",
    "Workbench",
    "apply_filters",
    "charts",
    "connect",
    "coverage",
    "coverage_over_time",
    "demo_datasets",
    "describe",
    "errors",
    "load_dataset",
    "map_figure",
    "plan",
    "points_in_polygon",
    "prepare",
    "push",
]
# The modules an app built on the library may import (tagging/__init__.py lists them).
APP_MODULES = {
    "tagging",
    "tagging.charts",
    "tagging.maps",
    "tagging.config",
    "tagging.columns",
    "tagging.coverage",
    "tagging.coverage_time",
    "tagging.datasets",
    "tagging.demo",
    "tagging.errors",
    "tagging.export",
    "tagging.filters",
    "tagging.known_state",
    "tagging.large_dataset",  # datasets larger than memory, read through DuckDB
    "tagging.providers",
    "tagging.render",
    "tagging.sandbox.launcher",  # the app starts the local sandbox
    "tagging.selection",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module(p): p for p in LIBRARY.rglob("*.py")}
MODULES = set(FILES)


def _imports(path: Path) -> set[str]:
    """The tagging modules a file imports, lazy and type-only imports included: `from tagging
    import providers` imports tagging.providers; `from tagging import Plan`, the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & MODULES
            names = [a.name for a in node.names if f"{node.module}.{a.name}" not in MODULES]
            found |= submodules | ({node.module} if names else set())
    return {m for m in found if m in MODULES}


def _library() -> dict[str, set[str]]:
    return {m: _imports(p) - {m} for m, p in FILES.items()}


def test_the_public_api_is_small_and_pinned() -> None:
    assert tagging.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(tagging, name) is not None


def test_the_package_imports_its_names_on_first_use() -> None:
    """`import tagging` (which `python -m tagging` runs first) loads neither pandas nor httpx;
    `tagging.plan`, `.prepare` and `.coverage` stay the functions once their modules load."""
    code = (
        "import sys, tagging; "
        "print(sorted(m for m in ('pandas', 'httpx', 'tagging.plan') if m in sys.modules)); "
        "import tagging.plan, tagging.prepare, tagging.coverage; "
        "from tagging.plan import Items; from tagging import Journal, charts; "
        "print([getattr(tagging, n).__module__ for n in ('plan', 'prepare', 'coverage')], "
        "Journal.__name__, charts.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.splitlines() == [
        "[]",
        "['tagging.plan', 'tagging.prepare', 'tagging.coverage'] Journal tagging.charts",
    ]


def test_values_are_a_leaf_and_there_is_no_import_cycle() -> None:
    graph = _library()
    assert graph["tagging.values"] == set()
    seen: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for dep in sorted(graph.get(module, ())):
            assert seen.get(dep) != 1, " -> ".join([*path, module, dep])
            if dep not in seen:
                visit(dep, [*path, module])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [])


def test_the_library_never_imports_the_sandbox() -> None:
    for module, deps in _library().items():
        if module.startswith("tagging.sandbox") or module == "tagging.__main__":
            continue  # the CLI's `sandbox` command starts it; nothing else may reach it
        assert not {d for d in deps if d.startswith("tagging.sandbox")}, module


def test_no_provider_is_named_outside_providers_sandbox_and_demo() -> None:
    names = {"atlas", "nekt", "immuta"}
    folders = (LIBRARY, ROOT / "ui", ROOT / "app_pages")
    allowed = ("tagging/providers/", "tagging/sandbox/", "tagging/demo.py")
    hits = []
    for path in (p for folder in folders for p in folder.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(allowed):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                hits.append(f"{rel}:{node.lineno} {node.value!r}")
    assert hits == []


def test_pages_and_ui_use_the_library_through_its_public_modules() -> None:
    files = [*(ROOT / "ui").rglob("*.py"), *(ROOT / "app_pages").rglob("*.py"), ROOT / "app.py"]
    for path in files:
        private = _imports(path) - APP_MODULES
        assert not private, (path.name, sorted(private))
