"""A tiny, deliberately naive reading of docs/ir.md used only to cross-check lowering in tests
(independent of compiler.sim.simulate, so a bug has to be made twice to go unnoticed)."""
from __future__ import annotations

import numpy as np

from compiler.sim.hostops import run_post, run_pre


def layer(l, x: np.ndarray) -> np.ndarray:
    a = l.attrs
    if l.kind == "MVTU":
        acc = x.reshape(len(x), -1, a["MW"]).astype(np.int64) @ l.arrays["weights"].T.astype(np.int64)
        if a["noact"]:
            y = acc
        else:
            cnt = (acc[..., None] >= l.arrays["thresholds"]).sum(-1)
            y = 2 * cnt - 1 if l.out_dtype == "BIPOLAR" else a["out_bias"] + cnt
        return y.reshape((len(x), *l.out_shape))
    if l.kind == "Thresholding":
        cnt = (x.reshape(len(x), -1, a["num_channels"]).astype(np.int64)[..., None] >= l.arrays["thresholds"]).sum(-1)
        y = 2 * cnt - 1 if l.out_dtype == "BIPOLAR" else a["out_bias"] + cnt
        return y.reshape((len(x), *l.out_shape))
    if l.kind == "SlidingWindow":
        (h, w), c, (kh, kw), (sh, sw), p = a["ifm_dim"], a["channels"], a["kernel"], a["stride"], a["pad"]
        xi = np.pad(x.reshape(len(x), h, w, c), ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)), constant_values=a["pad_value"])
        oh, ow = a["ofm_dim"]
        out = np.empty((len(x), oh, ow, kh * kw * c), np.int64)
        for i in range(oh):
            for j in range(ow):
                out[:, i, j] = xi[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :].reshape(len(x), -1)
        return out
    if l.kind == "MaxPool":
        (h, w), c, (kh, kw), (sh, sw) = a["ifm_dim"], a["channels"], a["kernel"], a["stride"]
        oh, ow = a["ofm_dim"]
        xi = x.reshape(len(x), h, w, c)
        return np.stack([np.stack([xi[:, i * sh : i * sh + kh, j * sw : j * sw + kw].max(axis=(1, 2))
                                   for j in range(ow)], 1) for i in range(oh)], 1)
    if l.kind == "DuplicateStreams":
        return x.reshape((len(x), *l.out_shape))
    if l.kind == "AddStreams":            # x: [input 0, input 1]
        acc = (np.asarray(x[0], np.int64).reshape(len(x[0]), -1) * 2 ** a["shift"][0]
               + np.asarray(x[1], np.int64).reshape(len(x[1]), -1) * 2 ** a["shift"][1])
        if a["noact"]:
            return acc.reshape((len(acc), *l.out_shape))
        cnt = (acc.reshape(len(acc), -1, a["num_channels"])[..., None] >= l.arrays["thresholds"]).sum(-1)
        y = 2 * cnt - 1 if l.out_dtype == "BIPOLAR" else a["out_bias"] + cnt
        return y.reshape((len(acc), *l.out_shape))
    if l.kind == "ConcatStreams":         # per pixel: input 0's channels, then input 1's, each shifted
        n = len(x[0])
        parts = [np.asarray(x[j], np.int64).reshape(n, -1, a["channels"][j]) * 2 ** a["shift"][j] for j in range(2)]
        return np.concatenate(parts, axis=2).reshape((n, *l.out_shape))
    if l.kind in ("VVAU", "AvgPool"):
        if l.kind == "VVAU":
            c, k = a["channels"], a["kernel"][0] * a["kernel"][1]
            xr = x.reshape(len(x), -1, k, c).astype(np.int64)
            acc = (xr * l.arrays["weights"].T[None, None]).sum(axis=2)
        else:
            (h, w), c, (kh, kw), (sh, sw), p = a["ifm_dim"], a["channels"], a["kernel"], a["stride"], a["pad"]
            oh, ow = a["ofm_dim"]
            xi = np.pad(x.reshape(len(x), h, w, c).astype(np.int64), ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)))
            acc = np.stack([np.stack([xi[:, i * sh : i * sh + kh, j * sw : j * sw + kw].sum(axis=(1, 2))
                                      for j in range(ow)], 1) for i in range(oh)], 1)
        if a["noact"]:
            return acc.reshape((len(x), *l.out_shape))
        cnt = (acc.reshape(len(x), -1, c)[..., None] >= l.arrays["thresholds"]).sum(-1)
        y = 2 * cnt - 1 if l.out_dtype == "BIPOLAR" else a["out_bias"] + cnt
        return y.reshape((len(x), *l.out_shape))
    if l.kind == "LabelSelect":
        return np.argsort(-x.reshape(len(x), -1), axis=1, kind="stable")[:, : a["k"]]
    raise NotImplementedError(l.kind)


def simulate(graph, x, return_all: bool = False):
    y = run_pre(graph.input, x)
    outs = []
    for l in graph.layers:
        y = layer(l, y)
        outs.append(y)
    final = run_post(graph.output, y)
    return (final, outs) if return_all else final
