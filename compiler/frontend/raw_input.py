"""A first layer on float input (`bnnc compile --input-bits B [--input-mean M --input-std S]`).

Models such as Brevitas's resnet18_4w4a apply their first quantized MatMul/Gemm/Conv to normalized float pixels,
with no input quantizer. Declaring the input as B-bit pixels p (the model's input is (p / (2^B - 1) - mean) / std,
torchvision's ToTensor + Normalize; the graph's own float ops before the first layer, e.g. a Sub/Div normalization
inside the model, follow) makes every value the first layer sees an affine function u = a * p + b of an integer
pixel. When `a` is one number for all channels, the layer's sum is a * (W . p) + W . b: an integer accumulator on
the raw pixels times one float unit, plus a per-row constant that joins the bias, so the threshold search folds
the normalization exactly as it folds a bias (FINN's answer: integer images on the accelerator). A std per
channel (ImageNet's 0.229, 0.224, 0.225) gives one `a_c` per channel; they share an integer unit, a_c = m_c * unit
with small integers m_c, whenever their ratios are rational with small terms, found here within one float32
rounding of each a_c (`common_unit`: the float32 model is then the rounding of one whose ratios are exactly m_c : m_c',
e.g. the decimal stds the user wrote). The multipliers go into the first layer's weights (W[:, c] * m_c: wider
weights, the same integer pixels), so the sum is unit * (W' . p) + W . b, exact as in the scalar case. The
accelerator takes the raw pixels; the host's `input.pre` recovers them from the model input the user has
(normalized floats, exact by rounding: the float32 normalization moves a pixel by far less than 1/2), and uint8
images go through the recorded preprocessing (ToTensor + Normalize, compiler.frontend.preprocess).

Refused, naming the node: per-channel scales with no common unit within MAX_MULT (e.g. per-feature stds of a
tabular MLP), and zero padding of a normalized input with a non-zero mean (QONNX pads with u = 0, the pixel value
-b/a, not an integer pixel in general).
"""
from __future__ import annotations

import numpy as np

from diagnostics.errors import CompileError
from compiler.frontend.quantizers import range_dtype
from compiler.frontend.state import State

RAW_KEY = "raw_input"
#: largest per-channel multiplier of a common input unit (ImageNet's stds need 38701: first-layer weights grow by
#: 16 bits; beyond this the widened first layer would cost more than quantizing the input)
MAX_MULT = 1 << 16
#: a per-channel scale may move by this relative amount to share a unit: one float32 rounding (2^-24), the
#: precision the model's float32 constants carry
UNIT_TOL = 2.0**-24


def check_raw_input(bits: int | None, mean, std) -> dict | None:
    """{"bits", "mean", "std"} from the CLI / BuildConfig fields, or None without --input-bits."""
    if bits is None:
        if mean is not None or std is not None:
            raise CompileError("--input-mean/--input-std need --input-bits (the width of the raw pixels)")
        return None
    if not 1 <= int(bits) <= 16:
        raise CompileError(f"--input-bits {bits}: expected 1..16")
    mean = [0.0] if mean is None else [float(v) for v in np.atleast_1d(mean)]
    std = [1.0] if std is None else [float(v) for v in np.atleast_1d(std)]
    if not all(np.isfinite(std)) or any(v == 0 for v in std) or not all(np.isfinite(mean)):
        raise CompileError(f"--input-std {std} / --input-mean {mean}: must be finite, std non-zero")
    return {"bits": int(bits), "mean": mean, "std": std}


def _per_channel(v: list[float], shape: tuple[int, ...], what: str) -> np.ndarray:
    """float32 array broadcasting a per-channel list over a (C, ...) frame shape (a scalar for one value)."""
    a = np.asarray(v, np.float32)
    if a.size == 1:
        return a.reshape(())
    if len(shape) < 2 or shape[0] != a.size:
        raise CompileError(f"--input-{what} has {a.size} values, but the model input {shape} has "
                           f"{shape[0] if len(shape) >= 2 else 'no'} channels")
    return a.reshape((a.size,) + (1,) * (len(shape) - 1))


