"""compiler.sim.simulate equals the naive reading of docs/ir.md on random hand-built graphs, and QONNX on real models."""
import numpy as np
import pytest

import naive_ir
from compiler.ir.graph import InputSpec, IRError, OutputSpec, dtype
from compiler.kinds.mvtu import exact_matmul_plan
from compiler.sim.simulate import Simulator, popcount_thresholds, simulate, simulate_layers


from random_graphs import Builder, random_cnn, random_mlp  # noqa: E402


def _compare(b, n=37, batch=16):
    g = b.graph()
    x = b.inputs(n)
    last, outs = simulate_layers(g, x, return_all=True, batch=batch)
    ref_outs = [], x
    ref = x
    for l, y in zip(g.layers, outs):
        ref = naive_ir.layer(l, ref)
        assert y.dtype == np.int64 and y.shape == (n, *l.out_shape), l.name
        assert np.array_equal(y, ref), f"{l.name}: {np.flatnonzero((y != ref).reshape(n, -1).any(1))[:5]}"
    assert np.array_equal(last, ref) and np.array_equal(simulate_layers(g, x), ref)
    return g, outs


@pytest.mark.parametrize("seed", range(40))
def test_random_mlp_matches_naive(seed):
    _compare(random_mlp(seed))


@pytest.mark.parametrize("seed", range(40))
def test_random_cnn_matches_naive(seed):
    _compare(random_cnn(seed))


@pytest.mark.parametrize("seed", range(6))
def test_row_pool_matches_naive(seed, monkeypatch):
    """Two threads, the row pool forced on for small graphs (ROW_POOL_MACS 0) and parts of 2 rows: the whole
    chain runs in parallel over row parts with single-threaded plans, every layer's output in order."""
    import compiler.sim.simulate as sim_mod
    from compiler.kernels import simthreads
    monkeypatch.setenv("BNNC_SIM_THREADS", "2")
    monkeypatch.setattr(sim_mod, "ROW_POOL_MACS", 0)
    monkeypatch.setattr(sim_mod, "ROWS_PER_THREAD", 2)
    calls = []
    real = simthreads.map_rows
    monkeypatch.setattr(sim_mod, "map_rows", lambda fn, parts, threads: calls.append(len(parts)) or
                        real(fn, parts, threads))
    _compare(random_mlp(seed) if seed % 2 else random_cnn(seed))
    assert calls and max(calls) == 2 * sim_mod.PARTS_PER_THREAD       # batch 16 in 4 parts; 37 = 2*16 + 5


def test_generators_cover_the_paths():
    """The random graphs above really exercise every path (otherwise the comparisons prove little)."""
    seen = set()
    for seed in range(40):
        for b in (random_mlp(seed), random_cnn(seed)):
            for l in b.layers:
                a = l.attrs
                if l.kind == "MVTU":
                    seen.add("xnor" if a["binary_xnor"] else "lowbit")
                    seen.add("noact" if a["noact"] else f"T{l.arrays['thresholds'].shape[1]}")
                    seen.add("xnor_odd" if a["binary_xnor"] and a["MW"] % 64 else "")
                    seen.add("xnor_multiword" if a["binary_xnor"] and a["MW"] > 64 else "")
                    seen.add("shared_thr" if not a["noact"] and len(l.arrays["thresholds"]) == 1 else "")
                seen.add(l.kind)
                if l.kind == "SlidingWindow":
                    seen.add("pad" if any(a["pad"]) else "nopad")
                    seen.add("stride2" if max(a["stride"]) > 1 else "")
                    seen.add("pad_value" if a["pad_value"] else "")
    assert {"xnor", "lowbit", "noact", "T1", "T3", "T15", "T255", "xnor_odd", "xnor_multiword", "shared_thr",
            "Thresholding", "MaxPool", "LabelSelect", "pad", "nopad", "stride2", "pad_value"} <= seen


# ---- targeted cases ------------------------------------------------------------------------------------------
def test_xnor_padding_bits_do_not_count():
    """MW=65: one bit in the second word. acc must be the exact +-1 dot product for all-equal / all-opposite."""
    b = Builder(np.random.default_rng(0), (65,), "BIPOLAR")
    b.mvtu(2, out_dtype=None, weight_dtype="BIPOLAR")
    b.layers[0].arrays["weights"] = np.array([[1] * 65, [-1] * 65])
    x = np.array([[1] * 65, [-1] * 65, [1] * 64 + [-1]])
    assert simulate_layers(b.graph(), x).tolist() == [[65, -65], [-65, 65], [63, -63]]


