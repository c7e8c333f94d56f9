"""A first layer on float input (`bnnc compile --input-bits B [--input-mean M --input-std S]`).

Models such as Brevitas's resnet18_4w4a apply their first quantized MatMul/Gemm/Conv to normalized float pixels,
with no input quantizer. Declaring the input as B-bit pixels p (the model's input is (p / (2^B - 1) - mean) / std,
torchvision's ToTensor + Normalize; the graph's own float ops before the first layer, e.g. a Sub/Div normalization
inside the model, follow) makes every value the first layer sees an affine function u = a * p + b of an integer
pixel. When `a` is one number for all channels, the layer's sum is a * (W . p) + W . b: an integer accumulator on
the raw pixels times one float unit, plus a per-row constant that joins the bias, so the threshold search folds
the normalization exactly as it folds a bias (FINN's answer: integer images on the accelerator). The accelerator
takes the raw pixels; the host's `input.pre` recovers them from the model input the user has (normalized floats,
exact by rounding: the float32 normalization moves a pixel by far less than 1/2), and uint8 images go through
the recorded preprocessing.

Refused, naming the node: per-channel scales (a std that differs by channel: no single integer unit), and zero
padding of a normalized input with a non-zero mean (QONNX pads with u = 0, the pixel value -b/a, not an integer
pixel in general).
"""
from __future__ import annotations

import numpy as np

from diagnostics.errors import CompileError
from compiler.frontend.quantizers import range_dtype
from compiler.frontend.state import State

RAW_KEY = "raw_input"


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
    if raw["bits"] == 8 and raw["mean"] == [0.0] and raw["std"] == [1.0]:
        meta.setdefault("model", {}).setdefault("preprocess", {"range": "unit", "pad_to": None, "channels": None})


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
    unit = float(a.reshape(-1)[0])
    if not np.allclose(a, unit, rtol=1e-12, atol=0):
        per_c = sorted({float(v) for v in np.unique(a.round(12))})[:4]
        raise CompileError.at(node, f"the normalized input has different scales per channel ({per_c} per pixel "
                              "step), so the first layer's sum is no integer multiple of one unit",
                              hint="normalize with one std for every channel (per-channel means are fine)")
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
    st = State(t, qshape, range_dtype(0, top), unit, offset=b.reshape(qshape))
    if st.nd == 1:
        inv.append({"op": "reshape", "shape": list(st.img)})
    if st.spatial:
        inv.append({"op": "transpose", "perm": [1, 2, 0]})
    lw.notes.append(f"{node.name}: the model's float input is declared as {bits}-bit pixels (--input-bits); the "
                    "accelerator takes the raw pixels and the normalization is folded into this layer's thresholds")
    return InputSpec(tuple(user_shape), st.dtype, inv), st


def offset_bias(node, st, W: np.ndarray, Ws: np.ndarray, bias, kernel, pads) -> tuple[np.ndarray, np.ndarray]:
    """The normalized pixels' offsets as a bias: (new bias float32 (MH,), the threshold check's extra slack in
    accumulator units (MH,)). W/Ws are the IR weights (MH, MW) (columns (ky, kx, c) for a conv)."""
    mh = W.shape[0]
    off = np.asarray(st.offset, np.float64)
    if kernel is not None:                                   # conv: one offset per channel
        c = st.img[0]
        per_c = off.reshape(c, -1)
        if not np.all(per_c == per_c[:, :1]):
            raise CompileError.at(node, "the normalized input's offset varies across pixels of a channel")
        off_c = per_c[:, 0]
        if any(pads) and np.any(off_c != 0):
            p0 = -off_c / st.scale
            raise CompileError.at(node, f"zero padding of the normalized input is the pixel value "
                                  f"{np.round(p0, 3).tolist()[:4]} per channel, not an integer pixel, so the padded "
                                  "window has no integer form", hint="normalize without a mean (--input-mean 0), "
                                  "or pad the image before the model")
        k = kernel[0] * kernel[1]
        if W.shape[1] == k and c * k != k:             # depthwise (VVAU): row c reads only channel c
            cols = np.broadcast_to(off_c[:, None], W.shape)
        else:
            cols = np.tile(off_c, k)
    else:
        cols = off.reshape(-1) if st.perm is None else off.reshape(-1)[st.perm]
    wf = W.astype(np.float64) * Ws.astype(np.float64)
    cols = np.broadcast_to(cols, W.shape)
    extra = (wf * cols).sum(axis=1)
    b0 = np.zeros(mh) if bias is None else np.broadcast_to(np.asarray(bias, np.float64).reshape(-1), (mh,))
    # QONNX rounds each normalized pixel (a few float32 ops): |du| <= 3u|u| = 3u * unit * |p + b/a|; within the
    # verification's gamma(MW+6) * (slack + ...) when the slack holds sum |W| (p_max + |b/a|)
    pmax = float(_top_pixel(st.dtype))
    slack = (np.abs(W) * (pmax + np.abs(cols) / abs(st.scale))).sum(axis=1)
    return (b0 + extra).astype(np.float32), slack


def _top_pixel(dt: str) -> int:
    from compiler.ir.datatypes import value_range

    return int(value_range(dt)[1])
