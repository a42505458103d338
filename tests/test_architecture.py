"""The house rules of the package, checked by reading its source with `ast` (no import side effects).

- `import koban_geo` pulls in no Streamlit and no folium, and no module of koban_geo imports a package of the
  `[app]` extra (streamlit, streamlit-folium, folium, authlib, segno), even inside a function: the library
  installs and runs without them;
- imports between subpackages only go downwards (the order in LAYERS), and no module imports a `_private`
  name of another module;
- there is no import cycle between modules, counting imports inside functions too;
- no module in koban_geo/ or dashboard/ passes 600 lines; dashboard/ holds no SQL.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "koban_geo"
# Lower layers first; a module may import its own subpackage and any subpackage listed before it.
LAYERS = ["store", "privacy", "ingest", "analysis", "community", "outputs", "basemap", "ops", "cli"]
MAX_LINES = 600


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every koban_geo import, at any depth."""
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("koban_geo")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("koban_geo"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:  # `from koban_geo.store import db` imports a module
                    found.append((sub, "", node.lineno))
                else:
                    found.append((node.module, alias.name, node.lineno))
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 and parts[1] in LAYERS else None


def test_every_subpackage_is_in_a_layer() -> None:
    subpackages = {p.parent.name for p in PKG.glob("*/__init__.py")}
    assert subpackages <= set(LAYERS), subpackages - set(LAYERS)


def test_imports_go_downwards_and_touch_no_private_name() -> None:
    modules = _modules()
    wrong: list[str] = []
    for name, path in modules.items():
        for target, imported, line in _imports(path, modules):
            where = f"{path.relative_to(ROOT)}:{line}"
            if imported.startswith("_") and not imported.startswith("__") and target != name:
                wrong.append(f"{where} imports the private name {target}.{imported}")
            if target.rsplit(".", 1)[-1].startswith("_") and target != "koban_geo.__main__":
                wrong.append(f"{where} imports the private module {target}")
            mine, theirs = _layer(name), _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(
                    f"{where}: {name} ({LAYERS[mine]}) imports {target} ({LAYERS[theirs]}), a higher layer"
                )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _imported, _line in _imports(path, modules):
            # importing koban_geo.a.b runs koban_geo/a/__init__ too, which imports nothing of ours by rule
            if target in modules and target != name:
                graph[name].add(target)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


# The packages of pyproject's `[app]` extra (and branca, which comes with folium), as imported.
APP_ONLY = frozenset({"streamlit", "folium", "streamlit_folium", "branca", "authlib", "segno"})


def test_importing_the_library_loads_no_ui_framework() -> None:
    code = (
        "import sys, koban_geo, koban_geo.analysis.hotspots, koban_geo.outputs.export, koban_geo.cli.main\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {set(APP_ONLY)!r})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("folder", ["koban_geo", "dashboard"])
def test_no_module_passes_the_line_limit(folder: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / folder).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


_SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I | re.S)


def test_dashboard_has_no_sql() -> None:
    found = []
    for path in (ROOT / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_the_library_never_imports_the_app_extra() -> None:
    found = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in APP_ONLY
            ]
    assert not found, found


def test_the_app_extra_holds_the_app_packages() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}

    core, app = names(project["dependencies"]), names(project["optional-dependencies"]["app"])
    assert {"streamlit", "streamlit-folium", "folium", "authlib", "segno"} <= app
    assert not core & app, core & app
    assert "babel" in core  # the library's own strings are translated too
    assert (PKG / "py.typed").is_file()