def test_popcount_threshold_conversion_is_equivalent():
    for mw in (1, 2, 7, 64, 65):
        pc = np.arange(mw + 1)
        acc = 2 * pc - mw
        t = np.arange(-mw - 3, mw + 4)
        tp = popcount_thresholds(t[None, :], mw)[0]
        assert np.array_equal(acc[:, None] >= t[None, :], pc[:, None] >= tp[None, :])
    assert popcount_thresholds(np.array([[0, 1, -3]]), 5).tolist() == [[3, 3, 1]]


def test_label_select_ties_go_to_lower_index():
    b = Builder(np.random.default_rng(0), (6,), "INT4")
    b.label_select(4)
    x = np.array([[3, 7, 7, -1, 7, 3], [0, 0, 0, 0, 0, 0], [-8, 2, -8, 2, 5, -8]])
    assert simulate_layers(b.graph(), x).tolist() == [[1, 2, 4, 0], [0, 1, 2, 3], [4, 1, 3, 0]]


def test_sliding_window_order_is_ky_kx_c():
    b = Builder(np.random.default_rng(0), (3, 3, 2), "INT8")
    b.sliding_window((2, 2), (1, 1), [1, 0, 0, 0], pad_value=-5)
    x = np.arange(18).reshape(1, 3, 3, 2)
    y = simulate_layers(b.graph(), x)
    assert y.shape == (1, 3, 2, 8)
    assert y[0, 0, 0].tolist() == [-5, -5, -5, -5, 0, 1, 2, 3]        # top row is padding
    assert y[0, 2, 1].tolist() == [8, 9, 10, 11, 14, 15, 16, 17]


@pytest.mark.parametrize("wbits,xbits,expect", [(4, 8, np.float32), (24, 8, np.float64), (31, 16, np.int64)])
def test_wide_accumulators_stay_exact(wbits, xbits, expect):
    """Weights/inputs wide enough to push the product past float32 (then float64) exactness use a wider path."""
    rng = np.random.default_rng(wbits)
    wd, xd = f"INT{wbits}", f"INT{xbits}"
    b = Builder(rng, (300,), xd)
    b.mvtu(5, out_dtype=None, weight_dtype=wd)
    w = b.layers[0].arrays["weights"] = rng.choice([dtype(wd).min(), dtype(wd).max()], (5, 300)).astype(np.int64)
    assert exact_matmul_plan(w, int(dtype(xd).min()), int(dtype(xd).max()), "t")["dtype"] is expect
    x = b.inputs(9)
    x[0] = dtype(xd).min()
    assert np.array_equal(simulate_layers(b.graph(), x), x.astype(object) @ w.T.astype(object))


def test_batch_size_does_not_matter_and_empty_batch():
    b = random_cnn(3)
    g, x = b.graph(), b.inputs(20)
    assert np.array_equal(simulate_layers(g, x, batch=1), simulate_layers(g, x, batch=256))
    assert simulate_layers(g, x[:0]).shape == (0, *g.layers[-1].out_shape)


def test_prepared_simulator_snapshots_the_graph():
    b = random_mlp(4)
    g, x = b.graph(), b.inputs(10)
    sim = Simulator(g)
    before = sim.run_layers(x)
    assert np.array_equal(before, simulate_layers(g, x))
    g.layers[0].arrays["weights"] *= -1                   # in-place change after preparation
    assert np.array_equal(sim.run_layers(x), before)      # the prepared one keeps what it read
    assert not np.array_equal(simulate_layers(g, x, return_all=True)[1][0],
                              sim.run_layers(x, return_all=True)[1][0])


def test_host_ops_around_layers():
    b = Builder(np.random.default_rng(5), (20,), "INT4")
    b.mvtu(6, out_dtype="UINT2")
    b.mvtu(3, out_dtype=None)
    g = b.graph()
    g.input = InputSpec((4, 5), "INT4", [{"op": "reshape", "shape": [20]},
                                         {"op": "quant", "scale": np.float32(0.25), "zeropt": np.float32(0),
                                          "bitwidth": np.float32(4), "signed": 1, "narrow": 0,
                                          "rounding_mode": "ROUND"}])
    g.output = OutputSpec((3,), [{"op": "mul", "value": np.float32([0.5, 0.25, 2.0])},
                                 {"op": "add", "value": np.float32([1, 2, 3])}])
    x = np.random.default_rng(1).normal(0, 1.5, (11, 4, 5)).astype(np.float32)
    out, layers = simulate(g, x, return_all=True)
    ref, ref_layers = naive_ir.simulate(g, x, return_all=True)
    assert out.dtype == np.float32 and np.array_equal(out, ref)
    assert all(np.array_equal(a, r) for a, r in zip(layers, ref_layers))
    assert np.array_equal(simulate(g, x), ref)


