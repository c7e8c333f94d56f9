"""A first layer on ImageNet-normalized pixels (per-channel mean and std folded into integer weight multipliers of
one common unit, tests/compiler/normalized_models.py), folded for Pynq-Z1, its RTL co-simulated in Verilator:
bit-exact on raw 8-bit pixels and at the RTL cost model's cycles per frame."""
from __future__ import annotations

import numpy as np

from normalized_models import IMAGENET_RAW, imagenet_normalized_build
from rtl_check import requires_verilator
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import hardware_layers
from compiler.backends.rtl.verilator import build, check
from compiler.estimate.cost import estimate
from compiler.frontend.raw_input import normalize
from compiler.sim.hostops import run_pre

pytestmark = requires_verilator


def test_imagenet_normalized_first_layer_rtlsim(tmp_path):
    g, _ = imagenet_normalized_build(tmp_path)
    assert g.layers[1].attrs["weight_dtype"] == "INT20"               # 4-bit weights x 16-bit multipliers
    p = np.random.default_rng(5).integers(0, 256, (20, 3, 10, 10))
    p[0], p[1] = 0, 255                                                # the extreme frames
    ints = np.asarray(run_pre(g.input, normalize(IMAGENET_RAW, p))).reshape(20, *g.layers[0].in_shape)
    proj = generate_rtl(g, tmp_path / "rtl")
    build(proj)
    res = check(g, proj, ints.astype(np.int64))
    assert res.frames == 20 and res.mismatches == 0, res.first_mismatch
    est = max(l.cycles for l in hardware_layers(estimate(g, target="rtl")))
    assert abs(res.cycles_per_frame - est) <= 0.05 * est, (res.cycles_per_frame, est)
