import pytest
import torch
from torch import nn

from bnn.topologies import ModelSpec, from_spec, hidden_widths, make_spec


def test_hidden_overrides_width_and_old_specs_still_load():
    spec = make_spec("sfc", 1, 1, hidden=[40, 24])
    model = from_spec(spec)
    lins = [m for m in model if isinstance(m, nn.Linear)]
    assert [l.out_features for l in lins] == [40, 24, 10]
    old = make_spec("sfc", 1, 1, width=0.5).to_dict()
    assert "hidden" not in old                          # same dict as before `hidden` existed (resume checks it)
    assert make_spec("sfc", 1, 1, hidden=[3]).to_dict()["hidden"] == [3]
    assert hidden_widths(ModelSpec(**old)) == [128, 128, 128]
    assert from_spec(old)(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_cnv_hidden_and_validation():
    w = [8, 8, 16, 16, 24, 24, 32, 16]
    model = from_spec(make_spec("cnv", 1, 1, hidden=w))
    assert [m.out_channels for m in model if isinstance(m, nn.Conv2d)] == w[:6]
    with pytest.raises(ValueError, match="8 hidden widths"):
        make_spec("cnv", 1, 1, hidden=[8, 8])
    with pytest.raises(ValueError):
        make_spec("tfc", 1, 1, hidden=[8, 0])


def test_user_factories_do_not_get_a_hidden_argument(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import torch.nn as nn\n"
                 "def make(weight_bits, act_bits, width, in_channels, in_size, num_classes, extra):\n"
                 "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * in_size * in_size, num_classes))\n")
    assert isinstance(from_spec(make_spec(f"{f}:make", None, None)), nn.Module)
