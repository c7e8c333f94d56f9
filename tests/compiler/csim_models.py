"""Standard topologies (random BatchNorm statistics, so thresholds are non-trivial) exported, compiled,
folded and C-simulated once per test module; helpers for the test_csim_* files."""
from __future__ import annotations

import numpy as np
import torch

from brevitas_models import export, randomize_bn
from bnn.topologies import build
from compiler.workflow.compile import compile_model
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import check_csim, compile_csim
from compiler.sim.ir_inputs import random_inputs
from compiler.estimate.folding import apply_folding
from compiler.sim.hostops import run_pre


def build_folded(tmp_dir, name: str, w: int, a: int, folding: dict, in_shape=(1, 28, 28), topk=None, **kw):
    """(graph, build dir, HLS project) with `folding` applied and saved into the build dir; g++ done."""
    torch.manual_seed(0)
    model = randomize_bn(build(name, w, a, **kw), seed=1, negative=(w == 1))
    onnx = export(model, tmp_dir / "m.onnx", in_shape)
    g = compile_model(onnx, tmp_dir / "build", topk=topk)
    apply_folding(g, folding)
    g.save(tmp_dir / "build")
    proj = generate_project(g, tmp_dir / "build" / "hls")
    compile_csim(proj.path)
    return g, tmp_dir / "build", proj


def check_real_and_random(g, proj, real: np.ndarray, n_random: int):
    """C-sim vs simulator on real images (through the host pre-processing) and random layer-0 values."""
    ints = np.asarray(run_pre(g.input, real)).reshape(len(real), *g.layers[0].in_shape).astype(np.int64)
    x = np.concatenate([ints, random_inputs(g, n_random, seed=1)])
    rep = check_csim(g, proj.path, x)
    assert rep.frames == len(x)
    assert rep.ok, f"{rep.mismatched_elements} mismatches; first: {rep.first_mismatch}"
    return rep
