"""A QONNX model rewritten into standard ONNX so onnxruntime can run it (QONNX's Quant/BipolarQuant are custom ops).

1. qonnx FoldConstants (quantizers included): weight quantizers become plain float weights;
2. qonnx QuantToQCDQ: the remaining (activation) Quant nodes become QuantizeLinear/Clip/DequantizeLinear;
3. BipolarQuant (which qonnx cannot convert yet) becomes Where(x >= 0, 1, -1) * scale, qonnx's own formula.

Brevitas's own export_onnx_qcdq refuses binary quantizers ("Binary quant not supported"), hence this route.
The caller checks the result against QONNX execution on the same inputs.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def qonnx_to_ort(path: str, out_path: str) -> str:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import RemoveUnusedTensors
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    m = ModelWrapper(str(path))
    m = m.transform(FoldConstants(exclude_op_types=[])).transform(QuantToQCDQ())
    g = m.graph
    for i, n in enumerate(list(g.node)):
        if n.op_type != "BipolarQuant":
            continue
        x, scale = n.input
        pos = list(g.node).index(n)
        one, neg = f"bq{i}_one", f"bq{i}_neg"
        g.initializer.extend([numpy_helper.from_array(np.float32(1.0), one),
                              numpy_helper.from_array(np.float32(-1.0), neg),
                              numpy_helper.from_array(np.float32(0.0), f"bq{i}_zero")])
        new = [helper.make_node("GreaterOrEqual", [x, f"bq{i}_zero"], [f"bq{i}_ge"]),
               helper.make_node("Where", [f"bq{i}_ge", one, neg], [f"bq{i}_pm"]),
               helper.make_node("Mul", [f"bq{i}_pm", scale], [n.output[0]])]
        g.node.remove(n)
        for j, nn_ in enumerate(new):
            g.node.insert(pos + j, nn_)
    # any batch size: symbolic batch dim; Reshape (the flatten, batch 1 in the file) infers the batch as -1
    for n in m.get_nodes_by_op_type("Reshape"):
        shp = m.get_initializer(n.input[1])
        if shp is not None:
            if (shp[1:] < 0).any():
                raise RuntimeError(f"{path}: Reshape {n.name} has an inferred non-batch dim; cannot re-batch")
            shp = shp.copy()
            shp[0] = -1
            m.set_initializer(n.input[1], shp)
    for v in (m.graph.input[0], m.graph.output[0]):
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    del m.graph.value_info[:]
    m = m.transform(RemoveUnusedTensors())
    left = {n.op_type for n in m.graph.node if n.domain not in ("", "ai.onnx")}
    if left:
        raise RuntimeError(f"{path}: custom ops {sorted(left)} remain; onnxruntime cannot run this model")
    model = m.model
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", 19)])
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return out_path


def ort_session(path: str, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


__all__ = ["qonnx_to_ort", "ort_session", "TensorProto"]
