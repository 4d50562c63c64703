"""The house's one-way data flow, read from the import graph (docs/ARCHITECTURE.md says the same in words).

exports -> pipelines -> warehouse -> (sql, metrics) -> published figures -> pages / downloads / reports.
Each package may import only the packages below it; Streamlit belongs to the app layer (app.py, pages/, ui/).
The test parses every module's imports (no module is executed), so it also sees imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("data_contracts", "metrics", "pipelines", "access", "figures", "reports", "ui", "pages", "bench")
APP_LAYER = frozenset({"app", "ui", "pages"})

# What each package may import of ours, besides itself.
ALLOWED: dict[str, frozenset[str]] = {
    "data_contracts": frozenset(),
    "metrics": frozenset({"data_contracts"}),
    # The write path: the warehouse's path and a query runner of the read path, nothing that shows figures.
    "pipelines": frozenset({"data_contracts", "pipelines"}),
    "access": frozenset({"data_contracts", "metrics"}),
    "figures": frozenset({"data_contracts", "metrics", "access"}),
    "reports": frozenset({"data_contracts", "metrics", "access", "figures"}),
    "ui": frozenset({"data_contracts", "metrics", "access", "figures"}),
    "pages": frozenset({"data_contracts", "metrics", "access", "figures", "reports", "ui", "pipelines"}),
    "app": frozenset({"data_contracts", "access", "figures", "ui"}),
    "bench": frozenset(PACKAGES) - {"bench"},
}

# Narrow crossings allowed to single modules, each for a stated reason.
ALLOWED_MODULES: dict[str, frozenset[str]] = {
    # The read path opens the warehouse at the path the write path publishes, and reads its version ledger.
    "access": frozenset({"pipelines.warehouse"}),
    "reports": frozenset({"pipelines.warehouse"}),
    # Reference imports write state_reference through the same bound-parameter query runner as every read.
    "pipelines": frozenset({"access.queries", "access.warehouse_status"}),
}

# Command-line entry points sit above the layers: they start a job of any layer (load, export, report, accounts).
ENTRY_POINTS = frozenset(
    {
        "pipelines.__main__",
        "pipelines.export",
        "pipelines.status",
        "reports.cli",
        "access.accounts_cli",
        "access.audit_cli",
    }
)


def _modules() -> list[tuple[str, str, Path]]:
    found = [("app", "app", ROOT / "app.py")]
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((package, name.removesuffix(".__init__"), path))
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODULES = _modules()


def _violations(package: str, module: str, imported: set[str]) -> list[str]:
    if module in ENTRY_POINTS:
        return []
    bad = []
    for name in sorted(imported):
        top = name.split(".")[0]
        if top not in PACKAGES or top == package:
            continue
        if top in ALLOWED[package]:
            continue
        if any(name == m or name.startswith(m + ".") for m in ALLOWED_MODULES.get(package, ())):
            continue
        if any(m.startswith(name + ".") for m in ALLOWED_MODULES.get(package, ())):
            continue  # `from pipelines import warehouse` names the package first
        bad.append(name)
    return bad


@pytest.mark.parametrize("package,module,path", MODULES, ids=[m for _, m, _ in MODULES])
def test_imports_follow_the_one_way_flow(package: str, module: str, path: Path) -> None:
    bad = _violations(package, module, _imports(path))
    assert not bad, (
        f"{module} imports {bad}: {package} may import only {sorted(ALLOWED[package])} (docs/ARCHITECTURE.md)"
    )


def test_streamlit_only_in_the_app_layer() -> None:
    outside = [
        module
        for package, module, path in MODULES
        if package not in APP_LAYER | {"bench"}
        and any(n == "streamlit" or n.startswith("streamlit.") for n in _imports(path))
    ]
    assert outside == [], f"Streamlit imported outside app.py, pages/ and ui/: {outside}"


def test_bench_reaches_streamlit_only_through_the_app_layer() -> None:
    direct = [
        module
        for package, module, path in MODULES
        if package == "bench" and any(n == "streamlit" or n.startswith("streamlit.") for n in _imports(path))
    ]
    assert direct == []


def test_the_checker_sees_a_wrong_import() -> None:
    """The rules bite: metrics reaching up to the read path, or the read path to a page, is reported."""
    assert _violations("metrics", "metrics.rates", {"access.queries"}) == ["access.queries"]
    assert _violations("access", "access.filters", {"ui.context", "pipelines.warehouse"}) == ["ui.context"]
    assert _violations("pipelines", "pipelines.loader", {"reports.build"}) == ["reports.build"]
    assert _violations("pipelines", "pipelines.__main__", {"reports.build"}) == []


def test_every_package_is_listed() -> None:
    on_disk = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert on_disk <= set(PACKAGES) | {"tests"}, f"new package without a layer: {on_disk - set(PACKAGES)}"