@pytest.mark.parametrize("seed", range(4))
def test_split_kernels_match_naive(seed, monkeypatch):
    """Two threads, every elementwise step (host input ops, thresholds) split into row halves (SPLIT_MIN_ELEMENTS
    0): the same values as the naive reading, with the host's int8 input levels."""
    from compiler.kernels import simthreads
    monkeypatch.setenv("BNNC_SIM_THREADS", "2")
    monkeypatch.setattr(simthreads, "SPLIT_MIN_ELEMENTS", 0)
    calls = []
    real = simthreads.map_rows
    monkeypatch.setattr(simthreads, "map_rows", lambda fn, parts, th: calls.append(len(parts)) or real(fn, parts, th))
    _compare(random_mlp(seed) if seed % 2 else random_cnn(seed))
    assert calls and set(calls) == {2}
    test_host_ops_around_layers()


def test_nan_input_is_refused_with_narrow_levels():
    """The host's int8 input levels keep NaN visible: the layer's input check still names it (int64 fallback)."""
    b = Builder(np.random.default_rng(5), (4,), "INT4")
    b.mvtu(3, out_dtype=None)
    g = b.graph()
    g.input = InputSpec((4,), "INT4", [{"op": "quant", "scale": np.float32(0.25), "zeropt": np.float32(0),
                                        "bitwidth": np.float32(4), "signed": 1, "narrow": 0,
                                        "rounding_mode": "ROUND"}])
    x = np.ones((3, 4), np.float32)
    assert simulate(g, x).shape == (3, 3)
    x[1, 2] = np.nan
    with pytest.raises(IRError, match=r"l0_MVTU.*is not a INT4 value"):
        simulate(g, x)


@pytest.mark.parametrize("quant,with_nan,without_nan", [
    ({"op": "bipolar_quant"}, np.int8, np.int8),                               # NaN -> -1, like bipolar_levels
    ({"op": "quant", "scale": np.float32(0.3), "zeropt": np.float32(0), "bitwidth": np.float32(3), "signed": 1,
      "narrow": 0, "rounding_mode": "ROUND"}, np.int64, np.int8),             # a NaN level stays visible
    ({"op": "quant", "scale": np.float32(0.02), "zeropt": np.float32(2), "bitwidth": np.float32(8), "signed": 0,
      "narrow": 0, "rounding_mode": "FLOOR"}, np.int64, np.int64)])           # [-2, 253] is not int8
def test_narrow_input_levels_are_the_same_values(quant, with_nan, without_nan):
    """run_pre(narrow=True) (the simulator's) gives run_pre's int64 values, as int8 where they fit; the caller's
    array is left alone although the steps run in place."""
    from compiler.sim.hostops import run_pre
    spec = InputSpec((6,), "INT8", [{"op": "mul", "value": np.float32(2)}, {"op": "sub", "value": np.float32(1)},
                                    quant])
    x = np.random.default_rng(3).normal(0, 2, (40, 6)).astype(np.float32)
    x[0, :3] = [np.nan, -0.0, 0.0]
    keep = x.copy()
    for dt in (with_nan, without_nan):
        wide, narrow = run_pre(spec, x), run_pre(spec, x, narrow=True)
        assert wide.dtype == np.int64 and narrow.dtype == dt and np.array_equal(wide, narrow)
        assert np.array_equal(x, keep, equal_nan=True)
        x[0, 0] = keep[0, 0] = 1.5


