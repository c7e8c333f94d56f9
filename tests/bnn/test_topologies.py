import brevitas.nn as qnn
import pytest
import torch

from bnn.topologies import ModelSpec, build, from_spec, make_spec

BITS = [(1, 1), (1, 2), (2, 2), (None, None)]


@pytest.mark.parametrize("name,hidden", [("tfc", 64), ("sfc", 256), ("lfc", 1024)])
@pytest.mark.parametrize("wb,ab", BITS)
def test_fc_shapes_and_layers(name, hidden, wb, ab):
    m = build(name, wb, ab, width=0.125)
    out = m.eval()(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10)
    linears = [l for l in m.modules() if isinstance(l, (torch.nn.Linear,))]
    assert [l.out_features for l in linears] == [int(round(hidden * 0.125))] * 3 + [10]
    if wb is not None:
        assert all(isinstance(l, qnn.QuantLinear) for l in linears)


@pytest.mark.parametrize("wb,ab", BITS)
def test_cnv_shapes(wb, ab):
    m = build("cnv", wb, ab, width=0.125, in_channels=3)
    assert m.eval()(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 8, 16, 16, 32, 32]
    assert sum(isinstance(l, torch.nn.MaxPool2d) for l in m.modules()) == 2


def test_cnv_too_small_input_is_rejected():
    with pytest.raises(ValueError, match="32x32"):
        build("cnv", 1, 1, in_size=16)


def test_spec_roundtrip_rebuilds_same_architecture():
    spec = make_spec("lfc", 1, 2, width=0.25)
    a, b = from_spec(spec), from_spec(spec.to_dict())
    assert [type(m) for m in a.modules()] == [type(m) for m in b.modules()]


def test_user_model_from_file(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text(
        "import torch.nn as nn\n"
        "def make(weight_bits, act_bits, width, in_channels, in_size, num_classes, extra):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels*in_size*in_size, num_classes))\n"
    )
    m = build(f"{f}:make")
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="no callable 'nope'"):
        build(f"{f}:nope")
    with pytest.raises(ValueError, match="unknown model"):
        from_spec(ModelSpec("resnet"))


def test_fc_dropout_default_and_eval_determinism():
    from torch import nn

    assert make_spec("lfc").dropout == 0.0
    with pytest.raises(ValueError, match="dropout"):
        make_spec("tfc", dropout=1.0)
    m = from_spec(make_spec("tfc", width=0.25, dropout=0.2))
    assert sum(isinstance(x, nn.Dropout) for x in m.modules()) == 4  # input + 3 hidden
    x = torch.rand(8, 1, 28, 28)
    m.eval()
    assert torch.equal(m(x), m(x))
    m.train()
    assert not torch.equal(m(x), m(x))  # dropout is active while training


def test_input_bits():
    from bnn.export import export_qonnx  # noqa: F401  (the exporter must accept both)

    q = [m for m in from_spec(make_spec("tfc", 1, 1, width=0.25, input_bits=8)).modules()
         if isinstance(m, qnn.QuantIdentity)]
    assert int(q[0].act_quant.bit_width()) == 8 and int(q[1].act_quant.bit_width()) == 1
    q = [m for m in from_spec(make_spec("tfc", 1, 1, width=0.25)).modules() if isinstance(m, qnn.QuantIdentity)]
    assert int(q[0].act_quant.bit_width()) == 1
    with pytest.raises(ValueError, match="input_bits"):
        make_spec("tfc", input_bits=9)


@pytest.mark.parametrize("wb,ab", [(1, 1), (1, 2), (2, 2)])
def test_cnv28_shapes(wb, ab):
    """CNV for 28x28: CNV's first five convs (two max-pools), 2x2x256 (x width) into CNV's FC layers."""
    m = build("cnv28", wb, ab, width=0.125)
    assert m.eval()(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 8, 16, 16, 32]
    assert [l.in_features for l in m.modules() if isinstance(l, torch.nn.Linear)] == [32 * 2 * 2, 64, 64]
    with pytest.raises(ValueError, match="at least 24x24"):
        build("cnv28", 1, 1, in_size=20)
    with pytest.raises(ValueError, match="7 hidden widths"):
        make_spec("cnv28", hidden=[8] * 8)
