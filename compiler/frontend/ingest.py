"""Load a QONNX file into a cleaned, shape-annotated qonnx ModelWrapper, or fail with a CompileError."""
from __future__ import annotations

import os
from pathlib import Path

from compiler.errors import CompileError

# Ops the lowering understands; anything else is reported up front with the node that uses it.
SUPPORTED_OPS = frozenset({
    "Quant", "IntQuant", "BipolarQuant", "MatMul", "Gemm", "Conv", "BatchNormalization", "MaxPool",
    "Reshape", "Flatten", "Mul", "Add", "Sub", "Div", "Relu", "Identity",
})


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
        onnx.checker.check_model(proto)
        model = ModelWrapper(proto)
    except Exception as e:  # onnx raises several unrelated types for bad files
        raise CompileError(f"{path}: not a readable ONNX model ({type(e).__name__}: {str(e).splitlines()[0][:200]})",
                           hint="export with bnnc export / brevitas.export.export_qonnx") from None
    check_ops(model)
    try:
        model = cleanup_model(model)
        model = model.transform(InferShapes()).transform(InferDataTypes()).transform(GiveUniqueNodeNames())
    except Exception as e:
        raise CompileError(f"{path}: qonnx cleanup/shape inference failed ({type(e).__name__}: {e})") from None
    check_ops(model)
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise CompileError(f"{path}: expected one graph input and one output, got "
                           f"{len(model.graph.input)} and {len(model.graph.output)}")
    return model


def check_ops(model) -> None:
    """Fail on the first node whose op type the lowering does not handle."""
    for node in model.graph.node:
        if node.op_type not in SUPPORTED_OPS:
            raise CompileError.at(node, f"unsupported op type {node.op_type!r}",
                                  hint=f"supported ops: {', '.join(sorted(SUPPORTED_OPS))}")
