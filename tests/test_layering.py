"""The package structure the code promises (docs/architecture.md), read from the code's own imports.

Every `import` and `from ... import` counts, at module level and inside functions: a function-level import closes a
cycle as surely as a top-level one, it only hides it. `from pkg import name` counts as an import of the module
pkg.name when that is a module, else of pkg itself.
"""
from __future__ import annotations

import ast
import functools
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("diagnostics", "scaleout", "boards", "compiler", "bnn", "bnnc", "hwlib")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of ours that `import name` loads (the longest prefix that is one of ours)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _package(module: str) -> str:
    """The package a relative import in `module` starts from."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Our modules (other than `module`) that the import statement `node` of `module` loads."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = _package(module).split(".")
            base = ".".join(package[: len(package) - (node.level - 1)] + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [m for m in map(_owner, names) if m and m != module]


@functools.cache
def _tree(module: str) -> ast.Module:
    f = MODULES[module]
    return ast.parse(f.read_text(), str(f))


def _imports(module: str) -> dict[str, int]:
    """Our modules that `module` imports -> the line of the first such import."""
    found: dict[str, int] = {}
    for node in ast.walk(_tree(module)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for m in _targets(module, node):
                found.setdefault(m, node.lineno)
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def _import_time_imports(module: str) -> set[str]:
    """What importing `module` runs at once: its module-level imports (not those inside functions or under
    `if TYPE_CHECKING:`), each with the __init__ of every package above it that `module` is not itself inside --
    Python runs those first, and a package __init__ that imports its submodules can come back to `module`."""
    stmts, todo = [], list(_tree(module).body)
    while todo:
        s = todo.pop()
        if isinstance(s, ast.If) and "TYPE_CHECKING" in ast.unparse(s.test):
            todo += s.orelse
        elif isinstance(s, ast.If):
            todo += s.body + s.orelse
        elif isinstance(s, ast.Try):
            todo += s.body + s.orelse + s.finalbody + [x for h in s.handlers for x in h.body]
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            stmts.append(s)
    found = set()
    for m in (m for node in stmts for m in _targets(module, node)):
        found.add(m)
        parts = m.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in MODULES and not (module == parent or module.startswith(parent + ".")):
                found.add(parent)
    return found


def _reaches(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for n in GRAPH[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def test_no_import_cycle_between_files():
    try:
        tuple(TopologicalSorter({m: set(deps) for m, deps in GRAPH.items()}).static_order())
    except CycleError as e:
        cycle = e.args[1]
        # each node of the reported cycle is a predecessor (an import) of the next
        steps = [f"{b} imports {a} ({MODULES[b].relative_to(ROOT)}:{GRAPH[b][a]})" for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle:\n  " + "\n  ".join(steps))


def test_every_module_can_be_imported_first():
    """No import-time cycle through a package __init__: e.g. a module outside compiler.kinds that imports
    compiler.kinds.base at module level runs compiler/kinds/__init__.py, which imports every kind; a kind that imports
    that module back finds it half-initialised (ImportError when it is the first module imported)."""
    graph = {m: _import_time_imports(m) for m in MODULES}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as e:
        pytest.fail("import-time cycle (each imports the next, packages' __init__ included): "
                    + " <- ".join(e.args[1]))


@pytest.mark.parametrize("leaf,allowed", [
    ("diagnostics", ()),                          # errors and progress: bnn/, boards/ and compiler/ all use them
    ("scaleout", ("diagnostics",)),               # the executors run any task; they know no bnnc stage
    ("boards.catalog", ("diagnostics",)),         # the board catalog is below the compiler
    ("hwlib", ()),                                # the hardware library is data
])
def test_leaves_import_nothing_above_them(leaf, allowed):
    mine = [m for m in MODULES if m == leaf or m.startswith(leaf + ".")]
    bad = sorted({f"{m} -> {d} ({MODULES[m].relative_to(ROOT)}:{line})" for m in mine for d, line in GRAPH[m].items()
                  if not any(d == p or d.startswith(p + ".") for p in (leaf, *allowed))})
    assert not bad, f"{leaf} must import only {(leaf, *allowed)}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("lower,upper", [
    ("compiler", "boards.runtime"),   # the runtime sits above the compiler ...
    ("compiler", "bnn"),              # training sits above the compiler (and the compiler never needs torch)
    ("compiler", "bnnc"),             # ... and the CLI above everything
    ("boards", "bnnc"),
    ("bnn", "bnnc"),
])
def test_lower_floors_never_reach_upper_ones(lower, upper):
    bad = sorted(f"{m} reaches {upper} ({MODULES[m].relative_to(ROOT)})" for m in MODULES
                 if (m == lower or m.startswith(lower + ".")) and not (m == upper or m.startswith(upper + "."))
                 and any(r == upper or r.startswith(upper + ".") for r in _reaches(m)))
    assert not bad, "\n  ".join(bad[:20])
