"""Small hand-built IR graphs for the HLS library tests: each layer kind with padding, stride, folding and
datatype corners that the standard topologies do not reach."""
from __future__ import annotations

import math

import numpy as np

from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec, dtype


def _signed_name(lo: int, hi: int) -> str:
    b = 2
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return f"INT{b}"


def swg(name, in_shape, kernel, stride, pad, in_dtype, out_dtype=None, pad_value=0, simd=1) -> Layer:
    h, w, c = in_shape
    oh = (h + pad[0] + pad[2] - kernel[0]) // stride[0] + 1
    ow = (w + pad[1] + pad[3] - kernel[1]) // stride[1] + 1
    return Layer(name, "SlidingWindow", (h, w, c), (oh, ow, kernel[0] * kernel[1] * c), in_dtype,
                 out_dtype or in_dtype,
                 attrs={"ifm_dim": [h, w], "channels": c, "kernel": list(kernel), "stride": list(stride),
                        "pad": list(pad), "pad_value": pad_value, "ofm_dim": [oh, ow]},
                 folding={"simd": simd})


def _thresholds(rng, rows: int, nt: int, lo: int, hi: int) -> np.ndarray:
    return np.sort(rng.integers(lo, hi + 1, size=(rows, nt)), axis=1)


def mvtu(name, rng, prefix, mw, mh, in_dtype, weight_dtype, out_dtype=None, nt=1, out_bias=0, pe=1, simd=1,
         broadcast=False) -> Layer:
    """out_dtype None: noact (output the accumulator)."""
    wd = dtype(weight_dtype)
    w = rng.choice([-1, 1], size=(mh, mw)) if weight_dtype == "BIPOLAR" else \
        rng.integers(int(wd.min()), int(wd.max()) + 1, size=(mh, mw))
    lo_x, hi_x = int(dtype(in_dtype).min()), int(dtype(in_dtype).max())
    neg = np.minimum(np.minimum(w * lo_x, w * hi_x), 0).sum(1)
    pos = np.maximum(np.maximum(w * lo_x, w * hi_x), 0).sum(1)
    acc = _signed_name(int(neg.min()), int(pos.max()))
    xnor = in_dtype == "BIPOLAR" and weight_dtype == "BIPOLAR"
    nv = math.prod(prefix)
    attrs = {"MW": mw, "MH": mh, "num_vectors": nv, "weight_dtype": weight_dtype, "acc_dtype": acc,
             "out_bias": out_bias, "binary_xnor": xnor, "noact": out_dtype is None}
    arrays = {"weights": w}
    if out_dtype is not None:
        # about one standard deviation of the accumulator on random inputs, so every count occurs
        span = max(1, int(math.sqrt(mw) * max(abs(lo_x), abs(hi_x)) * max(abs(int(wd.min())), int(wd.max()))))
        arrays["thresholds"] = _thresholds(rng, 1 if broadcast else mh, nt, -span, span)
    return Layer(name, "MVTU", (*prefix, mw), (*prefix, mh), in_dtype, out_dtype or acc, attrs=attrs,
                 arrays=arrays, folding={"pe": pe, "simd": simd})