def normalize(raw: dict, pixels: np.ndarray) -> np.ndarray:
    """Raw pixels (N, *shape) -> the model's float32 input, as torchvision's ToTensor + Normalize compute it."""
    shape = tuple(pixels.shape[1:])
    x = np.asarray(pixels, np.float32) / np.float32(2 ** raw["bits"] - 1)
    return ((x - _per_channel(raw["mean"], shape, "mean")) / _per_channel(raw["std"], shape, "std")).astype(np.float32)


def random_pixels(raw: dict, shape: tuple[int, ...], n: int, seed: int = 0) -> np.ndarray:
    """Random raw pixels plus structured frames (all 0, all max, mid grey, a checkerboard), as model inputs."""
    top = 2 ** raw["bits"] - 1
    rng = np.random.default_rng(seed)
    p = rng.integers(0, top + 1, (n, *shape))
    structured = [np.zeros(shape), np.full(shape, top), np.full(shape, top // 2),
                  (np.indices(shape).sum(axis=0) % 2) * top]
    return normalize(raw, np.concatenate([p, np.stack(structured)]).astype(np.int64))


def record(meta: dict, raw: dict) -> None:
    """graph.meta: the declaration (verification draws pixels with it) and, for ToTensor-style inputs, the uint8
    preprocessing the runtime applies to raw images."""
    meta[RAW_KEY] = dict(raw)
    if raw["bits"] == 8:
        pre = {"range": "unit", "pad_to": None, "channels": None}
        if raw["mean"] != [0.0] or raw["std"] != [1.0]:
            pre.update(mean=list(raw["mean"]), std=list(raw["std"]))
        meta.setdefault("model", {}).setdefault("preprocess", pre)


def common_unit(a: np.ndarray, tol: float = UNIT_TOL, max_mult: int = MAX_MULT) -> tuple[float, np.ndarray] | None:
    """(unit, integer multipliers m) with |m * unit - a| <= tol * |a| for every value of `a` (float64, any shape),
    the smallest largest multiplier, or None when none is at most `max_mult`. One value: (a, 1)."""
    a = np.asarray(a, np.float64)
    vals, inv = np.unique(np.abs(a), return_inverse=True)
    if vals[0] == 0:
        return None
    if len(vals) == 1:
        return float(vals[0]), np.sign(a).astype(np.int64)
    m0 = np.arange(1, int(max_mult * vals[0] / vals[-1]) + 2, dtype=np.float64)   # the smallest value's multiplier
    lo, hi = vals[0] * (1 - tol) / m0, vals[0] * (1 + tol) / m0
    ms = []
    for v in vals[1:]:
        mc = np.maximum(np.round(v / (vals[0] / m0)), 1.0)
        lo, hi = np.maximum(lo, v * (1 - tol) / mc), np.minimum(hi, v * (1 + tol) / mc)
        ms.append(mc)
    ok = np.flatnonzero((lo <= hi) & (ms[-1] <= max_mult))
    if not len(ok):
        return None
    i = ok[0]
    unit = float((lo[i] + hi[i]) / 2)
    m = np.array([1.0 * m0[i]] + [mc[i] for mc in ms])
    if not np.all(np.abs(m * unit - vals) <= tol * vals):          # the midpoint of the common interval
        unit = float(lo[i])
    return unit, (m[inv].reshape(a.shape) * np.sign(a)).astype(np.int64)


def _affine(pre: list[dict], raw: dict, shape: tuple[int, ...], node) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) per element of the first layer's input: u = a * p + b (float64) through the normalization and the
    graph's float ops `pre`; CompileError where they are not affine in p."""
    top = 2 ** raw["bits"] - 1

    def f(p: float) -> np.ndarray:
        x = np.full((1, *shape), p / top, np.float64)
        x = (x - _per_channel(raw["mean"], shape, "mean").astype(np.float64)) / \
            _per_channel(raw["std"], shape, "std").astype(np.float64)
        for op in pre:
            if op["op"] == "reshape":
                x = x.reshape((1, *op["shape"]))
                continue
            v = np.asarray(op["value"], np.float64)
            if op["op"] == "div" and op.get("reverse"):
                raise CompileError.at(node, "the float ops before the first layer divide by the input (c / x), "
                                      "which is not affine in the pixels")
            x = {"mul": np.multiply, "add": np.add, "sub": (lambda a, c: c - a) if op.get("reverse") else np.subtract,
                 "div": np.divide}[op["op"]](x, v)
        return x[0]

    b = f(0.0)
    a = f(1.0) - b
    if not np.allclose(f(float(top)), a * top + b, rtol=1e-9, atol=1e-12):
        raise CompileError.at(node, "the float ops before the first layer are not affine in the input pixels")
    return a, b


