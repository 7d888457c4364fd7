"""docs/architecture.md's rules hold in the code: layers import only downward, no cycles, small modules.

The layers and the few allowed sideways imports are read from the page itself, so the page and
the code cannot drift apart: change a rule there, and this test checks the new one.
"""
from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "entropy_lab"
PAGE = ROOT / "docs" / "architecture.md"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def short(name: str) -> str:
    return name.removeprefix("entropy_lab.") if name != "entropy_lab" else "entropy_lab"


def imported_modules(name: str) -> set[str]:
    """Every entropy_lab module `name` imports, at the top or inside a function."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [(target, a.name) for a in node.names]
        else:
            continue
        for target, member in targets:
            if not target.startswith("entropy_lab"):
                continue
            candidate = f"{target}.{member}" if member else None
            found.add(candidate if candidate in MODULES else target)
    found.discard(name)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def rules() -> tuple[list[tuple[str, list[str]]], set[tuple[str, str]]]:
    """(layers from the bottom up: name, module patterns), allowed sideways edges, from the page."""
    text = PAGE.read_text(encoding="utf-8")
    layers_table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for row in re.findall(r"^\| *\d+ *\|(.+)$", layers_table, re.M):
        cells = [c.strip() for c in row.split("|")]
        layers.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    sideways_text = text.split("## Sideways imports", 1)[1].split("\n## ", 1)[0]
    sideways = set(re.findall(r"^- `([^`]+)` -> `([^`]+)`", sideways_text, re.M))
    return layers, sideways


def layer_of(name: str, layers) -> int:
    for index, (_, patterns) in enumerate(layers):
        if any(fnmatch.fnmatchcase(short(name), p) for p in patterns):
            return index
    raise AssertionError(f"{short(name)} belongs to no layer of docs/architecture.md: add it to the page")


def test_every_module_has_a_layer_and_a_line_on_the_map():
    layers, _ = rules()
    page = PAGE.read_text(encoding="utf-8")
    for name in MODULES:
        layer_of(name, layers)
        if name != "entropy_lab" and name.count(".") == 1:
            assert f"`{short(name)}" in page.split("## Map", 1)[1], f"{short(name)} is missing from the map"


def test_layers_import_only_downward():
    layers, sideways = rules()
    wrong = []
    for name, deps in GRAPH.items():
        mine = layer_of(name, layers)
        for dep in deps:
            theirs = layer_of(dep, layers)
            if theirs > mine:
                wrong.append(f"{short(name)} ({layers[mine][0]}) imports {short(dep)} ({layers[theirs][0]})")
            elif theirs == mine and layers[mine][0] == "lessons" and _different_homes(name, dep) and (
                    _home(name), _home(dep)) not in sideways:
                wrong.append(f"{short(name)} imports {short(dep)} sideways, and the page does not allow it")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(sorted(wrong))


def _home(name: str) -> str:
    """The top-level module or package a module belongs to (twin.sim -> twin)."""
    parts = short(name).split(".")
    return parts[0]


def _different_homes(a: str, b: str) -> bool:
    return _home(a) != _home(b) and "entropy_lab" not in (short(a), short(b))


def test_no_import_cycles():
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in GRAPH[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(short(m) for m in component))

    for name in GRAPH:
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def private_reads(name: str) -> list[str]:
    """`from entropy_lab.x import _y` and `x._y` on an imported lab module, in module `name`."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names if target.startswith("entropy_lab") else ():
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"from {short(target)} import {alias.name}")
                if f"{target}.{alias.name}" in MODULES:
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            modules.update({a.asname: a.name for a in node.names if a.name.startswith("entropy_lab") and a.asname})
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_reads_another_modules_private_names():
    wrong = {short(name): reads for name in MODULES if (reads := private_reads(name))}
    assert not wrong, f"private names read across modules (make them public, or keep them home): {wrong}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{short(name)} has {lines} lines; split it by job (docs/architecture.md)"


def test_the_rules_catch_a_wrong_import(tmp_path, monkeypatch):
    """The checker itself: a basic module importing a lesson is reported."""
    layers, _ = rules()
    basics = next(i for i, (n, _) in enumerate(layers) if n == "basics")
    lessons = next(i for i, (n, _) in enumerate(layers) if n == "lessons")
    assert layer_of("entropy_lab.errors", layers) == basics
    assert layer_of("entropy_lab.ttl", layers) == lessons
    monkeypatch.setitem(GRAPH, "entropy_lab.errors", {"entropy_lab.ttl"})
    with pytest.raises(AssertionError, match="errors .basics. imports ttl"):
        test_layers_import_only_downward()


def test_the_private_read_check_catches_one(tmp_path, monkeypatch):
    module = tmp_path / "sneaky.py"
    module.write_text("from entropy_lab.backends import base\nfrom .clock import _helper\nbase._owner\n")
    monkeypatch.setitem(MODULES, "entropy_lab.sneaky", module)
    assert private_reads("entropy_lab.sneaky") == ["from clock import _helper", "base._owner"]
