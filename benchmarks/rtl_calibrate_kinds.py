"""Calibration data of the RTL-target cost model (compiler/backends/rtl/cost.py, library_cost.py) for the pool, depthwise and
integer-MVTU kinds: one-layer designs at several sizes, synthesized by Yosys (synth_xilinx xc7, `bnnc synth`'s flow), each
unit (the layer, its width converter and output FIFO) beside `estimate(graph, target="rtl")`.

usage: python benchmarks/rtl_calibrate_kinds.py [WORK_DIR] [--kinds VVAU,AvgPool,MaxPool,MVTU] [--names SUBSTR,...]
The configurations span PE, SIMD, channels, kernel, datatypes (MVTU: 2..4-bit, signed and unsigned, +-1 weights,
DSP lanes) and the global / disjoint / overlapping pool paths;
docs/cost_model.md records the table this prints.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.yosys import synthesize
from compiler.estimate.cost import estimate
from compiler.ir.datatypes import signed_bits, value_range
from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec


def _thresholds(rng, c: int, nt: int, lo: int, hi: int) -> np.ndarray:
    return np.sort(rng.integers(lo, hi + 1, size=(c, nt)), axis=1)


def vvau(h: int, c: int, k: int, in_dt: str, w_dt: str, out_dt: str | None, pe: int, nt: int = 15) -> Layer:
    rng = np.random.default_rng(c * 31 + pe)
    wlo, whi = value_range(w_dt)
    lo, hi = value_range(in_dt)
    w = rng.integers(wlo, whi + 1, size=(c, k * k))
    span = max(abs(lo), hi) * max(abs(wlo), whi) * k * k
    acc = f"INT{signed_bits(-span, span)}"
    attrs = {"channels": c, "kernel": [k, k], "num_vectors": h * h, "weight_dtype": w_dt, "acc_dtype": acc,
             "out_bias": 0, "noact": out_dt is None}
    arrays = {"weights": w}
    if out_dt is not None:
        arrays["thresholds"] = _thresholds(rng, c, nt if out_dt != "BIPOLAR" else 1, -span // 3, span // 3)
    return Layer(f"dw_c{c}_k{k}_pe{pe}", "VVAU", (h, h, k * k * c), (h, h, c), in_dt, out_dt or acc, attrs=attrs,
                 arrays=arrays, folding={"pe": pe})


def mvtu(mw: int, mh: int, in_dt: str, w_dt: str, out_dt: str | None, pe: int, simd: int, nt: int = 3) -> Layer:
    """An integer MVTU layer (random weights over the whole weight datatype, sorted random thresholds)."""
    rng = np.random.default_rng(mw * 7 + mh + pe)
    wlo, whi = value_range(w_dt)
    w = rng.choice([-1, 1], size=(mh, mw)) if w_dt == "BIPOLAR" else rng.integers(wlo, whi + 1, size=(mh, mw))
    lo, hi = value_range(in_dt)
    span = max(abs(lo), hi) * max(abs(wlo), whi) * mw
    acc = f"INT{signed_bits(-span, span)}"
    attrs = {"MW": mw, "MH": mh, "num_vectors": 1, "weight_dtype": w_dt, "acc_dtype": acc, "out_bias": 0,
             "binary_xnor": False, "noact": out_dt is None}
    arrays = {"weights": w}
    if out_dt is not None:
        arrays["thresholds"] = _thresholds(rng, mh, nt, -span // 8, span // 8)
    return Layer(f"mvtu_{mw}x{mh}_{in_dt}x{w_dt}_pe{pe}_simd{simd}".lower(), "MVTU", (1, mw), (1, mh), in_dt,
                 out_dt or acc, attrs=attrs, arrays=arrays, folding={"pe": pe, "simd": simd})


def pool(kind: str, h: int, c: int, k: int, s: int, in_dt: str, pe: int, out_dt: str | None = None,
         nt: int = 15) -> Layer:
    o = (h - k) // s + 1
    attrs = {"ifm_dim": [h, h], "channels": c, "kernel": [k, k], "stride": [s, s], "ofm_dim": [o, o]}
    arrays = {}
    if kind == "AvgPool":
        lo, hi = value_range(in_dt)
        n = k * k
        acc = f"INT{signed_bits(min(n * lo, 0), n * hi)}"
        attrs.update(acc_dtype=acc, out_bias=0, noact=out_dt is None)
        if out_dt is not None:
            arrays["thresholds"] = _thresholds(np.random.default_rng(c), c, nt, n * lo // 2, n * hi // 2)
        out_dt = out_dt or acc
    else:
        out_dt = in_dt
    return Layer(f"{kind.lower()}_h{h}_c{c}_k{k}_s{s}_pe{pe}", kind, (h, h, c), (o, o, c), in_dt, out_dt,
                 attrs=attrs, arrays=arrays, folding={"pe": pe})


CONFIGS = {
    "VVAU": [vvau(8, 16, 3, "INT4", "INT4", "INT4", 1), vvau(8, 32, 3, "INT4", "INT4", "INT4", 2),
             vvau(8, 64, 3, "INT4", "INT4", "INT4", 4), vvau(8, 128, 3, "INT4", "INT4", "INT4", 8),
             vvau(8, 256, 3, "INT4", "INT4", "INT4", 1), vvau(8, 64, 3, "UINT2", "INT2", "UINT2", 16, nt=3),
             vvau(8, 32, 5, "INT4", "INT4", None, 4)],
    "AvgPool": [pool("AvgPool", 8, 64, 8, 8, "INT4", 1, "INT4"), pool("AvgPool", 8, 64, 8, 8, "INT4", 8, "INT4"),
                pool("AvgPool", 4, 256, 4, 4, "UINT4", 4, None), pool("AvgPool", 16, 32, 2, 2, "INT4", 2, "UINT4"),
                pool("AvgPool", 16, 128, 2, 2, "UINT2", 16, "UINT2", nt=3)],
    "MaxPool": [pool("MaxPool", 16, 32, 3, 2, "INT4", 1), pool("MaxPool", 16, 64, 3, 2, "INT4", 4),
                pool("MaxPool", 32, 64, 3, 1, "UINT2", 16), pool("MaxPool", 16, 16, 2, 2, "INT4", 4)],
    "MVTU": [mvtu(64, 32, "UINT2", "INT2", "UINT2", 4, 16), mvtu(256, 64, "UINT2", "INT2", "UINT2", 8, 32),
             mvtu(64, 64, "INT2", "INT2", "UINT2", 16, 8), mvtu(128, 32, "UINT3", "INT3", "UINT3", 4, 16, nt=7),
             mvtu(64, 32, "UINT4", "INT2", "UINT4", 2, 32, nt=15), mvtu(64, 16, "UINT2", "UINT2", "UINT2", 2, 8),
             mvtu(128, 64, "UINT2", "BIPOLAR", "UINT2", 8, 16), mvtu(64, 32, "INT3", "INT4", None, 4, 8),
             mvtu(96, 24, "UINT2", "INT2", "UINT2", 3, 12), mvtu(64, 32, "INT4", "INT4", "INT4", 4, 16, nt=15),
             mvtu(32, 64, "UINT2", "INT2", "UINT2", 32, 4),
             # held out of the fit (products of more than 6 code bits)
             mvtu(64, 10, "INT2", "INT8", "UINT2", 10, 8), mvtu(64, 32, "INT8", "BIPOLAR", "UINT2", 4, 16),
             mvtu(64, 32, "UINT4", "INT3", "UINT4", 4, 8, nt=15)],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/rtl_calibrate_kinds")
    ap.add_argument("--kinds", default=",".join(CONFIGS))
    ap.add_argument("--names", default="", help="only the designs whose name contains one of these (comma-separated)")
    args = ap.parse_args()
    only = [n for n in args.names.split(",") if n]
    work = Path(args.work)
    rows = []
    for kind in args.kinds.split(","):
        for layer in CONFIGS[kind]:
            if only and not any(n in layer.name for n in only):
                continue
            g = DataflowGraph(layer.name, [layer], InputSpec(tuple(layer.in_shape), layer.in_dtype),
                              OutputSpec(tuple(layer.out_shape)))
            g.validate()
            proj = generate_rtl(g, work / layer.name)
            res = synthesize(proj, "xc7")
            syn = res["units"]["unit_00"]
            est = estimate(g, target="rtl").layers[0].resources
            rows.append((layer.name, syn, est, res["tool"]))
            print(f"{layer.name:34} " + "  ".join(
                f"{k} {syn[k]}/{getattr(est, k.lower())}" for k in ("LUT", "FF", "BRAM18", "DSP")), flush=True)
    print(f"\n{rows[0][3]}, xc7, per unit (layer + output FIFO), synth/estimate; "
          f"LUT ratios: " + ", ".join(f"{r[1]['LUT'] / max(1, r[2].lut):.2f}" for r in rows))


if __name__ == "__main__":
    main()
