import math

import pytest
import torch
from torch.nn import functional as F

from bnn.compress.losses import FeatureHint, response_loss, soft_target_loss


def _kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


def _softmax(v):
    e = [math.exp(x) for x in v]
    return [x / sum(e) for x in e]


def test_soft_target_loss_matches_hand_computation():
    s, t, temp = [1.0, 0.0, -1.0], [2.0, 1.0, 0.0], 2.0
    expected = _kl(_softmax([x / temp for x in t]), _softmax([x / temp for x in s])) * temp ** 2
    got = soft_target_loss(torch.tensor([s]), torch.tensor([t]), temp)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_soft_target_loss_is_zero_for_identical_logits_and_positive_otherwise():
    x = torch.randn(5, 10)
    assert soft_target_loss(x, x.clone(), 3.0).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_target_loss(x, torch.randn(5, 10), 3.0).item() > 0


def test_t_squared_scaling():
    """The loss is T^2 * KL at temperature T: dividing by T^2 gives the bare KL of the softened distributions."""
    s, t = torch.randn(4, 10), torch.randn(4, 10)
    for temp in (1.0, 2.0, 8.0):
        kl = F.kl_div(F.log_softmax(s / temp, 1), F.softmax(t / temp, 1), reduction="batchmean")
        assert soft_target_loss(s, t, temp).item() == pytest.approx(kl.item() * temp ** 2, rel=1e-5)
    # and with logits scaled by T, the T^2-weighted loss equals T^2 times the T=1 loss
    assert soft_target_loss(s * 4, t * 4, 4.0).item() == pytest.approx(16 * soft_target_loss(s, t, 1.0).item(), rel=1e-5)


def test_response_loss_mixes_soft_and_hard():
    s, t, y = torch.randn(6, 10), torch.randn(6, 10), torch.randint(0, 10, (6,))
    hard = F.cross_entropy(s, y)
    soft = soft_target_loss(s, t, 4.0)
    assert response_loss(s, t, y, 4.0, 0.0).item() == pytest.approx(hard.item(), rel=1e-6)
    assert response_loss(s, t, y, 4.0, 1.0).item() == pytest.approx(soft.item(), rel=1e-6)
    assert response_loss(s, t, y, 4.0, 0.3).item() == pytest.approx(0.3 * soft.item() + 0.7 * hard.item(), rel=1e-6)
    with pytest.raises(ValueError):
        response_loss(s, t, y, 4.0, 1.5)
    with pytest.raises(ValueError):
        soft_target_loss(s, t, 0.0)


def test_feature_hint_shapes_and_value():
    hint = FeatureHint(16, 32)
    s, t = torch.randn(8, 16), torch.randn(8, 32)
    loss = hint(s, t)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(F.mse_loss(hint.adapter(s), t).item())
    loss.backward()
    assert hint.adapter.weight.grad.shape == (32, 16)
    with pytest.raises(ValueError, match="adapter"):
        hint(torch.randn(8, 15), t)
    # 4-D features are flattened
    assert FeatureHint(2 * 3 * 3, 5)(torch.randn(4, 2, 3, 3), torch.randn(4, 5)).shape == ()
