"""Channel concatenation (ConcatStreams) from raw Brevitas: an Inception block (a branch split into a 1x1 and a 3x3
tower of different bit widths and scales, concatenated with a shift), the same block with float-scale towers in the
ratio 4 : 5 (integer multipliers), a four-tower block in one Concat (a chain of two-input concats) and a
DenseNet-style block (a skip concatenated with a two-conv path), concats nested in a branch of another join
(nested_dense: an Inception split inside a DenseNet path; inception_residual: x + cat(towers of x)) and a DenseNet
block of three layers as torchvision writes it (dense_layers: each layer reads cat(x, y1, ...), branches that
cross) compile,
equal QONNX layer by layer, and C-simulate bit-exactly when folded; a Concat of branches whose scales have no small
exact integer ratio (learned independently) is refused naming the node. (rtlsim and branch
FIFOs: tests/compiler/backends/rtl/test_rtl_concat.py; FINN: tests/finn.)"""
import numpy as np
import pytest

from branch_models import (dense_layers, densenet, inception, inception4, inception_residual, nested_dense,
                           scaled_inception)
from user_models import export_raw

MODELS = {"inception": inception, "densenet": densenet, "scaled_inception": scaled_inception,
          "inception4": inception4, "nested_dense": nested_dense, "inception_residual": inception_residual,
          "dense_layers": dense_layers}


@pytest.fixture(scope="module", params=sorted(MODELS))
def block(request, tmp_path_factory):
    from compiler.workflow.compile import compile_model
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    work = tmp_path_factory.mktemp(request.param)
    model, shape = MODELS[request.param]()
    path = export_raw(model, work / "m.onnx", shape, False)
    g = compile_model(path, work / "build")
    x = np.random.default_rng(0).uniform(-1, 1, (32, *shape)).astype(np.float32)
    rep = verify_graph(path, g, inputs=x, num_random=16, cleaned=load_model(path))
    return request.param, work, g, rep, x


def test_lowered_to_a_concat_dag(block):
    name, _, g, _, _ = block
    kinds = [l.kind for l in g.layers]
    if name == "dense_layers":          # x and y1, y2 branch; cat(x, y1), cat(x, y1, y2), cat(x, y1, y2, y3)
        cats = [l.name for l in g.layers if l.kind == "ConcatStreams"]
        assert cats == ["Concat_1_concat", "Concat_2_concat1", "Concat_2_concat", "Concat_3_concat2",
                        "Concat_3_concat1", "Concat_3_concat"], cats
        assert kinds.count("DuplicateStreams") == 3 + 2 + 1 and g.layer("Concat_3_concat").out_shape[-1] == 4 + 3 * 2
        return
    if name in ("nested_dense", "inception_residual"):   # two branch points, the inner join before the outer one
        inner, outer = ("Concat_0_concat", "Concat_1_concat") if name == "nested_dense" else \
            ("Concat_0_concat", "Add_0_add")
        names = [l.name for l in g.layers]
        assert kinds.count("DuplicateStreams") == 2 and names.index(inner) < names.index(outer), kinds
        assert kinds.count("ConcatStreams") + kinds.count("AddStreams") == 2
        return
    n = 3 if name == "inception4" else 1
    assert kinds.count("DuplicateStreams") == n and kinds.count("ConcatStreams") == n and not g.is_linear()
    cat = next(l for l in g.layers if l.kind == "ConcatStreams")
    if name == "inception4":    # towers 2 ++ (3x3 15/64 ++ (1x1->3x3 2^-k ++ 1x1 2^-k)): every pair rescaled
        cats = {l.name: l for l in g.layers if l.kind == "ConcatStreams"}
        assert sorted(cats) == ["Concat_0_concat", "Concat_0_concat1", "Concat_0_concat2"]
        assert cats["Concat_0_concat2"].attrs["shift"] == [1, 0]
        assert cats["Concat_0_concat1"].attrs["mult"] == [15, 4] and cats["Concat_0_concat"].attrs["mult"] == [12, 1]
        assert cats["Concat_0_concat"].inputs[1] == "Concat_0_concat1"
        assert cats["Concat_0_concat"].out_shape[-1] == 8
    elif name == "inception":     # 1x1 tower (4 ch, 4-bit, scale s) ++ 3x3 tower (6 ch, 3-bit, scale 2s)
        assert cat.attrs["channels"] == [4, 6] and cat.attrs["shift"] == [0, 1]
        assert (cat.in_dtype, cat.attrs["in1_dtype"], cat.out_dtype) == ("UINT4", "UINT3", "UINT4")
    elif name == "scaled_inception":    # scales 3/16 = 4 x 3/64 and 15/64 = 5 x 3/64: 15 * 4 and 7 * 5 fit UINT6
        assert cat.attrs["channels"] == [4, 6] and cat.attrs["shift"] == [0, 0] and cat.attrs["mult"] == [4, 5]
        assert (cat.in_dtype, cat.attrs["in1_dtype"], cat.out_dtype) == ("UINT4", "UINT3", "UINT6")
        assert g.meta["notes"] == [] and g.meta["output_exact"]    # the conv after it sums in exact units of 3/64
    else:                       # the skip (the block input) first, then the deeper path
        dup = next(l for l in g.layers if l.kind == "DuplicateStreams")
        assert cat.inputs[0] == dup.outputs[1] and cat.attrs["channels"] == [4, 4]


