"""Property: any small random Brevitas MLP/CNN in our supported family compiles to an IR that equals QONNX, and
a sample of them, at a random legal folding, with matrix weights in run-time-loaded URAM or in ROMs, C-simulates
(g++) bit-exactly against the IR simulator.

Weights and activations of 1-4 bits, odd and even layer and image sizes, padding, pooling before or after the
activation, bias, BatchNorm with negative scales. Two hypothesis profiles, chosen with BNNC_HYPOTHESIS_PROFILE:
`default` (derandomized, small: what the test suite runs) and `nightly` (random, many examples:
`BNNC_HYPOTHESIS_PROFILE=nightly pytest tests/compiler/test_property.py` for a benchmark/nightly run).

Nightly profile, first complete run (2026-11-25, 2 shared cores, `nice -n 10`, OMP_NUM_THREADS=1, this file before the
URAM draw was added to the C-sim test): `BNNC_HYPOTHESIS_PROFILE=nightly .venv/bin/python -m pytest
tests/compiler/test_property.py -x -s --hypothesis-verbosity=verbose --hypothesis-show-statistics` -- QONNX test 200
of 200 examples passed (about 68 min); C-sim test (run alone with `-k csim`) 25 passing, 0 failing, 7 invalid
(rejected by `assume`), 2,748 s. It found nothing to fix.
"""
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from brevitas_models import cnn, compile_and_verify, export, mlp

settings.register_profile("default", derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("nightly", derandomize=False, deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("BNNC_HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
#: (models verified against QONNX, models also C-simulated) per profile
EXAMPLES = {"default": (12, 2), "nightly": (200, 25)}[PROFILE]

bits = st.tuples(st.integers(1, 4), st.integers(1, 4))     # (weight bits, activation bits)


@st.composite
def models(draw):
    w, a = draw(bits)
    seed = draw(st.integers(0, 10_000))
    common = dict(bias=draw(st.booleans()), in_bits=draw(st.sampled_from([None, 3, 8])), seed=seed,
                  negative=draw(st.booleans()))
    if draw(st.booleans()):
        sizes = tuple(draw(st.lists(st.integers(1, 25), min_size=1, max_size=3)))
        n_in = draw(st.integers(1, 41))
        return mlp(w, a, sizes=sizes, n_in=n_in, n_out=draw(st.integers(1, 7)), bn=draw(st.booleans()), **common), (n_in,)
    chans = tuple(draw(st.lists(st.integers(1, 7), min_size=1, max_size=2)))
    pool = draw(st.booleans())
    pool_first = pool and not common["negative"] and draw(st.booleans())
    in_ch = draw(st.integers(1, 3))
    size, pad = draw(st.sampled_from([7, 8, 9])), draw(st.sampled_from([0, 1]))
    s = size
    for i in range(len(chans)):          # every 3x3 convolution needs at least 3x3 (padded) input
        assume(s + 2 * pad >= 3)
        s = s - 2 + 2 * pad
        s = s // 2 if pool and i == 0 else s
    assume(s >= 1)
    return cnn(w, a, chans=chans, in_ch=in_ch, size=size, pad=pad, pool=pool, pool_before_act=pool_first,
               **common), (in_ch, size, size)


@settings(max_examples=EXAMPLES[0])
@given(models())
def test_random_models_are_exact(spec):
    model, shape = spec
    with tempfile.TemporaryDirectory() as d:
        path = export(model, Path(d) / "m.onnx", shape)
        g, rep = compile_and_verify(path, Path(d) / "build", num_random=24)
        assert rep.ok, (rep.describe(), model)


@settings(max_examples=EXAMPLES[1])
@given(models(), st.integers(0, 2**32 - 1), st.sampled_from([True, False]))
def test_random_models_csim_exact(spec, fold_seed, uram):
    """The generated HLS C++ of a random model at a random legal folding, with its matrix weights in run-time-loaded
    URAM or in ROMs (`uram`), equals the IR simulator."""
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.estimate.folding import apply_folding, legal_values
    from compiler.estimate.placement import can_use_uram, with_weights_in

    model, shape = spec
    rng = np.random.default_rng(fold_seed)
    with tempfile.TemporaryDirectory() as d:
        path = export(model, Path(d) / "m.onnx", shape)
        g, rep = compile_and_verify(path, Path(d) / "build", num_random=8)
        assert rep.ok, (rep.describe(), model)
        folding = {l.name: {k: int(rng.choice(v)) for k, v in legal_values(l).items()} for l in g.layers}
        apply_folding(g, {n: f for n, f in folding.items() if f})
        for l in g.layers:
            l.attrs = with_weights_in(l, uram and can_use_uram(l)).attrs
        proj = generate_project(g, Path(d) / "hls", "ZCU104" if uram else "Pynq-Z2")
        assert ("weights" in proj.meta) == any(l.attrs.get("weight_ram") for l in g.layers)
        res = check_csim(g, proj.path, random_inputs(g, 12, seed=fold_seed % 1000))
        assert res.ok, (res.first_mismatch, folding, uram, model)