def raw_input_state(lw, node, t: str, user_shape: tuple[int, ...], pre: list[dict]):
    """(InputSpec, State) for a first layer `node` reading the float tensor `t` of a --input-bits model."""
    from compiler.ir.graph import InputSpec

    raw = lw.raw_input
    qshape = tuple(lw.shape(t))
    a, b = _affine(pre, raw, user_shape, node)
    found = common_unit(a)
    if found is None:
        per_c = [float(v) for v in np.unique(np.abs(a))][:4]
        raise CompileError.at(node, f"the normalized input has different scales per channel ({per_c} per pixel "
                              f"step, std {raw['std'][:4]}) with no common integer unit: their ratios need "
                              f"multipliers above {MAX_MULT} even within one float32 rounding",
                              hint="normalize with one std for every channel (per-channel means are fine; FINN's "
                              "ImageNet models use 0.226), or with stds in small integer ratios")
    unit, mult = found
    bits = raw["bits"]
    if len(qshape) not in (1, 2, 3):
        raise CompileError.at(node, f"first layer input of shape {qshape}; expected (C, H, W), (C, L) or (K,)")
    top = 2 ** bits - 1
    inv: list[dict] = []                      # model input -> pixels (exact by rounding)
    std = _per_channel(raw["std"], user_shape, "std")
    mean = _per_channel(raw["mean"], user_shape, "mean")
    if np.any(std != 1):
        inv.append({"op": "mul", "value": np.asarray(std, np.float32)})
    if np.any(mean != 0):
        inv.append({"op": "add", "value": np.asarray(mean, np.float32)})
    inv.append({"op": "mul", "value": np.float32(top)})
    inv.append({"op": "quant", "scale": np.float32(1.0), "zeropt": np.float32(0.0), "bitwidth": bits, "signed": 0,
                "narrow": 0, "rounding_mode": "ROUND"})
    if qshape != tuple(user_shape):
        inv.append({"op": "reshape", "shape": list(qshape)})
    mult = None if np.all(mult == 1) else mult.reshape(qshape)
    st = State(t, qshape, range_dtype(0, top), unit, offset=b.reshape(qshape), mult=mult)
    if st.nd == 1:
        inv.append({"op": "reshape", "shape": list(st.img)})
    if st.spatial:
        inv.append({"op": "transpose", "perm": [1, 2, 0]})
    lw.notes.append(f"{node.name}: the model's float input is declared as {bits}-bit pixels (--input-bits); the "
                    "accelerator takes the raw pixels and the normalization is folded into this layer's thresholds")
    return InputSpec(tuple(user_shape), st.dtype, inv), st


def _columns(node, st, W: np.ndarray, per_elem: np.ndarray, kernel, what: str) -> np.ndarray:
    """A per-element value of the first layer's input (QONNX layout) per weight column of W (MH, MW): per channel
    in the (ky, kx, c) window order of a conv, per row of a depthwise one, per input of a MatMul."""
    if kernel is not None:                                   # conv: one value per channel
        c = st.img[0]
        per_c = np.asarray(per_elem).reshape(c, -1)
        if not np.all(per_c == per_c[:, :1]):
            raise CompileError.at(node, f"the normalized input's {what} varies across pixels of a channel")
        v = per_c[:, 0]
        k = kernel[0] * kernel[1]
        if W.shape[1] == k and c * k != k:             # depthwise (VVAU): row c reads only channel c
            return np.broadcast_to(v[:, None], W.shape)
        return np.broadcast_to(np.tile(v, k), W.shape)
    flat = np.asarray(per_elem).reshape(-1)
    return np.broadcast_to(flat if st.perm is None else flat[st.perm], W.shape)


