"""Users' models (raw brevitas.nn, float scales, both exporters, no cleanup) compile and pass --verify: integer layers
with zero tolerance, the float tail within its rounding bound; what the front end refuses, it refuses clearly."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from bnnc.compile import compile_cmd
from compiler.workflow.compile import compile_model
from diagnostics.errors import CompileError, VerifyError
from user_models import USER_MODELS, defaults8, export_raw


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(USER_MODELS))
def test_user_model_compiles_and_verifies(tmp_path, name, dynamo):
    from compiler.sim.simulate import simulate
    from compiler.sim.verify import random_inputs

    model, shape = USER_MODELS[name]()
    path = export_raw(model, tmp_path / "m.onnx", shape, dynamo)
    g = compile_model(path, tmp_path / "b", verify=True, num_random=64)
    v = json.loads((tmp_path / "b" / "verify.json").read_text())
    assert v["ok"] and v["status"] == "passed" and v["mode"] == "bounded", v
    ints = v["integer_layers"]
    assert ints["checked"] >= 1 and ints["mismatching_frames"] == 0, v
    tail = v["float_tail"]
    assert tail["layer"] == g.layers[-1].name and tail["elements_over_bound"] == 0
    assert 0 <= tail["max_abs_diff"] <= tail["bound"] and tail["bound"] < 1e-3, tail
    assert v["predictions"]["agree"] + v["predictions"]["disagree"] == v["n_inputs"]
    # the integer layers are not trivially constant: most thresholded channels take several values
    _, layers = simulate(g, random_inputs(shape, 64, 1), return_all=True)
    acts = [y.reshape(-1, y.shape[-1]) for l, y in zip(g.layers, layers) if l.kind == "MVTU" and not l.attrs["noact"]]
    varying = np.mean([np.mean(a.min(0) != a.max(0)) for a in acts])
    assert acts and varying > 0.5, varying


def test_float_tail_bound_catches_a_wrong_output(tmp_path):
    """A post op off by far less than 1e-3 (but more than rounding) fails the bounded verification."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower
    from compiler.sim.verify import verify_graph

    model, shape = defaults8()
    path = export_raw(model, tmp_path / "m.onnx", shape, False)
    cleaned = load_model(path)
    g = lower(cleaned, "m")
    assert verify_graph(path, g, num_random=32, cleaned=cleaned).ok
    add = next(op for op in g.output.post if op["op"] == "add")
    add["value"] = add["value"] + np.float32(2e-5)
    rep = verify_graph(path, g, num_random=32, cleaned=cleaned)
    assert not rep.ok and rep.elements_over_bound > 0 and rep.layer_mismatches[g.layers[0].name] == 0
    assert "beyond the float-tail bound" in rep.describe()


def test_rounding_tie_check_does_not_excuse_a_wrong_threshold(tmp_path):
    """Hidden layers with float scales accept QONNX rounding ties only within the float32 bound: thresholds moved
    by far more than that fail, naming the layer."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower
    from compiler.sim.verify import verify_graph

    model, shape = defaults8()
    path = export_raw(model, tmp_path / "m.onnx", shape, False)
    cleaned = load_model(path)
    g = lower(cleaned, "m")
    assert cleaned is not None and g.meta["qonnx_map"][g.layers[0].name].get("rounding")
    g.layers[0].arrays["thresholds"] = g.layers[0].arrays["thresholds"] + 2000
    rep = verify_graph(path, g, num_random=32, cleaned=cleaned)
    assert not rep.ok and rep.first_layer == g.layers[0].name and rep.layer_mismatches[g.layers[0].name] > 0


def test_exact_mode_fails_and_leaves_a_failed_build(tmp_path):
    """--exact keeps zero tolerance: a float-scale head differs in the last bits, so it fails, exit code non-zero,
    and the build folder is left for inspection with verify.json marked failed."""
    model, shape = defaults8()
    path = export_raw(model, tmp_path / "m.onnx", shape, False)
    out = tmp_path / "b"
    r = CliRunner().invoke(compile_cmd, [path, "-o", str(out), "--exact", "--num-random", "64"])
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    assert "failed" in r.output and str(out) in r.output
    v = json.loads((out / "verify.json").read_text())
    assert v["status"] == "failed" and v["ok"] is False and v["mode"] == "exact" and v["output_mismatches"] > 0
    assert (out / "graph.json").is_file()
    with pytest.raises(VerifyError):
        compile_model(path, tmp_path / "b2", verify=True, exact=True, num_random=64)
    assert json.loads((tmp_path / "b2" / "verify.json").read_text())["status"] == "failed"
    r = CliRunner().invoke(compile_cmd, [path, "-o", str(tmp_path / "b3"), "--verify", "--num-random", "64"])
    assert r.exit_code == 0 and "within its rounding bound" in r.output, r.output


def test_wide_accumulators_compile(tmp_path):
    """8-bit defaults on 300 inputs (accumulator range > 2^22, refused before) and an 8-bit head over 600 hidden
    units: no range limit, thresholds found by search (the exhaustive table would hold ~10^7 x 600 levels)."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    torch.manual_seed(0)
    m = nn.Sequential(qnn.QuantIdentity(), qnn.QuantLinear(300, 600, bias=True), nn.BatchNorm1d(600), qnn.QuantReLU(),
                      qnn.QuantLinear(600, 10, bias=True)).eval()
    path = export_raw(m, tmp_path / "w.onnx", (300,), False)
    g = compile_model(path, tmp_path / "b", verify=True, num_random=200)
    v = json.loads((tmp_path / "b" / "verify.json").read_text())
    assert v["ok"] and v["integer_layers"]["mismatching_frames"] == 0, v
    first, head = g.layers
    reach = int((np.abs(first.arrays["weights"]) * 128).sum(axis=1).max())      # INT8 input: |x| <= 128
    assert 2 * reach + 1 > 2**22, reach            # the former limit: at most 2^22 accumulator values
    assert head.attrs["noact"] and g.output.post[0]["op"] == "mul"
    thr = first.arrays["thresholds"]
    assert thr.shape == (600, 255) and np.all(np.diff(thr, axis=1) >= 0)


