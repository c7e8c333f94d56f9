import pytest
import torch
from torch import nn

from bnn.compress.hwcost import estimate_model, export_and_lower
from bnn.compress.lowrank import LowRankLinear, factorize_fc, svd_factors
from bnn.topologies import from_spec, make_spec


def test_full_rank_svd_reproduces_the_layer():
    torch.manual_seed(0)
    lin = nn.Linear(20, 12)
    a, b = svd_factors(lin.weight, 12)
    assert a.shape == (12, 20) and b.shape == (12, 12)
    assert torch.allclose(b @ a, lin.weight, atol=1e-5)
    low = LowRankLinear.from_linear(lin, 12)
    x = torch.randn(7, 20)
    assert torch.allclose(low(x), lin(x), atol=1e-5)


def test_truncated_svd_error_is_the_tail_of_the_spectrum():
    torch.manual_seed(1)
    w = torch.randn(30, 40, dtype=torch.float64)
    s = torch.linalg.svdvals(w)
    for r in (1, 5, 29):
        a, b = svd_factors(w, r)
        err = torch.linalg.norm(w - b @ a) ** 2
        assert err.item() == pytest.approx((s[r:] ** 2).sum().item(), rel=1e-6)
    with pytest.raises(ValueError):
        svd_factors(w, 31)


def test_factorized_binarized_layer_exports_compiles_and_changes_the_estimate():
    spec = make_spec("tfc", 1, 1, input_bits=8)
    torch.manual_seed(0)
    model = from_spec(spec).eval()
    new_spec, new = factorize_fc(model, spec, 0, 8)
    assert new_spec.hidden == [8, 64, 64, 64]
    new.eval()
    assert new(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    # the layers after the split are unchanged
    assert torch.equal(new[-2].weight, model[-2].weight)
    graph = export_and_lower(new, (1, 28, 28))
    assert [l.kind for l in graph.layers].count("MVTU") == 5
    before = estimate_model(model, (1, 28, 28), "pynq-z2", 50000)
    after = estimate_model(new, (1, 28, 28), "pynq-z2", 50000)
    assert after.work_cycles < before.work_cycles   # 784*8 + 8*64 < 784*64
    with pytest.raises(ValueError):
        factorize_fc(model, spec, 3, 8)