def fold_normalization(lw, node, st, W: np.ndarray, Ws: np.ndarray, wdt: str, bias, kernel, pads):
    """The first layer on normalized pixels: (weights, weight datatype, bias float32 (MH,), the threshold check's
    extra slack in accumulator units (MH,)). W/Ws are the IR weights (MH, MW) (columns (ky, kx, c) for a conv); the
    offsets' share of the sum becomes a bias, per-channel unit multipliers scale the weight columns."""
    mh = W.shape[0]
    cols = _columns(node, st, W, np.asarray(st.offset, np.float64), kernel, "offset")
    if kernel is not None and any(pads) and np.any(cols != 0):
        off_c = np.asarray(st.offset, np.float64).reshape(st.img[0], -1)[:, 0]
        mult_c = 1 if st.mult is None else np.asarray(st.mult).reshape(st.img[0], -1)[:, 0]
        p0 = -off_c / (st.scale * mult_c)
        raise CompileError.at(node, f"zero padding of the normalized input is the pixel value "
                              f"{np.round(p0, 3).tolist()[:4]} per channel, not an integer pixel, so the padded "
                              "window has no integer form", hint="normalize without a mean (--input-mean 0), "
                              "or pad the image before the model")
    wf = W.astype(np.float64) * Ws.astype(np.float64)
    extra = (wf * cols).sum(axis=1)
    b0 = np.zeros(mh) if bias is None else np.broadcast_to(np.asarray(bias, np.float64).reshape(-1), (mh,))
    # QONNX rounds each normalized pixel (a few float32 ops): |du| <= 3u|u| = 3u * unit * |m p + b/unit|; within the
    # verification's gamma(MW+6) * (slack + ...) when the slack holds sum |W'| p_max + sum |W| |b/unit|
    pmax = float(_top_pixel(st.dtype))
    off_units = (np.abs(W) * np.abs(cols) / abs(st.scale)).sum(axis=1)
    if st.mult is not None:
        m = _columns(node, st, W, st.mult, kernel, "scale")
        W = W.astype(np.int64) * m
        acc = int((np.abs(W) * pmax).sum(axis=1).max(initial=0))
        if acc >= 2**31:
            ms = sorted({int(v) for v in np.unique(np.abs(m))})
            raise CompileError.at(node, f"the per-channel normalization's scales share an integer unit only with "
                                  f"multipliers {ms[:6]} (exact within one float32 rounding), and the first layer's "
                                  f"accumulator would then reach {acc} > 2^31 (32-bit accumulators)",
                                  hint="normalize with one std for every channel (per-channel means are fine; FINN's "
                                  "ImageNet models use 0.226), with stds in small integer ratios, or with fewer "
                                  "first-layer weight bits")
        w_lo, w_hi = int(W.min(initial=0)), int(W.max(initial=0))
        old = wdt
        wdt = range_dtype(w_lo, w_hi)
        # m_c * unit is within UNIT_TOL of a_c: the IR sum moves by at most UNIT_TOL * sum |W'| p_max units, once
        # more sum |W'| p_max in the slack (gamma(MW+6) >= 7 * 2^-24 > UNIT_TOL)
        slack = 2 * (np.abs(W) * pmax).sum(axis=1) + off_units
        ms = sorted({int(v) for v in np.unique(np.abs(m))})
        lw.notes.append(f"{node.name}: the per-channel normalization shares one integer unit {st.scale:.6g} with "
                        f"multipliers {ms[:6]} (exact within one float32 rounding of each channel's scale), folded "
                        f"into the weights: {old} -> {wdt}")
    else:
        slack = (np.abs(W) * pmax).sum(axis=1) + off_units
    return W, wdt, (b0 + extra).astype(np.float32), slack


def _top_pixel(dt: str) -> int:
    from compiler.ir.datatypes import value_range

    return int(value_range(dt)[1])