def test_exact_against_qonnx(block):
    from compiler.sim.simulate import simulate

    _, _, g, rep, x = block
    cat = [l for l in g.layers if l.kind == "ConcatStreams"][-1]      # the one QONNX's Concat output is compared to
    assert cat.name in rep.integer_layers
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    assert rep.output_mismatches == 0 and rep.elements_over_bound == 0 and rep.rounding_ties == 0
    _, outs = simulate(g, x, return_all=True)
    y = outs[g.layers.index(cat)]
    assert len(np.unique(y)) > 3
    if "mult" in cat.attrs:     # each input's multiples: e.g. 4 x (1x1 levels), 5 x (3x3 levels)
        c0, m = cat.attrs["channels"][0], cat.attrs["mult"]
        assert np.all(y[..., :c0] % m[0] == 0) and np.all(y[..., c0:] % m[1] == 0)
        assert len(np.unique(y[..., :c0])) > 2 and len(np.unique(y[..., c0:])) > 2


def test_folded_csim(block):
    from boards.catalog import get_board
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim, compile_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.estimate.folding import fold_graph

    name, work, g, _, _ = block
    fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
    proj = generate_project(g, work / "hls").path
    assert "bnnc::concat_streams<" in (proj / "src" / "top.cpp").read_text()
    compile_csim(proj)
    res = check_csim(g, proj, random_inputs(g, 16, seed=2))
    assert res.frames == 16 and res.ok, res.first_mismatch


def test_unrelated_scales_refused_naming_the_concat(tmp_path):
    """Brevitas's default float-scale QuantReLUs on the two towers: scales not related by a power of two."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    from compiler.workflow.compile import compile_model
    from diagnostics.errors import CompileError

    class Towers(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.QuantIdentity(return_quant_tensor=True)
            self.a, self.b = qnn.QuantConv2d(2, 3, 1), qnn.QuantConv2d(2, 3, 3, padding=1)
            self.ra, self.rb = qnn.QuantReLU(bit_width=4), qnn.QuantReLU(bit_width=3)   # 6/15 and 6/7
            self.fc = qnn.QuantLinear(6 * 4 * 4, 3)

        def forward(self, x):
            x = self.q(x)
            return self.fc(torch.flatten(torch.cat([self.ra(self.a(x)), self.rb(self.b(x))], 1), 1))

    path = export_raw(Towers().eval(), tmp_path / "t.onnx", (2, 4, 4), False)
    with pytest.raises(CompileError, match=r"Concat.*branch scales .* do not differ by a power of two, and their "
                       r"exact ratio \d{6,}:\d{6,} needs integer multipliers above 65536"):
        compile_model(path, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_a_join_nested_in_another_branch(tmp_path):
    """Three towers of one tensor, two summed and the sum concatenated with the third (a join nested in another
    join's branch): lowered as AddStreams then ConcatStreams, exact against QONNX."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    from brevitas_models import compile_and_verify

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.QuantIdentity(return_quant_tensor=True)
            self.t = nn.ModuleList([nn.Sequential(qnn.QuantConv2d(2, 2, 1), qnn.QuantReLU()) for _ in range(3)])
            self.out = qnn.QuantReLU()
            self.fc = qnn.QuantLinear(4 * 4 * 4, 3)

        def forward(self, x):
            x = self.q(x)
            a, b, c = (t(x) for t in self.t)
            return self.fc(torch.flatten(torch.cat([self.out(a + b), c], 1), 1))

    torch.manual_seed(0)
    path = export_raw(Mixed().eval(), tmp_path / "m.onnx", (2, 4, 4), False)
    g, rep = compile_and_verify(path, tmp_path / "b", num_random=32)
    assert rep.ok and all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.describe()
    kinds = [l.kind for l in g.layers]
    assert kinds.count("DuplicateStreams") == 2 and kinds.index("AddStreams") < kinds.index("ConcatStreams"), kinds
