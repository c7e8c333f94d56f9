"""Bit-accurate NumPy simulator of the dataflow IR: the reference semantics of docs/ir.md.

Layers are computed the way the hardware computes them, batched and vectorised: a binary (XNOR) MVTU packs
inputs and weights into uint64 words and counts matching bits, with its thresholds moved to the popcount
domain exactly as the HLS library does; low-bit MVTUs use an exact integer matrix product. Every layer checks
that its input values fit its declared datatype, so a graph that breaks the contract fails loudly, naming
the layer, instead of computing something plausible.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compiler.hostops import run_post, run_pre
from compiler.ir import DataflowGraph, IRError, Layer, dtype as ir_dtype

# Frames processed together; bounds memory (im2col of a 32x32 image is ~27x its size) without hurting speed.
DEFAULT_BATCH = 256
# Elements (rows x MH) of the XNOR-popcount's uint64 temporary (2 MiB, cache-friendly).
_XNOR_BLOCK = 1 << 18


def simulate(graph: DataflowGraph, x: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH):
    """User input batch (N, *graph.input.shape) -> the model's output, as the accelerator plus host compute it.

    Runs `input.pre`, every layer, then `output.post`. With `return_all`, returns (output, per-layer integer
    outputs), each of shape (N, *layer.out_shape), int64. (For many calls on one graph, use `Simulator`.)
    """
    return Simulator(graph)(x, return_all=return_all, batch=batch)


def simulate_layers(graph: DataflowGraph, ints: np.ndarray, return_all: bool = False, *,
                    batch: int = DEFAULT_BATCH):
    """Integer layer-0 input (N, *layers[0].in_shape) -> last layer's int64 output (no host ops).

    With `return_all`, returns (last output, [every layer's output]).
    """
    return Simulator(graph).run_layers(ints, return_all=return_all, batch=batch)


class Simulator:
    """A graph prepared once for many batches: weights packed or converted, thresholds checked (and moved to the
    popcount domain for XNOR layers), exact matmul types chosen. Arrays are read at construction, so build a new
    Simulator after changing the graph."""

    def __init__(self, graph: DataflowGraph):
        if not graph.layers:
            raise IRError(f"graph {graph.name!r} has no layers")
        self.graph = graph
        self.plans = [_plan(l) for l in graph.layers]

    def __call__(self, x: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH):
        """Same as `simulate(graph, x, return_all)`."""
        ints = run_pre(self.graph.input, x)
        res = self.run_layers(ints, return_all=return_all, batch=batch)
        if return_all:
            last, outs = res
            return run_post(self.graph.output, last), outs
        return run_post(self.graph.output, res)

    def run_layers(self, ints: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH):
        """Same as `simulate_layers(graph, ints, return_all)`."""
        layers = self.graph.layers
        first = layers[0]
        y = np.asarray(ints)
        if y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
                y = y.astype(np.int64)
            else:
                raise IRError(f"layer {first.name!r} expects integer values ({first.in_dtype}), got an array of "
                              f"{y.dtype}")
        n_in = int(np.prod(first.in_shape))
        if y.ndim == 0 or y.size != len(y) * n_in:
            raise IRError(f"layer {first.name!r} expects a batch (N, {', '.join(map(str, first.in_shape))}), "
                          f"got shape {y.shape}")
        y = y.reshape((len(y), *first.in_shape))
        batch = max(1, int(batch))
        chunks: list[list[np.ndarray]] = [[] for _ in layers]
        last_chunks = []
        for s in range(0, max(len(y), 1), batch):
            cur = y[s : s + batch]
            for i, (layer, plan) in enumerate(zip(layers, self.plans)):
                cur = _run(layer, plan, cur)
                if return_all:
                    chunks[i].append(cur)
            last_chunks.append(cur)
        last = np.concatenate(last_chunks).astype(np.int64, copy=False)
        if return_all:
            return last, [np.concatenate(c).astype(np.int64, copy=False) for c in chunks]
        return last


def popcount_thresholds(thresholds: np.ndarray, mw: int) -> np.ndarray:
    """acc-domain thresholds of an XNOR MVTU -> popcount domain: acc >= T  <=>  popcount >= ceil((T + MW) / 2).

    (acc = 2*popcount - MW.) The HLS library stores these; the simulator compares against them too.
    """
    t = np.asarray(thresholds, np.int64) + int(mw)
    return -((-t) // 2)


# ---- per-layer preparation (once per call, not per chunk) ----------------------------------------------------
def _plan(layer: Layer) -> dict:
    where = f"layer {layer.name!r} ({layer.kind})"
    try:
        return _plan_layer(layer, where)
    except KeyError as e:
        raise IRError(f"{where}: missing attribute {e}") from None


def _plan_layer(layer: Layer, where: str) -> dict:
    a = layer.attrs
    d_in = ir_dtype(layer.in_dtype)
    plan: dict = {"lo": int(d_in.min()), "hi": int(d_in.max()), "bipolar_in": layer.in_dtype == "BIPOLAR"}
    _check_shapes(layer, where)
    if layer.kind == "MVTU":
        w = np.asarray(layer.arrays.get("weights"))
        if w.shape != (a["MH"], a["MW"]):
            raise IRError(f"{where}: weights have shape {w.shape}, expected (MH, MW) = ({a['MH']}, {a['MW']})")
        if a["binary_xnor"]:
            if layer.in_dtype != "BIPOLAR" or a["weight_dtype"] != "BIPOLAR" or not np.all(np.abs(w) == 1):
                raise IRError(f"{where}: binary_xnor needs BIPOLAR inputs and +-1 weights "
                              f"(in_dtype {layer.in_dtype}, weight_dtype {a['weight_dtype']})")
            plan["wbits"] = _pack_weights(w)
        else:
            plan["matmul"] = _exact_matmul_plan(w, plan["lo"], plan["hi"], where)
        if not a["noact"]:
            plan["thr"] = _threshold_plan(layer, a["MH"], where,
                                          to_popcount=a["MW"] if a["binary_xnor"] else None)
    elif layer.kind == "Thresholding":
        plan["thr"] = _threshold_plan(layer, a["num_channels"], where)
    elif layer.kind == "SlidingWindow":
        (h, w_), (kh, kw), (sh, sw), p = a["ifm_dim"], a["kernel"], a["stride"], a["pad"]
        oh, ow = (h + p[0] + p[2] - kh) // sh + 1, (w_ + p[1] + p[3] - kw) // sw + 1
        if min(oh, ow) < 1 or [oh, ow] != list(a["ofm_dim"]):
            raise IRError(f"{where}: ofm_dim {a['ofm_dim']} disagrees with ifm_dim/kernel/stride/pad ({oh}, {ow})")
        if not ir_dtype(layer.out_dtype).allowed(a["pad_value"]) and any(p):
            raise IRError(f"{where}: pad_value {a['pad_value']} is not a {layer.out_dtype} value")
    elif layer.kind == "MaxPool":
        (h, w_), (kh, kw), (sh, sw) = a["ifm_dim"], a["kernel"], a["stride"]
        oh, ow = (h - kh) // sh + 1, (w_ - kw) // sw + 1
        if min(oh, ow) < 1 or [oh, ow] != list(a["ofm_dim"]):
            raise IRError(f"{where}: ofm_dim {a['ofm_dim']} disagrees with ifm_dim/kernel/stride")
    elif layer.kind == "LabelSelect":
        if not 1 <= a["k"] <= a["num_labels"]:
            raise IRError(f"{where}: k={a['k']} must be in [1, num_labels={a['num_labels']}]")
    else:
        raise IRError(f"{where}: unknown layer kind")
    return plan


def _check_shapes(layer: Layer, where: str) -> None:
    """in_shape/out_shape agree with the attributes, so a bad graph fails here, naming the layer."""
    a, k = layer.attrs, layer.kind
    n_in, n_out = int(np.prod(layer.in_shape)), int(np.prod(layer.out_shape))
    if k == "MVTU":
        ok = n_in == a["num_vectors"] * a["MW"] and n_out == a["num_vectors"] * a["MH"]
    elif k == "Thresholding":
        ok = n_in == n_out == a["num_vectors"] * a["num_channels"]
    elif k in ("SlidingWindow", "MaxPool"):
        c_out = a["kernel"][0] * a["kernel"][1] * a["channels"] if k == "SlidingWindow" else a["channels"]
        ok = (tuple(layer.in_shape) == (*a["ifm_dim"], a["channels"])
              and tuple(layer.out_shape) == (*a["ofm_dim"], c_out))
    elif k == "LabelSelect":
        ok = n_in == a["num_labels"] and tuple(layer.out_shape) == (a["k"],)
    else:
        raise IRError(f"{where}: unknown layer kind")
    if not ok:
        raise IRError(f"{where}: in_shape {tuple(layer.in_shape)} / out_shape {tuple(layer.out_shape)} disagree "
                      f"with its attributes")


def _pack_weights(w: np.ndarray) -> np.ndarray:
    """+-1 rows (MH, MW) -> uint64 words (MH, ceil(MW/64)), bit k of the row at bit k%64 of word k//64.

    Padding bits past MW are set to 1 while the inputs' padding bits are 0, so XNOR(x, w) = (~x) ^ w is 0
    there and the padding never adds to the popcount.
    """
    mh, mw = w.shape
    nw = -(-mw // 64)
    bits = np.ones((mh, nw * 64), np.uint8)
    bits[:, :mw] = w > 0
    return np.packbits(bits, axis=1, bitorder="little").view("<u8")


def _pack_inputs(x: np.ndarray, nw: int) -> np.ndarray:
    """+-1 vectors (R, MW) -> uint64 words (R, nw), zero padding bits (see _pack_weights)."""
    r, mw = x.shape
    by = np.packbits(x > 0, axis=1, bitorder="little")
    if by.shape[1] != nw * 8:
        by = np.concatenate([by, np.zeros((r, nw * 8 - by.shape[1]), np.uint8)], axis=1)
    return np.ascontiguousarray(by).view("<u8")


def _exact_matmul_plan(w: np.ndarray, lo: int, hi: int, where: str) -> dict:
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


def _threshold_plan(layer: Layer, channels: int, where: str, to_popcount: int | None = None) -> dict:
    t = layer.arrays.get("thresholds")
    if t is None:
        raise IRError(f"{where}: has no thresholds array (set noact for an accumulator output)")
    t = np.asarray(t)
    if t.ndim != 2 or t.shape[0] not in (1, channels):
        raise IRError(f"{where}: thresholds have shape {t.shape}, expected ({channels}, T) or (1, T)")
    if t.dtype.kind not in "iu":
        raise IRError(f"{where}: thresholds must be integers, got {t.dtype}")
    t = t.astype(np.int64)
    if t.shape[1] > 1 and np.any(np.diff(t, axis=1) < 0):
        raise IRError(f"{where}: threshold rows must be sorted ascending")
    if layer.out_dtype == "BIPOLAR" and t.shape[1] != 1:
        raise IRError(f"{where}: a BIPOLAR output needs exactly one threshold per channel, got {t.shape[1]}")
    if to_popcount is not None:
        t = popcount_thresholds(t, to_popcount)
    return {"t": t, "bipolar": layer.out_dtype == "BIPOLAR", "bias": int(layer.attrs.get("out_bias", 0))}


# ---- execution ----------------------------------------------------------------------------------------------
def _run(layer: Layer, plan: dict, x: np.ndarray) -> np.ndarray:
    _check_range(layer, plan, x)
    n = len(x)
    a = layer.attrs
    if layer.kind == "MVTU":
        rows = x.reshape(-1, a["MW"])
        acc = _xnor_popcount(rows, plan["wbits"], a["MW"]) if a["binary_xnor"] else _matmul(rows, plan["matmul"])
        if a["noact"]:
            y = 2 * acc.astype(np.int64) - a["MW"] if a["binary_xnor"] else acc
        else:
            y = _activate(acc, plan["thr"])
        return y.reshape((n, *layer.out_shape))
    if layer.kind == "Thresholding":
        return _activate(x.reshape(-1, a["num_channels"]), plan["thr"]).reshape((n, *layer.out_shape))
    if layer.kind == "SlidingWindow":
        return _sliding_window(x, a)
    if layer.kind == "MaxPool":
        (h, w), c, (kh, kw), (sh, sw) = a["ifm_dim"], a["channels"], a["kernel"], a["stride"]
        oh, ow = a["ofm_dim"]
        win = sliding_window_view(x.reshape(n, h, w, c), (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
        return win.max(axis=(-2, -1))
    # LabelSelect: stable sort of the negated values = descending, ties to the lower index
    v = x.reshape(n, a["num_labels"]).astype(np.int64)
    return np.argsort(-v, axis=1, kind="stable")[:, : a["k"]]


def _check_range(layer: Layer, plan: dict, x: np.ndarray) -> None:
    if not x.size:
        return
    lo, hi = int(x.min()), int(x.max())
    bad = None
    if plan["bipolar_in"]:
        if lo < -1 or hi > 1 or np.any(x == 0):
            bad = lo if lo < -1 else hi if hi > 1 else 0
    elif lo < plan["lo"] or hi > plan["hi"]:
        bad = lo if lo < plan["lo"] else hi
    if bad is not None:
        raise IRError(f"layer {layer.name!r} ({layer.kind}): input value {bad} is not a {layer.in_dtype} value")


def _compact(a: np.ndarray) -> np.ndarray:
    """Smallest signed integer type that holds the values (activations are mostly int8)."""
    if not a.size:
        return a.astype(np.int8)
    lo, hi = int(a.min()), int(a.max())
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t, copy=False)
    return a.astype(np.int64, copy=False)


def _xnor_popcount(x: np.ndarray, wbits: np.ndarray, mw: int) -> np.ndarray:
    """popcount(xnor(x_bits, w_bits)) per (row, output), (R, MH): what the binary MVTU's PEs count.

    One 64-bit word column at a time over a block of rows: (rows, MH) temporaries stay cache-sized and the
    sum over words is a plain elementwise add (2-3x faster than one big (rows, MH, words) reduction).
    """
    mh, nw = wbits.shape
    nxbits = ~_pack_inputs(x, nw)                      # xnor(x, w) == (~x) ^ w: invert once per input word
    wt = np.ascontiguousarray(wbits.T)                 # (words, MH)
    out = np.zeros((len(x), mh), np.uint16 if mw < 2**16 else np.int32)   # popcount <= MW; narrow = less traffic
    step = max(1, _XNOR_BLOCK // mh)
    t = np.empty((min(step, len(x)), mh), np.uint64)
    c = np.empty(t.shape, np.uint8)
    for s in range(0, len(x), step):
        xs, o = nxbits[s : s + step], out[s : s + step]
        r = len(xs)
        for k in range(nw):
            np.bitwise_xor(xs[:, k, None], wt[k][None, :], out=t[:r])    # xnor; padding bits are 0 here
            np.bitwise_count(t[:r], out=c[:r])
            np.add(o, c[:r], out=o)
    return out


def _matmul(x: np.ndarray, plan: dict) -> np.ndarray:
    acc = x.astype(plan["dtype"], copy=False) @ plan["w"].T
    return acc.astype(np.int64)        # exact integers (see _exact_matmul_plan)


def _activate(acc: np.ndarray, thr: dict) -> np.ndarray:
    """count[h] = #{t : acc[h] >= T[h, t]}; BIPOLAR -> 2*count - 1, else out_bias + count."""
    t = thr["t"]
    nt = t.shape[1]
    if acc.dtype != np.int64 and not (np.iinfo(acc.dtype).min <= t.min() and t.max() <= np.iinfo(acc.dtype).max):
        acc = acc.astype(np.int64)
    t = t.astype(acc.dtype)                 # compare in the accumulator's own type (no int64 temporaries)
    if nt == 1:
        ge = acc >= t[:, 0]
        if thr["bipolar"]:
            out = ge.view(np.int8) * np.int8(2) - np.int8(1)
            return out
        return _compact(ge.astype(np.int64) + thr["bias"])
    if nt <= 8:
        count = np.zeros(acc.shape, np.int16)
        for j in range(nt):
            count += acc >= t[:, j]
    elif t.shape[0] == 1:
        count = np.searchsorted(t[0], acc, side="right")
    else:
        # one searchsorted over all rows: shift row h's thresholds and values into [h*R, (h+1)*R), so a value
        # only lands among its own row's thresholds; count = position - h*T
        t = t.astype(np.int64)
        acc = acc.astype(np.int64)
        lo = min(int(t.min()), int(acc.min(initial=0)))
        span = max(int(t.max()), int(acc.max(initial=0))) - lo + 1
        rows = np.arange(t.shape[0], dtype=np.int64)
        flat = ((t - lo) + rows[:, None] * span).ravel()
        count = np.searchsorted(flat, (acc - lo) + rows * span, side="right") - rows * nt
    return _compact(count.astype(np.int64) + thr["bias"])


def _sliding_window(x: np.ndarray, a: dict) -> np.ndarray:
    """im2col: (N, H, W, C) -> (N, OH, OW, KH*KW*C), last axis in (ky, kx, c) order, padded with pad_value."""
    n = len(x)
    (h, w), c, (kh, kw), (sh, sw), p = a["ifm_dim"], a["channels"], a["kernel"], a["stride"], a["pad"]
    oh, ow = a["ofm_dim"]
    x = x.reshape(n, h, w, c)
    if any(p):
        pv = int(a["pad_value"])
        if not np.iinfo(x.dtype).min <= pv <= np.iinfo(x.dtype).max:
            x = x.astype(np.int64)
        x = np.pad(x, ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)), constant_values=pv)
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]   # (N, OH, OW, C, KH, KW)
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, oh, ow, kh * kw * c)
