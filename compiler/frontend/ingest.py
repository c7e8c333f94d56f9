"""Load a QONNX file into a cleaned, shape-annotated qonnx ModelWrapper, or fail with a CompileError.

Exporters write ops that qonnx's cleanup folds away (TorchScript: Transpose/Pow/Div on weights, Constant,
Shape/Gather chains), so the op check runs on the cleaned graph, and reports every op left that bnnc cannot lower
at once, by the node names of the user's file.
"""
from __future__ import annotations

import os
from pathlib import Path

from diagnostics.errors import CompileError

# Ops the lowering understands; anything else is reported up front with the nodes that use it.
SUPPORTED_OPS = frozenset({
    "Quant", "IntQuant", "BipolarQuant", "MatMul", "Gemm", "Conv", "BatchNormalization", "MaxPool",
    "Reshape", "Flatten", "Mul", "Add", "Sub", "Div", "Relu", "Identity",
    "AveragePool", "GlobalAveragePool", "ReduceMean", "Trunc", "Squeeze", "Unsqueeze", "Concat",
})
_SOURCE_TAG = "bnnc-source-node:"   # doc_string marker carrying a node's name in the user's file through cleanup


def load_model(path: str | os.PathLike):
    """Read and clean a QONNX model (qonnx cleanup, shapes, datatypes, unique names); quantizers are kept."""
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.util.cleanup import cleanup_model

    path = Path(path)
    if not path.is_file():
        raise CompileError(f"{path}: no such file", hint="give the path of a QONNX .onnx file")
    try:
        proto = onnx.load(str(path))
    except Exception as e:  # onnx raises several unrelated types for bad files
        raise _unreadable(path, e) from None
    user_input = _check_interface(path, proto)
    try:
        onnx.checker.check_model(proto)
        model = ModelWrapper(proto)
    except Exception as e:
        raise _unreadable(path, e) from None
    for n in model.graph.node:
        n.doc_string = _SOURCE_TAG + (n.name or f"<unnamed {n.op_type} #{list(model.graph.node).index(n)}>")
    try:
        model = cleanup_model(model)
    except Exception as e:
        check_ops(model, path, foldable_excluded=True)   # an unsupported op is the likelier cause: name it
        raise CompileError(f"{path}: qonnx cleanup failed ({type(e).__name__}: {_first_line(e)})") from None
    check_ops(model, path)
    model = _reinfer_shapes(model, path, user_input)
    try:
        model = model.transform(InferShapes()).transform(InferDataTypes()).transform(GiveUniqueNodeNames())
    except Exception as e:
        raise CompileError(f"{path}: qonnx shape/datatype inference failed ({type(e).__name__}: {_first_line(e)})"
                           ) from None
    return model


def source_name(node) -> str:
    """The node's name in the user's file (before qonnx renamed it), when known."""
    doc = node.doc_string or ""
    return doc[len(_SOURCE_TAG):] if doc.startswith(_SOURCE_TAG) else node.name


def check_ops(model, path: str | os.PathLike | None = None, foldable_excluded: bool = False) -> None:
    """Fail on the nodes whose op type the lowering does not handle, all of them in one error.

    With `foldable_excluded`, nodes computing only from constants (which cleanup would fold) are not blamed."""
    bad = [n for n in model.graph.node if n.op_type not in SUPPORTED_OPS]
    if foldable_excluded:
        const = {i.name for i in model.graph.initializer}
        for n in model.graph.node:   # graph order is topological
            if all(t == "" or t in const for t in n.input) or n.op_type == "Shape":
                const.update(n.output)
        bad = [n for n in bad if not (all(t == "" or t in const for t in n.input) or n.op_type == "Shape")]
    if not bad:
        return
    listed = ", ".join(f"{source_name(n)!r} ({n.op_type})" for n in bad[:12]) + (" ..." if len(bad) > 12 else "")
    types = sorted({n.op_type for n in bad})
    where = f"{path}: " if path is not None else ""
    err = CompileError(f"{where}{len(bad)} node(s) with op types bnnc cannot lower ({', '.join(types)}): {listed}",
                       hint=f"supported ops: {', '.join(sorted(SUPPORTED_OPS))}")
    err.node, err.op_type = source_name(bad[0]), bad[0].op_type   # the first one, for callers (not in the text)
    raise err


def _check_interface(path: Path, proto) -> str:
    """One graph input and one output, checked on the file itself (qonnx asserts on e.g. a repeated output)."""
    g = proto.graph
    inits = {i.name for i in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    outputs = [o.name for o in g.output]
    if len(inputs) != 1 or len(outputs) != 1:
        raise CompileError(f"{path}: expected one graph input and one output, got {len(inputs)} input(s) "
                           f"{inputs} and {len(outputs)} output(s) {outputs}",
                           hint="bnnc compiles single-input, single-output classifiers; export the model with one "
                                "output (e.g. return only the logits)")
    return inputs[0]


def _reinfer_shapes(model, path: Path, user_input: str):
    """Derive every shape from the declared input again (exporters' value_info may disagree with it), and fail,
    naming the graph input, where the declared shape does not fit the model."""
    from qonnx.transformation.infer_shapes import InferShapes

    inp = model.graph.input[0]
    name = user_input          # as the user's file names it (cleanup renames it global_in)
    declared = model.get_tensor_shape(inp.name)
    if not declared or any(not isinstance(d, int) or d < 1 for d in declared[1:]):
        raise CompileError(f"{path}: graph input {name!r} has no fixed per-frame shape ({declared})",
                           hint="export with a concrete input shape, batch first, e.g. (1, C, H, W)")
    del model.graph.value_info[:]
    try:
        model = model.transform(InferShapes())
    except Exception as e:
        raise CompileError(f"{path}: graph input {name!r} declares shape {declared}, on which shape inference "
                           f"fails ({type(e).__name__}: {_first_line(e)})",
                           hint="export with the input shape the model takes, batch first") from None
    for n in model.graph.node:
        for t in n.output:
            if model.get_tensor_shape(t) is None:
                raise CompileError(f"{path}: graph input {name!r} declares shape {declared} (rank "
                                   f"{len(declared)}), but node {source_name(n)!r} ({n.op_type}) cannot take the "
                                   "tensor it leads to",
                                   hint="export with the input shape the model takes, batch first (e.g. (1, C, H, W) "
                                        "or (1, K))")
    return model


def _first_line(e: Exception) -> str:
    return (str(e).splitlines() or [""])[0][:200]


def _unreadable(path: Path, e: Exception) -> CompileError:
    return CompileError(f"{path}: not a readable ONNX model ({type(e).__name__}: {_first_line(e)})",
                        hint="export with bnnc export / brevitas.export.export_qonnx")
