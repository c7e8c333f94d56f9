"""Folding in FINN's own config format, both ways: `{"Defaults": {...}, "<node name>": {"PE": .., "SIMD": ..}}`.

Node names are those of finn_dataflow.onnx (compiler.backends.finn.export); each kind says which of its FINN nodes carry
which of its folding keys (`Kind.finn_folding`): e.g. a SlidingWindow is its ConvolutionInputGenerator (plus
`<name>_pad`, an FMPadding with the same SIMD, when padded); a MaxPool is its Pool node (PE) with the window generator
`<name>_swg` (SIMD = that PE); LabelSelect is not folded by bnnc. FINN's ApplyConfig matches these names, so a FINN user can apply finn_folding.json to our model and go on with
FINN's builder. Keys other than PE/SIMD (ram_style, mem_mode, ...) concern FINN's hardware only and are ignored here.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from compiler import kinds
from compiler.estimate.folding import FoldingError
from compiler.ir.graph import DataflowGraph, Layer

_IMPL_SUFFIXES = ("_hls", "_rtl")


# A name FINN's GiveUniqueNodeNames gives (e.g. in the builder's final_hw_config.json): <op type>_<index>, where
# the op type may carry the implementation suffix SpecializeLayers adds.
_FINN_NAME = re.compile(r"^(?P<op>[A-Za-z]+)(?P<impl>_hls|_rtl)?_(?P<index>\d+)$")


def _finn_nodes(l: Layer) -> dict[str, tuple[str, dict[str, str]]]:
    """FINN node name -> (op type, {PE/SIMD: bnnc folding key}) for one layer (its kind's `finn_folding`)."""
    return kinds.get(l.kind).finn_folding(l)


def _finn_graph_order(graph: DataflowGraph) -> dict[str, int]:
    """Place of every node of finn_dataflow.onnx in the order FINN numbers them: qonnx's SortGraph (a topological
    sort level by level) reorders a branching graph (e.g. the towers of an Inception block), so FINN's n-th
    ConvolutionInputGenerator is not necessarily our n-th window layer."""
    from qonnx.transformation.general import SortGraph

    from compiler.backends.finn.export import to_finn_onnx

    model = to_finn_onnx(graph, host=False).transform(SortGraph())
    return {n.name: i for i, n in enumerate(model.graph.node)}


def _rename_finn_names(graph: DataflowGraph, doc: Mapping[str, Any], owner: Mapping[str, Any],
                       problems: list[str]) -> dict[str, Any]:
    """Entries named by FINN (`MVAU_hls_3`) -> our node names, by order among the nodes of that op type (FINN
    numbers nodes per op type in graph order, our order for a linear graph, its SortGraph order for a branching one; with several implementations of one
    op type, by the order of the entries in the file, which FINN writes in graph order). Nodes FINN adds itself
    (FIFOs, width converters) and ones bnnc does not fold are dropped."""
    ours: dict[str, list[str]] = {}
    for l in graph.layers:
        for node, (op, _) in _finn_nodes(l).items():
            ours.setdefault(op, []).append(node)
    if not graph.is_linear():
        rank = _finn_graph_order(graph)
        ours = {op: sorted(names, key=lambda n: rank.get(n, len(rank))) for op, names in ours.items()}
    # per op type: the FINN-named entries in the order they appear (FINN writes its configs in graph order)
    seen: dict[str, list[tuple[str, str, int]]] = {}
    out: dict[str, Any] = {}
    for name, entry in doc.items():
        m = None if name == "Defaults" or name in owner else _FINN_NAME.match(name)
        if m is None:
            out[name] = entry
            continue
        if m["op"] in ours:   # else a node FINN inserted (StreamingFIFO, ...) or one not folded here
            seen.setdefault(m["op"], []).append((name, m["impl"] or "", int(m["index"])))
    for op, entries in seen.items():
        if len({impl for _, impl, _ in entries}) == 1:
            order = [(name, idx) for name, _, idx in entries]     # one implementation: FINN's index is ours
        else:
            # SpecializeLayers chose several implementations (e.g. MVAU_hls for convolutions, MVAU_rtl for the
            # last FC): FINN numbers each separately, so the node's place is its place in the file (graph order)
            per_impl: dict[str, list[int]] = {}
            for _, impl, idx in entries:
                per_impl.setdefault(impl, []).append(idx)
            if any(v != list(range(len(v))) for v in per_impl.values()):
                problems.append(f"{op} nodes come with several implementations "
                                f"({', '.join(sorted(k or 'none' for k in per_impl))}) and are not listed in FINN's "
                                "graph order, so they cannot be matched to ours; name our nodes instead")
                continue
            order = [(name, i) for i, (name, _, _) in enumerate(entries)]
        for name, idx in order:
            if idx >= len(ours[op]):
                problems.append(f"node {name!r}: the model has {len(ours[op])} {op} nodes")
                continue
            out[ours[op][idx]] = doc[name]
    return out


def finn_folding_config(graph: DataflowGraph, model=None) -> dict[str, Any]:
    """The graph's folding as a FINN folding config for finn_dataflow.onnx: the PE/SIMD its nodes carry (`model`,
    exported here when not given). These are the layers' folding keys, except where FINN ties one node to another
    (a depthwise window generator takes its VVAU's PE, compiler.kinds.vvau), so ApplyConfig changes nothing."""
    from onnx import helper

    if model is None:
        from compiler.backends.finn.export import to_finn_onnx

        model = to_finn_onnx(graph, host=False)
    attrs = {n.name: {a.name: helper.get_attribute_value(a) for a in n.attribute} for n in model.graph.node}
    cfg: dict[str, Any] = {"Defaults": {}}
    for l in graph.layers:
        for node, (_, keys) in _finn_nodes(l).items():
            cfg[node] = {attr: int(attrs[node][attr]) for attr in keys}
    return cfg


def is_finn_config(doc: Any) -> bool:
    """FINN configs have a 'Defaults' entry or upper-case PE/SIMD keys; bnnc's own files use 'pe'/'simd'."""
    return isinstance(doc, Mapping) and ("Defaults" in doc or any(
        isinstance(v, Mapping) and ({"PE", "SIMD"} & set(v)) for v in doc.values()))


def _base_op(op_type: str) -> str:
    for s in _IMPL_SUFFIXES:
        if op_type.endswith(s):
            return op_type[: -len(s)]
    return op_type


def from_finn_config(graph: DataflowGraph, doc: Mapping[str, Any], source: str = "FINN folding config"
                     ) -> dict[str, dict[str, int]]:
    """bnnc folding `{layer: {"pe": .., "simd": ..}}` from a FINN folding config; errors name the node and key.

    Defaults (`{"PE": [value, ["MVAU_hls", ...]]}` or `[value, "all"]`) apply first, per-node entries override them.
    Nodes may be named as in finn_dataflow.onnx or as FINN's builder renames them (`MVAU_hls_0`, e.g. its
    final_hw_config.json), matched by order. Two nodes of one layer (a window generator and its Pool/FMPadding) must agree, since bnnc folds the layer once.
    """
    owner: dict[str, tuple[Layer, str, dict[str, str]]] = {}  # node -> (layer, op type, {PE/SIMD: bnnc key})
    for l in graph.layers:
        for node, (op, attrs) in _finn_nodes(l).items():
            owner.setdefault(node, (l, op, attrs))
    problems: list[str] = []
    doc = _rename_finn_names(graph, doc, owner, problems)
    per_node: dict[str, dict[str, Any]] = {n: {} for n in owner}
    defaults = doc.get("Defaults", {}) or {}
    if not isinstance(defaults, Mapping):
        raise FoldingError(f"{source}: 'Defaults' must be an object, got {defaults!r}")
    for key, spec in defaults.items():
        if key not in ("PE", "SIMD"):
            continue
        if not (isinstance(spec, list) and len(spec) == 2):
            problems.append(f"Defaults.{key} must be [value, [op types]] or [value, \"all\"], got {spec!r}")
            continue
        value, ops = spec
        for node, (_, op, attrs) in owner.items():
            if ops == "all" or (isinstance(ops, list) and op in {_base_op(o) for o in ops}):
                if key in attrs:
                    per_node[node][key] = value
    for node, entry in doc.items():
        if node == "Defaults":
            continue
        if node not in owner:
            problems.append(f"node {node!r} is not in finn_dataflow.onnx; its nodes are: {', '.join(owner)}")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"node {node!r}: entry must be an object like {{\"PE\": 4}}, got {entry!r}")
            continue
        for key, value in entry.items():
            if key in ("PE", "SIMD"):
                takes = owner[node][2]
                if key not in takes and value == 1:
                    continue             # a dimension bnnc does not fold (e.g. VVAU's SIMD) at FINN's default
                if key not in takes:
                    problems.append(f"node {node!r} has no {key} (it takes {', '.join(takes)})")
                else:
                    per_node[node][key] = value
    out: dict[str, dict[str, int]] = {}
    for node, attrs in per_node.items():
        l, _, keys = owner[node]
        for key, value in attrs.items():
            bkey = keys[key]
            prev = out.setdefault(l.name, {}).get(bkey)
            if prev is not None and prev != value:
                problems.append(f"layer {l.name!r}: its FINN nodes ask for {bkey}={prev} and {bkey}={value}; "
                                "bnnc folds the layer's nodes together, give them the same value")
            out[l.name][bkey] = value
    if problems:
        raise FoldingError(f"{source}: " + ("\n  " if len(problems) > 1 else "") + "\n  ".join(problems))
    return {k: v for k, v in out.items() if v}


def save_finn_folding(graph: DataflowGraph, path: str | os.PathLike, model=None) -> Path:
    """Write finn_folding.json (finn_folding_config) beside finn_dataflow.onnx (`model`, when already exported)."""
    path = Path(path)
    path.write_text(json.dumps(finn_folding_config(graph, model), indent=1) + "\n")
    return path
