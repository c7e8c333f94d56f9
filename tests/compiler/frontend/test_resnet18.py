"""Brevitas's own brevitas_examples resnet18_4w4a (CIFAR-10, randomly initialised: no download) exported with
export_qonnx(..., dynamo=False): 8 residual blocks (3 with 1x1 downsampling shortcuts) and the final
TruncAvgPool2d compile to a stream DAG whose 29 integer layers equal QONNX execution; folding says honestly that
it does not fit the catalog's boards. The shipped model feeds float pixels into its first conv: with an 8-bit input
quantizer put in front, or exported as Brevitas defines it and compiled with `--input-bits 8` (the accelerator
takes the raw pixels, ToTensor's p / 255 folded into the first layer)."""
import warnings

import brevitas.nn as qnn
import numpy as np
import pytest
import torch

from brevitas_models import simulator
from bnn.quant import act_quant


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import resnet18_4w4a

    d = tmp_path_factory.mktemp("r18")
    torch.manual_seed(0)
    m = torch.nn.Sequential(qnn.QuantIdentity(act_quant=act_quant(8), return_quant_tensor=True),
                            resnet18_4w4a(pretrained=False)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(m, torch.randn(1, 3, 32, 32), str(d / "r18.onnx"), dynamo=False)
    return d, d / "r18.onnx"


def test_resnet18_4w4a_compiles_and_verifies(resnet18):
    from compiler.workflow.compile import compile_model
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    d, path = resnet18
    g = compile_model(path, d / "build")
    kinds = [l.kind for l in g.layers]
    assert kinds.count("AddStreams") == 8 and kinds.count("DuplicateStreams") == 8
    assert kinds.count("AvgPool") == 1
    x = np.random.default_rng(0).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32)
    rep = verify_graph(path, g, inputs=x, num_random=0, cleaned=load_model(path), simulate=simulator())
    assert len(rep.integer_layers) == 29
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    assert rep.output_mismatches == 0 and rep.elements_over_bound == 0

    from boards.catalog import list_boards
    from compiler.estimate.folding import FoldingError, fold_graph

    for board in list_boards():
        with pytest.raises(FoldingError, match=f"does not fit on {board.name}.*bram18"):
            fold_graph(g, board, target_fps="max")


def test_resnet18_4w4a_as_defined_compiles_with_input_bits(tmp_path):
    """No input quantizer: `bnnc compile --verify --input-bits 8` on the full 32x32 model; every integer layer (the
    first conv on the raw pixels included) equals QONNX execution on normalized 8-bit pixels."""
    import json

    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import resnet18_4w4a
    from click.testing import CliRunner

    from bnnc.compile import compile_cmd

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(resnet18_4w4a(pretrained=False).eval(), torch.rand(1, 3, 32, 32), str(tmp_path / "r18.onnx"),
                     dynamo=False)
    r = CliRunner().invoke(compile_cmd, [str(tmp_path / "r18.onnx"), "-o", str(tmp_path / "b"), "--verify",
                                         "--input-bits", "8", "--num-random", "4"])
    assert r.exit_code == 0, r.output
    v = json.loads((tmp_path / "b" / "verify.json").read_text())
    ints = v["integer_layers"]
    assert v["ok"] and ints["checked"] == 29 and ints["mismatching_frames"] == 0, ints
    g = json.loads((tmp_path / "b" / "graph.json").read_text())
    assert g["input"]["dtype"] == "UINT8" and g["layers"][1]["name"] == "Conv_0_mvtu"