# ---- clear errors (issue 13, front end) ------------------------------------------------------------------------
def _lstm(tmp_path):
    import brevitas.nn as qnn
    from torch import nn

    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.lstm, self.fc = qnn.QuantIdentity(), nn.LSTM(8, 6, batch_first=True), qnn.QuantLinear(6, 3)

        def forward(self, x):
            y, _ = self.lstm(self.q(x))
            return self.fc(y[:, -1])

    return export_raw(Lstm(), tmp_path / "lstm.onnx", (5, 8), False)


def test_lstm_is_blamed_not_a_constant(tmp_path):
    path = _lstm(tmp_path)
    with pytest.raises(CompileError) as e:
        compile_model(path, tmp_path / "b")
    msg = str(e.value)
    assert "lstm.onnx" in msg and "LSTM" in msg and "/lstm/LSTM" in msg and "Constant" not in msg, msg
    assert not (tmp_path / "b").exists()


def test_resize_names_the_users_node(tmp_path):
    import brevitas.nn as qnn
    from torch import nn

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.c = qnn.QuantIdentity(), qnn.QuantConv2d(2, 3, 3)

        def forward(self, x):
            return self.c(nn.functional.interpolate(self.q(x), scale_factor=2.0))

    path = export_raw(Up(), tmp_path / "up.onnx", (2, 6, 6), False)
    with pytest.raises(CompileError, match=r"up\.onnx: 1 node\(s\) with op types bnnc cannot lower \(Resize\): "
                                           r"'/Resize' \(Resize\)"):
        compile_model(path, tmp_path / "b")


def test_two_outputs_clear_error(tmp_path):
    import copy

    import onnx

    model, shape = defaults8()
    path = export_raw(model, tmp_path / "m.onnx", shape, False)
    p = onnx.load(path)
    p.graph.output.append(copy.deepcopy(p.graph.output[0]))      # qonnx asserted on this one
    onnx.save(p, tmp_path / "two.onnx")
    with pytest.raises(CompileError, match=r"two\.onnx: expected one graph input and one output, got 1 input"):
        compile_model(tmp_path / "two.onnx", tmp_path / "b", verify=True)


def test_invalid_declared_rank_names_the_input(tmp_path):
    import onnx

    model, shape = defaults8()
    p = onnx.load(export_raw(model, tmp_path / "m.onnx", shape, False))
    p.graph.input[0].type.tensor_type.shape.dim.add().dim_value = 1   # declares (1, 24, 1)
    onnx.save(p, tmp_path / "r3.onnx")
    r = CliRunner().invoke(compile_cmd, [str(tmp_path / "r3.onnx"), "-o", str(tmp_path / "b"), "--verify"])
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    assert f"graph input {p.graph.input[0].name!r} declares shape [1, 24, 1] (rank 3)" in r.output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("args,opt", [(["--num-random", "-5"], "--num-random"), (["--topk", "0"], "--topk")])
def test_bad_numbers_refused_before_work(tmp_path, args, opt):
    r = CliRunner().invoke(compile_cmd, [str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "b"), *args])
    assert r.exit_code == 2 and opt in r.output and "Traceback" not in r.output, r.output
    assert "no such file" not in r.output and not (tmp_path / "b").exists()   # refused before reading the model


@pytest.mark.parametrize("name", ["tfc_1w1a", "cnv_2w2a"])
def test_torchscript_zoo_exports_compile(tmp_path, name):
    """bnn_pynq zoo models exported with TorchScript carry Transpose/Pow/Div that qonnx cleanup folds away."""
    import onnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    model, _ = model_with_cfg(name, pretrained=False)
    shape = (1, 28, 28) if name.startswith("tfc") else (3, 32, 32)
    path = export_raw(model, tmp_path / "z.onnx", shape, False)
    assert {"Transpose", "Pow"} <= {n.op_type for n in onnx.load(path).graph.node}
    compile_model(path, tmp_path / "b", verify=True, num_random=4 if name.startswith("cnv") else 16)
    v = json.loads((tmp_path / "b" / "verify.json").read_text())
    assert v["ok"] and v["max_abs_diff"] == 0.0 and v["integer_layers"]["checked"] >= 3, v
