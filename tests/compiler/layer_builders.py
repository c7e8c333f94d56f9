"""Hand-built IR layers and graphs (an MVTU, a SlidingWindow, a chain of them) for the cost, folding and report
tests."""
import numpy as np

from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec


def mvtu(name="m", mw=64, mh=32, nv=1, pe=1, simd=1, idt="BIPOLAR", wdt="BIPOLAR", odt="BIPOLAR", acc="INT8",
         noact=False, n_thr=1):
    xnor = idt == "BIPOLAR" and wdt == "BIPOLAR"
    arrays = {"weights": np.ones((mh, mw), np.int64)}
    if not noact:
        arrays["thresholds"] = np.zeros((mh, n_thr), np.int64)
    vec = () if nv == 1 else (nv,)
    return Layer(name, "MVTU", (*vec, mw), (*vec, mh), idt, acc if noact else odt,
                 dict(MW=mw, MH=mh, num_vectors=nv, weight_dtype=wdt, acc_dtype=acc, out_bias=0,
                      binary_xnor=xnor, noact=noact), arrays, {"pe": pe, "simd": simd})


def swg(h=5, c=4, simd=2, pad=(0, 0, 0, 0), k=3, s=1, dt="BIPOLAR"):
    oh = (h + pad[0] + pad[2] - k) // s + 1
    ow = (h + pad[1] + pad[3] - k) // s + 1
    return Layer("s", "SlidingWindow", (h, h, c), (oh, ow, k * k * c), dt, dt,
                 dict(ifm_dim=[h, h], channels=c, kernel=[k, k], stride=[s, s], pad=list(pad), pad_value=0,
                      ofm_dim=[oh, ow]), {}, {"simd": simd})


def graph(*layers):
    return DataflowGraph("g", list(layers), InputSpec(layers[0].in_shape, layers[0].in_dtype),
                         OutputSpec(layers[-1].out_shape))
