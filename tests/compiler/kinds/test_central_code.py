"""Central code never tests a layer kind's name: kind-specific behaviour is a method or attribute of the kind
(compiler/kinds/base.py), so a new kind is its own module plus its emitters (docs/ir.md "Which module owns what").

Scans the source of the packages (not running it): every comparison of something called `kind` (`layer.kind`, `kind`,
`l["kind"]`) with a registered kind's name (`==`, `!=`, `in (...)`), every `match` on it, and every dict literal keyed
by kind names (a dispatch table), outside the kinds themselves (compiler/kinds/) and the backends' per-kind emitters
(compiler/backends/*/emitters/, which register themselves by name: that is the plug-in mechanism).
"""
from __future__ import annotations

import ast
from pathlib import Path

from compiler import kinds

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("compiler", "bnnc", "boards", "bnn", "scaleout", "diagnostics")


def _is_kind_owner(rel: Path) -> bool:
    parts = rel.parts
    return parts[:2] == ("compiler", "kinds") or (parts[:2] == ("compiler", "backends") and "emitters" in parts[2:4])


def _central_sources() -> list[Path]:
    out = []
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            if not _is_kind_owner(f.relative_to(ROOT)):
                out.append(f)
    return out


def _names_a_kind(node: ast.AST) -> bool:
    """`x.kind`, `kind`, `x_kind`, `x["kind"]` or `x.get("kind")`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "kind" or node.attr.endswith("_kind")
    if isinstance(node, ast.Name):
        return node.id == "kind" or node.id.endswith("_kind")
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "kind"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "kind"
    return False


def _kind_names_in(node: ast.AST, names: set[str]) -> list[str]:
    """Registered kind names written as a string constant, or inside a tuple / list / set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in names else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for e in node.elts for n in _kind_names_in(e, names)]
    return []


def kind_name_tests(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, kind names) of each place in `source` that tests a kind's name or dispatches on it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for a, b in zip(operands, operands[1:]):
                for subject, other in ((a, b), (b, a)):
                    hit = _kind_names_in(other, names)
                    if hit and _names_a_kind(subject):
                        found.append((node.lineno, ", ".join(hit)))
        elif isinstance(node, ast.Dict):
            hit = [n for k in node.keys if k is not None for n in _kind_names_in(k, names)]
            if hit:
                found.append((node.lineno, ", ".join(hit)))
        elif isinstance(node, ast.Match) and _names_a_kind(node.subject):
            hit = [n for c in node.cases for v in ast.walk(c.pattern) if isinstance(v, ast.Constant)
                   for n in _kind_names_in(v, names)]
            if hit:
                found.append((node.lineno, ", ".join(hit)))
    return sorted(set(found))


def test_central_code_never_tests_a_kind_name():
    names = set(kinds.names())
    offending = [f"{f.relative_to(ROOT)}:{line}: tests the kind name {hit}"
                 for f in _central_sources() for line, hit in kind_name_tests(f.read_text(), names)]
    assert not offending, ("central code branches on a layer kind's name; make it a method or attribute of the kind "
                           "(compiler/kinds/base.py, default there, overridden by the kind):\n  "
                           + "\n  ".join(offending))


def test_the_scan_finds_the_ways_code_tests_a_kind():
    """The scanner itself: each spelling is found with its line, lookalikes that are not a kind test are not."""
    src = '\n'.join([
        'if layer.kind == "MVTU": pass',                       # 1
        'x = 1 if "LabelSelect" != last.kind else 0',          # 2
        'ok = l["kind"] in ("AddStreams", "ConcatStreams")',  # 3
        'ok = kind not in ["VVAU"]',                           # 4
        'ok = node.get("kind") == "MaxPool"',                  # 5
        'ok = node.op_type == "MaxPool"',                      # 6: an ONNX op type, not a kind
        'ok = layer.kind == "dma"',                            # 7: not a registered kind
        'Layer("x", "MVTU")',                                  # 8: building a layer is not a test
        'match p.kind:\n    case "DuplicateStreams": pass',   # 9-10
        'COST = {"AvgPool": 1, "other": 2}',                   # 11: a dispatch table keyed by kind names
        'meta = {"kind": "x"}',                                # 12
    ])
    assert kind_name_tests(src, set(kinds.names())) == [
        (1, "MVTU"), (2, "LabelSelect"), (3, "AddStreams, ConcatStreams"), (4, "VVAU"), (5, "MaxPool"),
        (9, "DuplicateStreams"), (11, "AvgPool")]


def test_the_scan_covers_the_packages_and_skips_only_the_kinds_and_emitters():
    files = {str(f.relative_to(ROOT)) for f in _central_sources()}
    assert "compiler/sim/verify.py" in files and "compiler/estimate/fifo.py" in files
    assert "compiler/backends/rtl/project.py" in files and "bnnc/__init__.py" in files
    assert not any(f.startswith("compiler/kinds/") for f in files)
    assert not any("/emitters/" in f for f in files)
    assert len(files) > 100