def thresholding(name, rng, prefix, c, in_dtype, out_dtype, nt, out_bias=0, pe=1, broadcast=False) -> Layer:
    lo, hi = int(dtype(in_dtype).min()), int(dtype(in_dtype).max())
    t = _thresholds(rng, 1 if broadcast else c, nt, lo // 2, hi // 2)
    return Layer(name, "Thresholding", (*prefix, c), (*prefix, c), in_dtype, out_dtype,
                 attrs={"num_channels": c, "num_vectors": math.prod(prefix), "out_bias": out_bias},
                 arrays={"thresholds": t}, folding={"pe": pe})


def maxpool(name, in_shape, kernel, stride, in_dtype, pe=1) -> Layer:
    h, w, c = in_shape
    oh, ow = (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1
    return Layer(name, "MaxPool", (h, w, c), (oh, ow, c), in_dtype, in_dtype,
                 attrs={"ifm_dim": [h, w], "channels": c, "kernel": list(kernel), "stride": list(stride),
                        "ofm_dim": [oh, ow]}, folding={"pe": pe})


def vvau(name, rng, prefix, c, kernel, in_dtype, weight_dtype, out_dtype=None, nt=1, out_bias=0, pe=1) -> Layer:
    """Depthwise layer after a SlidingWindow; out_dtype None: noact (output the accumulator)."""
    k = kernel[0] * kernel[1]
    wd = dtype(weight_dtype)
    w = rng.integers(int(wd.min()), int(wd.max()) + 1, size=(c, k))
    lo_x, hi_x = int(dtype(in_dtype).min()), int(dtype(in_dtype).max())
    neg = np.minimum(np.minimum(w * lo_x, w * hi_x), 0).sum(1)
    pos = np.maximum(np.maximum(w * lo_x, w * hi_x), 0).sum(1)
    acc = _signed_name(int(neg.min()), int(pos.max()))
    attrs = {"channels": c, "kernel": list(kernel), "num_vectors": math.prod(prefix), "weight_dtype": weight_dtype,
             "acc_dtype": acc, "out_bias": out_bias, "noact": out_dtype is None}
    arrays = {"weights": w}
    if out_dtype is not None:
        span = max(1, int(math.sqrt(k) * max(abs(lo_x), abs(hi_x)) * max(abs(int(wd.min())), int(wd.max()))))
        arrays["thresholds"] = _thresholds(rng, c, nt, -span, span)
    return Layer(name, "VVAU", (*prefix, k * c), (*prefix, c), in_dtype, out_dtype or acc, attrs=attrs,
                 arrays=arrays, folding={"pe": pe})


def avgpool(name, rng, in_shape, kernel, stride, in_dtype, out_dtype=None, nt=1, out_bias=0, pe=1,
            pad=(0, 0, 0, 0), thr_range=None) -> Layer:
    """Window sums (zero padding: pad = top, left, bottom, right) then thresholds drawn in thr_range (default:
    half the sum's range); out_dtype None: noact."""
    h, w, c = in_shape
    oh = (h + pad[0] + pad[2] - kernel[0]) // stride[0] + 1
    ow = (w + pad[1] + pad[3] - kernel[1]) // stride[1] + 1
    n = kernel[0] * kernel[1]
    lo, hi = n * int(dtype(in_dtype).min()), n * int(dtype(in_dtype).max())
    acc = _signed_name(min(lo, 0), max(hi, 0))
    tlo, thi = thr_range or (lo // 2, hi // 2)
    arrays = {} if out_dtype is None else {"thresholds": _thresholds(rng, c, nt, tlo, thi)}
    return Layer(name, "AvgPool", (h, w, c), (oh, ow, c), in_dtype, out_dtype or acc,
                 attrs={"ifm_dim": [h, w], "channels": c, "kernel": list(kernel), "stride": list(stride),
                        "pad": list(pad), "ofm_dim": [oh, ow], "acc_dtype": acc, "out_bias": out_bias, "noact": out_dtype is None},
                 arrays=arrays, folding={"pe": pe})


def label_select(name, n, k, in_dtype) -> Layer:
    bits = max(1, (n - 1).bit_length())
    return Layer(name, "LabelSelect", (n,), (k,), in_dtype, f"UINT{max(2, bits)}",
                 attrs={"num_labels": n, "k": k})


def graph(name: str, layers: list[Layer]) -> DataflowGraph:
    g = DataflowGraph(name, layers, InputSpec(tuple(layers[0].in_shape), layers[0].in_dtype),
                      OutputSpec(tuple(layers[-1].out_shape)))
    g.validate()
    return g


def conv_int(seed: int = 0) -> DataflowGraph:
    """Integer conv path: asymmetric padding with a non-zero pad value, stride 2x1, a 2 -> 8 and a 3 -> 2
    width converter, overlapping max-pool windows (floor mode), zero padding, a 96-bit weight word."""
    rng = np.random.default_rng(seed)
    l0 = swg("swg0", (7, 6, 4), (3, 2), (2, 1), (1, 0, 2, 1), "INT4", pad_value=-3, simd=2)        # -> (4, 6, 24)
    l1 = mvtu("mvtu1", rng, (4, 6), 24, 6, "INT4", "INT3", "UINT2", nt=3, pe=3, simd=8)
    l2 = maxpool("pool2", (4, 6, 6), (2, 3), (1, 2), "UINT2", pe=2)                              # -> (3, 2, 6)
    l3 = swg("swg3", (3, 2, 6), (2, 2), (1, 1), (0, 1, 1, 0), "UINT2", simd=3)                   # -> (3, 2, 24)
    l4 = mvtu("mvtu4", rng, (3, 2), 24, 5, "UINT2", "INT4", None, pe=5, simd=24)                 # 24 x 4 bits
    return graph("conv_int", [l0, l1, l2, l3, l4])


def conv_bipolar(seed: int = 1) -> DataflowGraph:
    """Binary path: a zero-padded BIPOLAR input widened to INT2, MAC into BIPOLAR, disjoint 2x2 pooling of
    an odd image (floor mode), XNOR layers with thresholds moved to the popcount domain, a noact XNOR FC
    layer with 128-bit weight words and top-3 selection."""
    rng = np.random.default_rng(seed)
    l0 = swg("swg0", (8, 8, 16), (3, 3), (1, 1), (1, 1, 0, 0), "BIPOLAR", "INT2", simd=8)         # -> (7, 7, 144)
    l1 = mvtu("mvtu1", rng, (7, 7), 144, 16, "INT2", "BIPOLAR", "BIPOLAR", pe=4, simd=16)
    l2 = maxpool("pool2", (7, 7, 16), (2, 2), (2, 2), "BIPOLAR", pe=16)                           # -> (3, 3, 16)
    l3 = swg("swg3", (3, 3, 16), (2, 2), (1, 1), (0, 0, 0, 0), "BIPOLAR", simd=16)                # -> (2, 2, 64)
    l4 = mvtu("mvtu4", rng, (2, 2), 64, 32, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=8, simd=32)
    l5 = mvtu("fc5", rng, (), 128, 10, "BIPOLAR", "BIPOLAR", None, pe=2, simd=128)      # 128-bit words
    l6 = label_select("top6", 10, 3, l5.out_dtype)
    return graph("conv_bipolar", [l0, l1, l2, l3, l4, l5, l6])


def wide_words(seed: int = 5) -> DataflowGraph:
    """MVTU words wider than 64 bits (the C simulation holds them in 64-bit limbs): an INT8 x BIPOLAR MAC of
    448-bit words (the demo LFC's first layer at its board folding), INT3 x INT5 words of 72 and 120 bits whose
    elements straddle limbs, and a noact XNOR layer of 200-bit words (a partial last limb)."""
    rng = np.random.default_rng(seed)
    l0 = mvtu("mvtu0", rng, (2,), 112, 48, "INT8", "BIPOLAR", "INT3", nt=7, out_bias=-4, pe=4, simd=56)
    l1 = mvtu("mvtu1", rng, (2,), 48, 200, "INT3", "INT5", "BIPOLAR", pe=4, simd=24)
    l2 = mvtu("fc2", rng, (2,), 200, 6, "BIPOLAR", "BIPOLAR", None, pe=2, simd=200)
    return graph("wide_words", [l0, l1, l2])


def ties(seed: int = 2) -> DataflowGraph:
    """Thresholding with broadcast thresholds into a 2-bit range, then to INT2 values -1..1, then top-5 of 36:
    ties everywhere, negative values."""
    rng = np.random.default_rng(seed)
    l0 = thresholding("thr0", rng, (3,), 12, "INT8", "UINT2", nt=3, pe=4, broadcast=True)
    l1 = thresholding("thr1", rng, (3,), 12, "UINT2", "INT2", nt=2, out_bias=-1, pe=6)
    l2 = label_select("top2", 36, 5, "INT2")
    return graph("ties", [l0, l1, l2])


def pools_depthwise(seed: int = 3) -> DataflowGraph:
    """MobileNet-style path: a zero-padded depthwise 3x3 (VVAU, thresholds, 2 -> 4 converter), disjoint 2x2
    average pool of an odd image (floor mode) with thresholds, two overlapping zero-padded average pools (3x3
    stride 2 pad 1 as MobileNet/ResNet stems use; 3x2 stride 1 with asymmetric padding), a zero-padded
    depthwise 2x2 into its accumulator (noact), and a global average pool outputting its sums."""
    rng = np.random.default_rng(seed)
    l0 = swg("swg0", (7, 7, 8), (3, 3), (1, 1), (1, 1, 1, 1), "INT4", simd=2)                    # -> (7, 7, 72)
    l1 = vvau("dw1", rng, (7, 7), 8, (3, 3), "INT4", "INT4", "UINT2", nt=3, pe=4)
    l2 = avgpool("pool2", rng, (7, 7, 8), (2, 2), (2, 2), "UINT2", "INT3", nt=5, out_bias=-2, pe=2)  # -> (3, 3, 8)
    l2b = avgpool("pool2b", rng, (3, 3, 8), (3, 3), (2, 2), "INT3", "INT3", nt=7, out_bias=-4, pe=1,
                  pad=(1, 1, 1, 1), thr_range=(-2, 10))                                                             # -> (2, 2, 8)
    l2c = avgpool("pool2c", rng, (2, 2, 8), (3, 2), (1, 1), "INT3", "INT3", nt=7, out_bias=-4, pe=2,
                  pad=(1, 0, 1, 1), thr_range=(-6, 6))                                                             # -> (2, 2, 8)
    l3 = swg("swg3", (2, 2, 8), (2, 2), (1, 1), (1, 1, 0, 0), "INT3", simd=8)                   # -> (2, 2, 32)
    l4 = vvau("dw4", rng, (2, 2), 8, (2, 2), "INT3", "INT2", None, pe=8)
    l5 = avgpool("gap5", rng, (2, 2, 8), (2, 2), (2, 2), l4.out_dtype, None, pe=1)
    return graph("pools_depthwise", [l0, l1, l2, l2b, l2c, l3, l4, l5])


def residual(seed: int = 4) -> DataflowGraph:
    """A stream DAG: DuplicateStreams (pe 2) into a padded 3x3 conv branch and a Thresholding skip branch with
    different datatypes, summed by AddStreams with shifts [1, 0] (a 2x scale ratio) and thresholds."""
    rng = np.random.default_rng(seed)
    d0 = Layer("dup0", "DuplicateStreams", (5, 5, 4), (5, 5, 4), "INT3", "INT3",
               attrs={"num_channels": 4, "num_vectors": 25}, folding={"pe": 2}, outputs=["dup0:0", "dup0:1"])
    l1 = swg("swg1", (5, 5, 4), (3, 3), (1, 1), (1, 1, 1, 1), "INT3", simd=2)
    l1.inputs = ["dup0:0"]
    l2 = mvtu("mvtu2", rng, (5, 5), 36, 4, "INT3", "INT2", "UINT2", nt=3, pe=2, simd=6)
    l3 = thresholding("thr3", rng, (5, 5), 4, "INT3", "INT2", nt=3, out_bias=-2, pe=4)
    l3.inputs = ["dup0:1"]
    t = _thresholds(rng, 4, 3, -2, 7)
    l4 = Layer("add4", "AddStreams", (5, 5, 4), (5, 5, 4), "UINT2", "UINT2",
               attrs={"num_channels": 4, "num_vectors": 25, "in1_dtype": "INT2", "shift": [1, 0],
                      "acc_dtype": "INT5", "out_bias": 0, "noact": False},
               arrays={"thresholds": t}, folding={"pe": 4}, inputs=["mvtu2", "thr3"])
    return graph("residual", [d0, l1, l2, l3, l4])


def concat(seed: int = 6) -> DataflowGraph:
    """Channel concatenation (Inception-style): DuplicateStreams (pe 2) into a padded 3x3 conv tower (6 channels, UINT2)
    and a 1x1 Thresholding tower (4 channels, INT3), concatenated by ConcatStreams with shifts [1, 0] (the conv tower
    on twice the scale) at pe 2, then a Thresholding layer over the 10 channels."""
    rng = np.random.default_rng(seed)
    d0 = Layer("dup0", "DuplicateStreams", (5, 5, 4), (5, 5, 4), "INT3", "INT3",
               attrs={"num_channels": 4, "num_vectors": 25}, folding={"pe": 2}, outputs=["dup0:0", "dup0:1"])
    l1 = swg("swg1", (5, 5, 4), (3, 3), (1, 1), (1, 1, 1, 1), "INT3", simd=2)
    l1.inputs = ["dup0:0"]
    l2 = mvtu("mvtu2", rng, (5, 5), 36, 6, "INT3", "INT2", "UINT2", nt=3, pe=3, simd=6)
    l3 = thresholding("thr3", rng, (5, 5), 4, "INT3", "INT3", nt=7, out_bias=-4, pe=4)
    l3.inputs = ["dup0:1"]
    l4 = Layer("cat4", "ConcatStreams", (5, 5, 6), (5, 5, 10), "UINT2", "INT4",
               attrs={"channels": [6, 4], "num_vectors": 25, "in1_dtype": "INT3", "shift": [1, 0]},
               folding={"pe": 2}, inputs=["mvtu2", "thr3"])
    l5 = thresholding("thr5", rng, (5, 5), 10, "INT4", "UINT2", nt=3, pe=5)
    return graph("concat", [d0, l1, l2, l3, l4, l5])
