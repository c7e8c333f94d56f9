"""Exact integer matrix product x @ w.T on onnxruntime's MatMulInteger (MLAS u8 x s8 kernels, int32 results).

Why: the golden model's MVTUs are integer GEMMs; NumPy has no integer BLAS, and its float32 sgemm or the uint64
XNOR-popcount kernel run at a fraction of MLAS's 8-bit kernels (benchmarks/simulator_throughput.py).
Exactness is proved per layer before the kernel is chosen (`int_gemm`): the input x (values in [lo, hi]) is fed
as the uint8 x - lo with zero point -lo, the weights as int8; x86 kernels without VNNI add pairs of u8*s8
products in saturating int16, so each pair must stay below 2**15, and the int32 accumulator must not overflow.
When any condition fails (or onnxruntime is missing), the caller keeps its NumPy kernel.
"""
from __future__ import annotations

import numpy as np

INT16_PAIR = 2**15 - 1          # u8*s8 + u8*s8 must fit a saturating int16 (AVX2 vpmaddubsw)
INT32_MAX = 2**31 - 1


class IntGemm:
    """x (R, MW) integers in [lo, hi] -> x @ w.T (R, MH) int32, exact (see module docstring)."""

    def __init__(self, w: np.ndarray, lo: int, hi: int, threads: int):
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        mh, mw = w.shape
        self.lo = lo
        g = helper.make_graph(
            [helper.make_node("MatMulInteger", ["x", "w", "zp"], ["y"])], "int_gemm",
            [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", mw])],
            [helper.make_tensor_value_info("y", TensorProto.INT32, ["N", mh])],
            [numpy_helper.from_array(np.ascontiguousarray(w.T.astype(np.int8)), "w"),
             numpy_helper.from_array(np.uint8(-lo), "zp")])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        # one session per layer, each with its own pool: idle workers must sleep, not spin, or they take the
        # cores from the layer that is running (and from everything else on the machine)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.lo:
            # x - lo is in [0, 255]: int8 arithmetic wraps to exactly those bits
            a = (x - np.int8(self.lo)).view(np.uint8) if x.dtype == np.int8 and self.lo >= -128 else \
                (x.astype(np.int64, copy=False) - self.lo).astype(np.uint8)
        else:
            a = x.astype(np.uint8, copy=False)
        return self.session.run(None, {"x": np.ascontiguousarray(a)})[0]


def int_gemm(w: np.ndarray, lo: int, hi: int, threads: int) -> IntGemm | None:
    """An exact IntGemm for weights `w` (MH, MW) and inputs in [lo, hi], or None when one is not provably exact."""
    w = np.asarray(w)
    if w.size == 0 or not (-255 <= lo <= 0 and 0 <= hi - lo <= 255):
        return None
    wmin, wmax = int(w.min()), int(w.max())
    if wmin < -128 or wmax > 127:
        return None
    wabs, span = max(-wmin, wmax), hi - lo
    if 2 * span * wabs > INT16_PAIR or w.shape[1] * (span + abs(lo)) * wabs > INT32_MAX // 2:
        return None
    try:
        return IntGemm(w, lo, hi, threads)
    except ImportError:
        return None
