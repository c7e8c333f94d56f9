import brevitas.nn as qnn
import pytest
import torch

from bnn.quant import act_quant, parse_bits, weight_quant


def test_binary_act_forward_is_sign_and_ste_is_hardtanh():
    act = qnn.QuantIdentity(act_quant=act_quant(1))
    x = torch.tensor([-2.0, -0.5, -0.0, 0.3, 0.9, 1.5], requires_grad=True)
    y = act(x)
    assert set(y.detach().tolist()) <= {-1.0, 1.0}
    assert y.detach().tolist()[:2] == [-1.0, -1.0] and y.detach().tolist()[3:] == [1.0, 1.0, 1.0]
    y.sum().backward()
    # straight-through inside [-1, 1], zero gradient where the input is clipped
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_binary_weight_is_unit_sign_with_identity_ste():
    lin = qnn.QuantLinear(5, 3, bias=False, weight_quant=weight_quant(1))
    with torch.no_grad():
        lin.weight.copy_(torch.linspace(-0.8, 0.8, 15).reshape(3, 5))
    qw = lin.quant_weight()
    assert float(qw.scale) == 1.0
    assert set(qw.value.unique().tolist()) <= {-1.0, 1.0}
    x = torch.ones(1, 5)
    lin(x).sum().backward()
    assert torch.equal(lin.weight.grad, torch.ones(3, 5))  # d(sum)/dW through the STE


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_kbit_weights_power_of_two_scale_narrow_range(bits):
    lin = qnn.QuantLinear(16, 8, bias=False, weight_quant=weight_quant(bits))
    qw = lin.quant_weight()
    scale = float(qw.scale)
    assert scale == 2.0 ** round(torch.log2(torch.tensor(scale)).item())
    ints = qw.int()
    assert ints.max() <= 2 ** (bits - 1) - 1 and ints.min() >= -(2 ** (bits - 1) - 1)
    lin(torch.randn(2, 16)).sum().backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("bits", [2, 4])
def test_kbit_act_levels_and_gradient(bits):
    act = qnn.QuantIdentity(act_quant=act_quant(bits), return_quant_tensor=True)
    act.eval()
    x = torch.randn(1000, requires_grad=True)
    q = act(x)
    assert len(q.int().unique()) <= 2 ** bits
    q.value.sum().backward()
    assert x.grad.abs().sum() > 0


def test_parse_bits_and_errors():
    assert parse_bits("W1A2") == (1, 2)
    assert parse_bits("float") == (None, None)
    with pytest.raises(ValueError, match="w1a1"):
        parse_bits("binary")
    with pytest.raises(ValueError, match="1..8"):
        parse_bits("w9a1")
    with pytest.raises(ValueError, match="weight bit width"):
        weight_quant(0)
