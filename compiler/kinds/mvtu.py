"""MVTU: matrix-vector product (XNOR-popcount or exact integer) followed by multi-thresholding.

Everything bnnc knows about the kind: schema and checks, folding (PE divides MH, SIMD divides MW), stream words
(SIMD in, PE out), the NumPy golden model, the cost model and the FINN MVAU export. HLS emission lives in
compiler.backends.hls.emitters.mvtu.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from compiler.ir.datatypes import datatype, signed_bits, value_range
from diagnostics.errors import IRError
from compiler.kinds.registry import register
from compiler.kernels.activation import activate, activation_range, popcount_thresholds, threshold_plan
from compiler.ir.jsontypes import BOOL, DTYPE, INT, POS
from compiler.kinds.base import Kind, LayerData, in_uram
from compiler.ir.datatypes import ValueRange
from compiler.backends.finn.nodes import finn_dtype, no_bipolar_values, node, range_name, xnor_popcount_dtype
from compiler.kernels.int_gemm import int_gemm
from compiler.kernels.simthreads import gemm_threads, sim_threads
from compiler.estimate.resources import (DSP_MIN_BITS, XNOR_LUT_PER_LANE, LayerCost, Memory, bits,
                                ceil_log2, fifo_luts, logic)

# Elements (rows x MH) of the XNOR-popcount's uint64 temporary (2 MiB, cache-friendly).
XNOR_BLOCK = 1 << 18


def accumulator_bits(layer: LayerData) -> int:
    """Signed width holding every partial sum of an MVTU row exactly (for XNOR: the popcount and 2*pc - MW).

    A property of the layer, not of a backend: the HLS templates and the RTL library size their accumulators by it.
    """
    a = layer.attrs
    if a["binary_xnor"]:
        return signed_bits(-a["MW"], a["MW"])
    lo, hi = value_range(layer.in_dtype)
    w = np.asarray(layer.arrays["weights"], np.int64)
    p1, p2 = w * lo, w * hi
    neg = np.minimum(np.minimum(p1, p2), 0).sum(axis=1)
    pos = np.maximum(np.maximum(p1, p2), 0).sum(axis=1)
    return signed_bits(int(neg.min(initial=0)), int(pos.max(initial=0)))


def dsp_products(layer: LayerData) -> bool:
    """Whether the layer's products use DSP48 multipliers (both operands at least DSP_MIN_BITS wide): the cost
    model counts one DSP per lane then, and the RTL library computes such products wide enough to map to one."""
    a = layer.attrs
    return (not a["binary_xnor"] and bits(a["weight_dtype"]) >= DSP_MIN_BITS
            and bits(layer.in_dtype) >= DSP_MIN_BITS)


@register
class MVTU(Kind):
    name = "MVTU"
    attrs = {"MW": POS, "MH": POS, "num_vectors": POS, "weight_dtype": DTYPE, "acc_dtype": DTYPE,
             "binary_xnor": BOOL, "noact": BOOL}
    optional_attrs = {"out_bias": INT}
    ctrl_lut = 120
    uram_weights = True

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None                       # (num_vectors..., MH): only the element count is fixed

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        n_in, n_out = int(np.prod(layer.in_shape)), int(np.prod(layer.out_shape))
        return n_in == a["num_vectors"] * a["MW"] and n_out == a["num_vectors"] * a["MH"]

    def check(self, layer: LayerData) -> None:
        a = layer.attrs
        if a["binary_xnor"] and (layer.in_dtype != "BIPOLAR" or a["weight_dtype"] != "BIPOLAR"):
            raise IRError(f"{self.where(layer)}: binary_xnor needs BIPOLAR input and weights")
        if not a["noact"] and "thresholds" not in layer.arrays:
            raise IRError(f"{self.where(layer)}: has no thresholds array (set noact for an accumulator output)")

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        a = layer.attrs
        return {"pe": ("MH", int(a["MH"])), "simd": ("MW", int(a["MW"]))}

    def stream_key(self, side: str) -> str:
        return "simd" if side == "in" else "pe"

    # ---- golden model -------------------------------------------------------------------------------
    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        a = layer.attrs
        d_in = datatype(layer.in_dtype)
        plan: dict = {}
        w = np.asarray(layer.arrays.get("weights"))
        if w.shape != (a["MH"], a["MW"]):
            raise IRError(f"{where}: weights have shape {w.shape}, expected (MH, MW) = ({a['MH']}, {a['MW']})")
        lo, hi = int(d_in.min()), int(d_in.max())
        if a["binary_xnor"]:
            if layer.in_dtype != "BIPOLAR" or a["weight_dtype"] != "BIPOLAR" or not np.all(np.abs(w) == 1):
                raise IRError(f"{where}: binary_xnor needs BIPOLAR inputs and +-1 weights "
                              f"(in_dtype {layer.in_dtype}, weight_dtype {a['weight_dtype']})")
        if w.dtype.kind in "iuf" and np.array_equal(w, np.round(w)):
            plan["gemm"] = int_gemm(w.astype(np.int64), lo, hi, gemm_threads())  # None unless provably exact
        if plan.get("gemm") is None:
            if a["binary_xnor"]:
                plan["wbits"] = pack_weights(w)
            else:
                plan["matmul"] = exact_matmul_plan(w, lo, hi, where)
        if not a["noact"]:
            thr = threshold_plan(layer, a["MH"], where, to_popcount=a["MW"] if a["binary_xnor"] else None)
            if a["binary_xnor"] and plan.get("gemm") is not None:
                # the GEMM gives acc = 2*popcount - MW (odd/even like MW), so popcount >= Tp <=> acc >= 2*Tp - MW
                thr = dict(thr, t=2 * thr["t"] - a["MW"])
            plan["thr"] = thr
        return plan

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        a = layer.attrs
        n = len(x)
        rows = x.reshape(-1, a["MW"])
        if plan.get("gemm") is not None:
            acc = plan["gemm"](rows)                  # value domain (acc), also for XNOR layers
        elif a["binary_xnor"]:
            acc = xnor_popcount(rows, plan["wbits"], a["MW"])
        else:
            acc = matmul(rows, plan["matmul"])
        if a["noact"]:
            if a["binary_xnor"] and plan.get("gemm") is None:
                y = 2 * acc.astype(np.int64) - a["MW"]
            else:
                y = acc.astype(np.int64)
        else:
            y = activate(acc, plan["thr"])
        return y.reshape((n, *layer.out_shape))

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: ValueRange) -> ValueRange | None:
        return None if layer.attrs["noact"] else activation_range(plan["thr"])

    # ---- cost -----------------------------------------------------------------------------------------
    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        mw, mh, nv = int(a["MW"]), int(a["MH"]), int(a["num_vectors"])
        pe, simd = l.pe, l.simd
        nf, sf = mh // pe, mw // simd
        w_bits, a_bits, acc_bits, o_bits = (bits(a["weight_dtype"]), bits(l.in_dtype), bits(a["acc_dtype"]),
                                            bits(l.out_dtype))
        n_thr = 0 if a.get("noact") else int(l.arrays["thresholds"].shape[1]) if "thresholds" in l.arrays else 1
        notes, dsp = [], 0
        if a.get("binary_xnor"):
            lane = XNOR_LUT_PER_LANE * simd                       # XNOR folded into the popcount compressor tree
            notes.append("xnor-popcount")
        else:
            if dsp_products(l):
                mult, dsp = 0, pe * simd                          # one DSP48 multiplier per lane
                notes.append("dsp-mac")
            else:                                                 # +-1 weight: add/subtract select; else LUT mult
                mult = simd * (a_bits if w_bits == 1 else w_bits if a_bits == 1 else w_bits * a_bits)
                notes.append("lut-mac")
            prod = w_bits + a_bits
            tree = (simd - 1) * (prod + ceil_log2(simd) / 2)      # simd-1 adders, widths growing by log2(simd)
            lane = mult + tree
        per_pe = lane + acc_bits + n_thr * acc_bits + (o_bits if n_thr else 0)
        # one memory per PE (the array is partitioned on PE); in URAM when placed there (loaded at run time)
        mems = [Memory("weights", nf * sf, simd * w_bits, pe, "uram" if in_uram(l) else None)]
        if n_thr:
            mems.append(Memory("thresholds", nf, n_thr * acc_bits, pe))
        lut = pe * per_pe + self.ctrl_lut + fifo_luts(pe * o_bits)
        return LayerCost(l.name, l.kind, pe, simd, nv * nf * sf, logic(lut, dsp, mems), mems, notes)

    # ---- FINN export ----------------------------------------------------------------------------------
    def first_output_lead(self, layer: LayerData) -> int:
        return int(layer.attrs["MW"])                  # one input vector

    def drain_cycles(self, layer: LayerData, cycles: int) -> int:
        """The last vector's input arrives during its neuron fold 0; folds 1..NF-1 follow (SF steps each)."""
        a = layer.attrs
        return (int(a["MH"]) // layer.pe - 1) * (int(a["MW"]) // layer.simd) + 2

    def read_ahead_words(self, layer: LayerData) -> int:
        """With NF > 1 neuron folds the MVTU reads its input vector (SF words) only during fold 0; unless its producer
        can write a whole vector ahead, two rate-matched layers serialise (measured on CNV-W1A1's FC layers in RTL:
        1.42x the modelled II with 32-deep FIFOs)."""
        a = layer.attrs
        return int(a["MW"]) // layer.simd if int(a["MH"]) // layer.pe > 1 else 0

    def float_tail(self, layer: LayerData) -> bool:
        return bool(layer.attrs.get("noact"))

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        w = l.arrays["weights"].astype(np.int64)
        xnor = bool(a["binary_xnor"])
        if not xnor:
            no_bipolar_values(l, "a non-XNOR matrix product")
        wdt, idt = (("BINARY", "BINARY") if xnor else (a["weight_dtype"], l.in_dtype))
        inits[f"{l.name}_W"] = ((w + 1) // 2 if xnor else w).T.astype(np.float32)
        ins = [x, f"{l.name}_W"]
        dtypes = {f"{l.name}_W": wdt}
        attrs = dict(MW=a["MW"], MH=a["MH"], SIMD=l.simd, PE=l.pe, inputDataType=idt, weightDataType=wdt,
                     accDataType=a["acc_dtype"], binaryXnorMode=int(xnor), noActivation=int(a["noact"]),
                     numInputVectors=[1, *l.out_shape[:-1]], ActVal=0, outputDataType=finn_dtype(l.out_dtype))
        if not a["noact"]:
            t = l.arrays["thresholds"].astype(np.int64)
            t = np.broadcast_to(t, (a["MH"], t.shape[1]))
            inits[f"{l.name}_T"] = (popcount_thresholds(t, a["MW"]) if xnor else t).astype(np.float32)
            ins.append(f"{l.name}_T")
            dtypes[f"{l.name}_T"] = range_name(inits[f"{l.name}_T"])
            attrs["ActVal"] = 0 if l.out_dtype == "BIPOLAR" else int(a["out_bias"])
        elif xnor:  # FINN's XNOR MVAU without thresholds outputs the popcount, acc = 2 * popcount - MW
            attrs["outputDataType"] = dtypes[y] = xnor_popcount_dtype(a["MW"])
        return [node("MVAU", l.name, ins, [y], **attrs)], dtypes

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        return {l.name: ("MVAU", {"PE": "pe", "SIMD": "simd"})}

    def finn_output(self, l: LayerData) -> tuple[int, int]:
        if l.attrs["binary_xnor"] and l.attrs["noact"]:   # the popcount: acc = 2 * popcount - MW
            return 2, -int(l.attrs["MW"])
        return super().finn_output(l)


# ---- golden-model kernels ---------------------------------------------------------------------------------
def pack_weights(w: np.ndarray) -> np.ndarray:
    """+-1 rows (MH, MW) -> uint64 words (MH, ceil(MW/64)), bit k of the row at bit k%64 of word k//64.

    Padding bits past MW are set to 1 while the inputs' padding bits are 0, so XNOR(x, w) = (~x) ^ w is 0
    there and the padding never adds to the popcount.
    """
    mh, mw = w.shape
    nw = -(-mw // 64)
    bits_ = np.ones((mh, nw * 64), np.uint8)
    bits_[:, :mw] = w > 0
    return np.packbits(bits_, axis=1, bitorder="little").view("<u8")


def pack_inputs(x: np.ndarray, nw: int) -> np.ndarray:
    """+-1 vectors (R, MW) -> uint64 words (R, nw), zero padding bits (see pack_weights)."""
    r, mw = x.shape
    by = np.packbits(x > 0, axis=1, bitorder="little")
    if by.shape[1] != nw * 8:
        by = np.concatenate([by, np.zeros((r, nw * 8 - by.shape[1]), np.uint8)], axis=1)
    return np.ascontiguousarray(by).view("<u8")


def exact_matmul_plan(w: np.ndarray, lo: int, hi: int, where: str) -> dict:
    """Pick the fastest matrix product that is provably exact for these weights and input range.

    Every product w*x and every partial sum of a row is an integer of magnitude at most
    bound = max_h sum_k |w[h,k]| * max(|lo|, |hi|). A float type represents all integers up to 2**p
    (p = 24 for float32, 53 for float64) exactly, so if bound < 2**p no product or partial sum is ever
    rounded, whatever order or fused multiply-adds BLAS uses: the float result is the exact integer.
    Otherwise fall back to NumPy's int64 matmul (exact while bound < 2**63).
    """
    w64 = w.astype(np.int64)
    bound = int(np.abs(w64).sum(axis=1).max(initial=0)) * max(abs(lo), abs(hi))
    # weights kept (MH, MW); `x @ w.T` hands BLAS a transposed view, no copy
    if bound < 2**24:
        return {"dtype": np.float32, "w": w64.astype(np.float32)}
    if bound < 2**53:
        return {"dtype": np.float64, "w": w64.astype(np.float64)}
    if bound < 2**63:
        return {"dtype": np.int64, "w": w64}
    raise IRError(f"{where}: accumulator bound {bound} does not fit in int64")


def xnor_popcount(x: np.ndarray, wbits: np.ndarray, mw: int) -> np.ndarray:
    """popcount(xnor(x_bits, w_bits)) per (row, output), (R, MH): what the binary MVTU's PEs count.

    One 64-bit word column at a time over a block of rows: (rows, MH) temporaries stay cache-sized and the
    sum over words is a plain elementwise add (2-3x faster than one big (rows, MH, words) reduction).
    The row blocks are spread over `sim_threads()` threads (NumPy's ufuncs release the GIL).
    """
    mh, nw = wbits.shape
    nxbits = ~pack_inputs(x, nw)                       # xnor(x, w) == (~x) ^ w: invert once per input word
    wt = np.ascontiguousarray(wbits.T)                 # (words, MH)
    out = np.zeros((len(x), mh), np.uint16 if mw < 2**16 else np.int32)   # popcount <= MW; narrow = less traffic
    threads = sim_threads()
    step = max(1, min(XNOR_BLOCK // mh, -(-len(x) // threads)))

    def block(s: int) -> None:
        xs, o = nxbits[s : s + step], out[s : s + step]
        t = np.empty((len(xs), mh), np.uint64)
        c = np.empty(t.shape, np.uint8)
        for k in range(nw):
            np.bitwise_xor(xs[:, k, None], wt[k][None, :], out=t)    # xnor; padding bits are 0 here
            np.bitwise_count(t, out=c)
            np.add(o, c, out=o)

    starts = range(0, len(x), step)
    if threads > 1 and len(starts) > 1:
        list(_pool(threads).map(block, starts))
    else:
        for s in starts:
            block(s)
    return out


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="bnnc-sim")


def matmul(x: np.ndarray, plan: dict) -> np.ndarray:
    """x @ w.T in the plan's type: integer-valued floats, exact (see exact_matmul_plan); thresholds compare
    against them directly, so no conversion pass is needed."""
    return x.astype(plan["dtype"], copy=False) @ plan["w"].T
