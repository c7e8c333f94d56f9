"""Random hand-built IR graphs (MLPs and CNNs over every datatype and padding corner), shared by the simulator
and integer-GEMM tests."""
import numpy as np

from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec, dtype


# ---- random graph builder ----------------------------------------------------------------------------------
class Builder:
    def __init__(self, rng, shape, in_dtype):
        self.rng, self.shape, self.dt, self.layers = rng, tuple(shape), in_dtype, []
        self.in_shape, self.in_dtype = tuple(shape), in_dtype

    def add(self, kind, out_shape, out_dtype, attrs, arrays=None, in_shape=None):
        name = f"l{len(self.layers)}_{kind}"
        self.layers.append(Layer(name, kind, in_shape or self.shape, tuple(out_shape), self.dt, out_dtype, attrs,
                                 arrays or {}))
        self.shape, self.dt = tuple(out_shape), out_dtype

    def _thresholds(self, lo, hi, rows, out_dtype):
        """Sorted thresholds per row, partly outside [lo, hi] (never / always reached), sometimes one shared row."""
        n_thr = 1 if out_dtype == "BIPOLAR" else int(dtype(out_dtype).max() - dtype(out_dtype).min())
        shared = self.rng.random() < 0.25
        r = 1 if shared else rows
        lo_, hi_ = (np.min(lo), np.max(hi)) if shared else (np.asarray(lo)[:, None], np.asarray(hi)[:, None])
        u = self.rng.random((r, n_thr))
        t = np.floor(lo_ - 3 + u * (hi_ - lo_ + 7)).astype(np.int64)
        return np.sort(t, axis=1)

    def mvtu(self, mh, out_dtype=None, weight_dtype=None, flatten=False):
        rng = self.rng
        prefix = () if flatten or len(self.shape) == 1 else self.shape[:-1]
        mw = int(np.prod(self.shape)) if flatten else self.shape[-1]
        in_shape = (mw,) if flatten else self.shape
        wdt = weight_dtype or ("BIPOLAR" if self.dt == "BIPOLAR" else rng.choice(["BIPOLAR", "INT2", "INT4"]))
        if wdt == "BIPOLAR":
            w = rng.choice([-1, 1], size=(mh, mw))
        else:
            d = dtype(wdt)
            w = rng.integers(int(d.min()), int(d.max()), size=(mh, mw), endpoint=True)
        xd = dtype(self.dt)
        amin = np.minimum(w * int(xd.min()), w * int(xd.max())).sum(1)
        amax = np.maximum(w * int(xd.min()), w * int(xd.max())).sum(1)
        attrs = {"MW": mw, "MH": mh, "num_vectors": int(np.prod(prefix)) if prefix else 1, "weight_dtype": wdt,
                 "acc_dtype": "INT32", "out_bias": 0, "binary_xnor": self.dt == "BIPOLAR" and wdt == "BIPOLAR",
                 "noact": out_dtype is None}
        arrays = {"weights": w}
        if out_dtype is None:
            out_dtype = "INT32"
        else:
            arrays["thresholds"] = self._thresholds(amin, amax, mh, out_dtype)
            attrs["out_bias"] = 0 if out_dtype == "BIPOLAR" else int(dtype(out_dtype).min())
        self.add("MVTU", prefix + (mh,), out_dtype, attrs, arrays, in_shape=in_shape)

    def thresholding(self, out_dtype):
        c = self.shape[-1]
        d = dtype(self.dt)
        t = self._thresholds(np.full(c, int(d.min())), np.full(c, int(d.max())), c, out_dtype)
        bias = 0 if out_dtype == "BIPOLAR" else int(dtype(out_dtype).min())
        nv = int(np.prod(self.shape[:-1])) if len(self.shape) > 1 else 1
        self.add("Thresholding", self.shape, out_dtype, {"num_channels": c, "num_vectors": nv, "out_bias": bias},
                 {"thresholds": t})

    def sliding_window(self, k, s, pad, pad_value=0):
        h, w, c = self.shape
        oh, ow = (h + pad[0] + pad[2] - k[0]) // s[0] + 1, (w + pad[1] + pad[3] - k[1]) // s[1] + 1
        out_dt = "INT2" if self.dt == "BIPOLAR" and any(pad) else self.dt
        self.add("SlidingWindow", (oh, ow, k[0] * k[1] * c), out_dt,
                 {"ifm_dim": [h, w], "channels": c, "kernel": list(k), "stride": list(s), "pad": list(pad),
                  "pad_value": pad_value, "ofm_dim": [oh, ow]})

    def maxpool(self, k, s):
        h, w, c = self.shape
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
        self.add("MaxPool", (oh, ow, c), self.dt, {"ifm_dim": [h, w], "channels": c, "kernel": [k, k],
                                                   "stride": [s, s], "ofm_dim": [oh, ow]})

    def label_select(self, k):
        n = int(np.prod(self.shape))
        self.add("LabelSelect", (k,), "UINT8", {"num_labels": n, "k": k}, in_shape=(n,))

    def graph(self):
        g = DataflowGraph("rand", self.layers, InputSpec(self.in_shape, self.in_dtype), OutputSpec(self.shape))
        g.validate()
        return g

    def inputs(self, n):
        if self.in_dtype == "BIPOLAR":
            return self.rng.choice([-1, 1], size=(n, *self.in_shape))
        d = dtype(self.in_dtype)
        return self.rng.integers(int(d.min()), int(d.max()), size=(n, *self.in_shape), endpoint=True)


