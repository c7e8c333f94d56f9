import pytest
import torch

from bnn.compress.prune import prune_scores, prune_to_budget
from bnn.compress.hwcost import estimate_spec, with_widths
from bnn.compress.surgery import hidden_layers, keep_top, row_norms, select_channels
from bnn.topologies import from_spec, make_spec

BOARD, FPS = "pynq-z2", 20000


def test_pruning_keeps_the_largest_norm_channels():
    spec = make_spec("tfc", 1, 1, hidden=[32, 32, 32])
    torch.manual_seed(0)
    model = from_spec(spec)
    full = estimate_spec(spec, BOARD, FPS).lut
    budget = (full + estimate_spec(with_widths(spec, [8, 8, 8]), BOARD, FPS).lut) / 2
    norms = row_norms(model)
    fit, new_spec, new_model = prune_to_budget(model, spec, budget, BOARD, FPS)
    assert fit.met and fit.cost <= budget
    assert new_spec.hidden == [len(k) for k in fit.keep] == fit.widths
    for n, keep in zip(norms, fit.keep):
        assert sorted(keep) == keep_top([n], [len(keep)])[0]
    # the pruned model holds exactly the kept rows / columns
    layers = hidden_layers(model)
    new_layers = hidden_layers(new_model)
    for i, (h, hn) in enumerate(zip(layers, new_layers)):
        k = torch.tensor(fit.keep[i])
        w_old = model[h.weight].weight.detach()[k]
        if i > 0:
            w_old = w_old[:, torch.tensor(fit.keep[i - 1])]
        assert torch.equal(new_model[hn.weight].weight.detach(), w_old)
    assert prune_scores(model)[0].mean().item() == pytest.approx(1.0)


def test_dropping_dead_channels_keeps_the_function():
    """Channels whose outgoing weights are zero contribute nothing: removing them is exact (float twin)."""
    spec = make_spec("tfc", None, None, hidden=[12, 10, 8])
    torch.manual_seed(1)
    model = from_spec(spec).eval()
    layers = hidden_layers(model)
    dead = [[0, 5], [3], [7]]
    with torch.no_grad():
        for h, d in zip(layers, dead):
            model[h.consumer].weight[:, d] = 0
    keep = [[c for c in range(w) if c not in d] for w, d in zip([12, 10, 8], dead)]
    new_spec, new = select_channels(model, spec, keep)
    new.eval()
    x = torch.rand(5, 1, 28, 28)
    assert new_spec.hidden == [10, 9, 7]
    assert torch.allclose(new(x), model(x), atol=1e-5)
    with pytest.raises(ValueError):
        select_channels(model, spec, [[0], [0]])


def test_cnv_surgery_handles_the_conv_to_fc_flatten():
    spec = make_spec("cnv", 1, 1, width=0.125)
    model = from_spec(spec).eval()
    widths = [8, 8, 16, 16, 32, 32, 64, 64]
    keep = [list(range(0, w, 2)) for w in widths]
    new_spec, new = select_channels(model, spec, keep)
    assert new_spec.hidden == [w // 2 for w in widths]
    assert new(torch.rand(2, 1, 32, 32)).shape == (2, 10)
