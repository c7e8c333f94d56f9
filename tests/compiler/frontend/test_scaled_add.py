"""A residual add whose branch scales are not related by a power of two (raw Brevitas, float scales): lowered to an
AddStreams with integer multipliers [m0, m1] whose thresholds reproduce QONNX's float32 sum for every pair of branch
levels (compiler.frontend.scaled_add); exact against QONNX, in C-sim, and refused naming the node where no
multipliers order the sums."""
import numpy as np
import pytest

from branch_models import unequal_residual
from user_models import export_raw


@pytest.fixture(scope="module")
def unequal(tmp_path_factory):
    from compiler.workflow.compile import compile_model
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    work = tmp_path_factory.mktemp("unequal")
    model, shape = unequal_residual()
    path = export_raw(model, work / "m.onnx", shape, False)
    g = compile_model(path, work / "build")
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (64, *shape)).astype(np.float32)
    rep = verify_graph(path, g, inputs=x, num_random=64, cleaned=load_model(path))
    return work, g, rep


def test_multipliers_and_exactness(unequal):
    _, g, rep = unequal
    add = next(l for l in g.layers if l.kind == "AddStreams")
    m0, m1 = add.attrs["mult"]
    assert (m0, m1) != (1, 1) and np.gcd(m0, m1) == 1 and max(m0, m1) <= 64, add.attrs
    assert add.name in rep.integer_layers and rep.layer_mismatches[add.name] == 0
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    assert any("not a power of two apart" in n for n in g.meta["notes"])


def test_folded_csim(unequal):
    from boards.catalog import get_board
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim, compile_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.estimate.folding import fold_graph

    work, g, _ = unequal
    fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
    proj = generate_project(g, work / "hls").path
    compile_csim(proj)
    res = check_csim(g, proj, random_inputs(g, 16, seed=2))
    assert res.frames == 16 and res.ok, res.first_mismatch


def test_no_multipliers_is_refused_naming_the_add():
    from onnx import helper

    from diagnostics.errors import CompileError
    from compiler.frontend.scaled_add import multipliers

    node = helper.make_node("Add", ["x", "y"], ["z"], name="Add_7")
    table = np.array([[0, 1], [1, 0]])[:, :, None]        # a level that falls when b rises: no acc orders it
    with pytest.raises(CompileError, match=r"Add_7.*no integer multipliers up to 65536"):
        multipliers(node, np.array([0, 1]), np.array([0, 1]), table, 0.6526 / 0.2622, 0)