def test_bad_inputs_name_the_layer():
    b = Builder(np.random.default_rng(0), (8,), "BIPOLAR")
    b.mvtu(3, out_dtype="BIPOLAR")
    g = b.graph()
    with pytest.raises(IRError, match=r"l0_MVTU.*input value 0 is not a BIPOLAR"):
        simulate_layers(g, np.zeros((2, 8), np.int64))
    with pytest.raises(IRError, match="expects a batch"):
        simulate_layers(g, np.ones((2, 9), np.int64))
    with pytest.raises(IRError, match="integer values"):
        simulate_layers(g, np.full((2, 8), 0.5))
    b2 = Builder(np.random.default_rng(0), (8,), "UINT2")
    b2.mvtu(3, out_dtype="UINT2")
    with pytest.raises(IRError, match=r"input value 4 is not a UINT2"):
        simulate_layers(b2.graph(), np.full((1, 8), 4))
    b3 = Builder(np.random.default_rng(0), (6, 6, 2), "INT4")
    b3.sliding_window((3, 3), (1, 1), [0, 0, 0, 0])
    b3.layers[0].attrs["ofm_dim"] = [3, 4]
    with pytest.raises(IRError, match=r"l0_SlidingWindow.*disagree"):
        simulate_layers(b3.graph(), np.zeros((1, 6, 6, 2), np.int64))
    b3.layers[0].attrs["ofm_dim"] = [4, 4]
    b3.mvtu(3, out_dtype=None)
    b3.layers[1].attrs["MW"] = 17
    with pytest.raises(IRError, match="l1_MVTU.*disagree"):
        simulate_layers(b3.graph(), np.zeros((1, 6, 6, 2), np.int64))
    b2.layers[0].arrays["thresholds"] = b2.layers[0].arrays["thresholds"][:, ::-1]
    with pytest.raises(IRError, match="sorted ascending"):
        simulate_layers(b2.graph(), np.ones((1, 8), np.int64))


# ---- exactness against QONNX execution on real models (small widths) -----------------------------------------
@pytest.mark.parametrize("name,w,a,width", [("tfc", 1, 1, 0.5), ("tfc", 1, 2, 0.5), ("tfc", 2, 2, 0.5),
                                            ("cnv", 1, 1, 0.0625), ("cnv", 2, 2, 0.0625)])
def test_exact_against_qonnx_on_fashion_mnist(tmp_path, name, w, a, width):
    import torch

    from brevitas_models import calibrate_bn, export
    from bnn.datasets import DatasetError, load_dataset, preprocess_for
    from bnn.topologies import build
    from compiler.workflow.compile import compile_model
    from compiler.sim.verify import QonnxExec, random_inputs
    from qonnx.core.modelwrapper import ModelWrapper

    try:
        data = load_dataset("fashion-mnist", split="test").subset(60)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST not installed: {e}")
    shape = (1, 32, 32) if name == "cnv" else (1, 28, 28)
    real = preprocess_for(name, data.shape).apply(data.images)
    x = np.concatenate([real, random_inputs(shape, 35, seed=w + a)])
    torch.manual_seed(0)
    model = calibrate_bn(build(name, w, a, width=width, in_channels=1), real[:30], seed=3)
    path = export(model, tmp_path / "m.onnx", shape, dynamo=False)
    g = compile_model(path)
    out, layers = simulate(g, x, return_all=True)
    m = ModelWrapper(str(path))
    ref = QonnxExec(m)(x)[m.graph.output[0].name]
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert np.array_equal(out, ref), f"{int((out != ref).any(1).sum())}/{len(x)} frames differ"
    varying = [int((y.reshape(-1, y.shape[-1]).min(0) != y.reshape(-1, y.shape[-1]).max(0)).sum())
               for l, y in zip(g.layers, layers) if l.kind == "MVTU" and not l.attrs["noact"]]
    assert all(v > 0 for v in varying), f"some layer's activations are constant: {varying}"


def test_unbounded_layer_outputs_are_checked_where_they_enter():
    """Thresholded outputs are bounded statically, so only the graph input is scanned; outputs that exceed the
    next layer's datatype (more thresholds than it holds, or a bias-free accumulator) are checked at run time,
    and check_layers checks every layer."""
    b = Builder(np.random.default_rng(2), (8,), "UINT2")
    b.mvtu(4, out_dtype="UINT2")
    b.mvtu(3, out_dtype=None)
    g = b.graph()
    x = np.ones((3, 8), np.int64)
    ref = simulate_layers(g, x, check_layers=True)
    assert np.array_equal(simulate_layers(g, x), ref)
    assert [p["check"] for p in Simulator(g).plans] == [[True], [False]]     # one flag per input stream
    assert [p["check"] for p in Simulator(g, check_layers=True).plans] == [[True], [True]]
    g.layers[0].arrays["thresholds"] = np.full((4, 5), -(10**6), np.int64)    # 5 thresholds: output 5 > UINT2
    assert [p["check"] for p in Simulator(g).plans] == [[True], [True]]
    with pytest.raises(IRError, match=r"l1_MVTU.*input value 5 is not a UINT2"):
        simulate_layers(g, x)
