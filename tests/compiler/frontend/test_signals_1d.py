"""1-D signals (N, C, L): QuantConv1d (padding, dilation, stride), MaxPool1d, AvgPool1d and BatchNorm1d lower to the
(1, L) case of the 2-D window kinds (FINN's view of 1-D data), equal QONNX layer by layer, and the folded design
C-simulates bit-exactly. (Both exporters: test_frontend_user_models; rtlsim: tests/compiler/backends/rtl/test_rtl_1d.py;
FINN: tests/finn.)"""
import numpy as np
import pytest

from signal_models import radioml_graph


@pytest.fixture(scope="module")
def radioml(tmp_path_factory):
    work = tmp_path_factory.mktemp("radioml_1d")
    g, rep, path = radioml_graph(work)
    return work, g, rep, path


def test_lowered_as_one_row_windows(radioml):
    _, g, rep, _ = radioml
    kinds = [l.kind for l in g.layers]
    assert kinds == ["SlidingWindow", "MVTU", "MaxPool", "SlidingWindow", "MVTU", "AvgPool", "SlidingWindow", "MVTU",
                     "MVTU", "MVTU"], kinds
    for l in g.layers:
        if len(l.in_shape) == 3:
            assert l.in_shape[0] == 1 and l.out_shape[0] == 1, (l.name, l.in_shape, l.out_shape)
    swg = [l for l in g.layers if l.kind == "SlidingWindow"]
    assert [s.attrs["kernel"] for s in swg] == [[1, 3], [1, 5], [1, 3]]        # dilation 2: 3 taps span 5
    assert [s.attrs["pad"] for s in swg] == [[0, 1, 0, 1], [0, 2, 0, 2], [0, 0, 0, 0]]
    assert swg[2].attrs["stride"] == [1, 2] and swg[2].attrs["ofm_dim"] == [1, 3]
    # the dilated conv's expanded window holds zeros between the real taps: (MH, 5 taps x 8 channels)
    w = next(l for l in g.layers if l.name.startswith(swg[1].name[:-4]) and l.kind == "MVTU").arrays["weights"]
    taps = w.reshape(8, 5, 8)
    assert np.all(taps[:, 1::2] == 0) and np.any(taps[:, ::2] != 0)
    assert g.input.pre[-2] == {"op": "reshape", "shape": [2, 1, 32]} and g.input.pre[-1]["op"] == "transpose"


def test_exact_against_qonnx(radioml):
    _, g, rep, _ = radioml
    assert rep.integer_layers and all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    assert {"MaxPool_0", "AveragePool_0_avgpool"} <= set(rep.integer_layers)
    assert rep.output_mismatches == 0 and rep.elements_over_bound == 0


def test_csim_bit_exact(radioml):
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim, compile_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.sim.hostops import run_pre

    work, g, _, _ = radioml
    assert max(l.pe * l.simd for l in g.layers) > 1          # the optimiser folded it
    proj = generate_project(g, work / "hls").path
    compile_csim(proj)
    x = np.random.default_rng(1).uniform(-1, 1, (8, 2, 32)).astype(np.float32)
    ints = np.asarray(run_pre(g.input, x)).reshape(8, *g.layers[0].in_shape).astype(np.int64)
    res = check_csim(g, proj, np.concatenate([ints, random_inputs(g, 8, seed=2)]))
    assert res.frames == 16 and res.ok, res.first_mismatch


def test_conv1d_refusals_name_the_node(tmp_path):
    """A padded MaxPool1d (no integer window form here) is refused naming the node."""
    import brevitas.nn as qnn
    from torch import nn

    from compiler.workflow.compile import compile_model
    from diagnostics.errors import CompileError
    from user_models import export_raw

    m = nn.Sequential(qnn.QuantIdentity(), qnn.QuantConv1d(2, 4, 3, padding=1, padding_mode="zeros"),
                      qnn.QuantReLU(), nn.MaxPool1d(2, padding=1), qnn.QuantIdentity(), nn.Flatten(),
                      qnn.QuantLinear(4 * 9, 3))
    path = export_raw(m, tmp_path / "p.onnx", (2, 16), False)
    with pytest.raises(CompileError, match=r"MaxPool.*only MaxPool without padding"):
        compile_model(path, tmp_path / "b")