ACT = ["BIPOLAR", "UINT2", "INT2", "UINT4", "UINT8"]


def random_mlp(seed):
    rng = np.random.default_rng(seed)
    in_dt = rng.choice(["BIPOLAR", "BIPOLAR", "INT8", "UINT2"])
    # odd lengths, exactly 64, just past a word, several words
    b = Builder(rng, (int(rng.choice([1, 7, 63, 64, 65, 100, 130, 200])),), in_dt)
    for _ in range(rng.integers(1, 4)):
        b.mvtu(int(rng.integers(1, 40)), out_dtype=str(rng.choice(ACT)))
        if rng.random() < 0.2:
            b.thresholding(str(rng.choice(ACT)))
    b.mvtu(int(rng.integers(2, 12)), out_dtype=None)
    if rng.random() < 0.5:
        b.label_select(int(rng.integers(1, b.shape[0] + 1)))
    return b


def random_cnn(seed):
    rng = np.random.default_rng(seed)
    in_dt = rng.choice(["BIPOLAR", "INT8", "INT2"])
    b = Builder(rng, (int(rng.integers(5, 11)), int(rng.integers(5, 11)), int(rng.integers(1, 4))), in_dt)
    for _ in range(rng.integers(1, 3)):
        pad = [int(v) for v in rng.integers(0, 2, 4)] if rng.random() < 0.5 else [0, 0, 0, 0]
        hmax, wmax = b.shape[0] + pad[0] + pad[2], b.shape[1] + pad[1] + pad[3]
        k = (int(rng.integers(1, min(3, hmax) + 1)), int(rng.integers(1, min(3, wmax) + 1)))
        pad_value = int(rng.choice([0, -1])) if b.dt not in ("BIPOLAR",) and dtype(b.dt).signed() else 0
        b.sliding_window(k, (int(rng.integers(1, 3)), int(rng.integers(1, 3))), pad, pad_value)
        b.mvtu(int(rng.integers(1, 9)), out_dtype=str(rng.choice(ACT)))
        if min(b.shape[:2]) >= 3 and rng.random() < 0.6:
            b.maxpool(int(rng.choice([2, 3])), int(rng.choice([1, 2])))
    b.mvtu(int(rng.integers(2, 12)), out_dtype=str(rng.choice(ACT)) if rng.random() < 0.3 else None, flatten=True)
    if rng.random() < 0.5:
        b.label_select(int(rng.integers(1, b.shape[0] + 1)))
    return b
