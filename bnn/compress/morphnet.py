"""MorphNet-style width search (Gordon et al. 2018): a resource-weighted L1 on BatchNorm scales, then shrink.

Every hidden channel of a bnnc model ends in BatchNorm -> activation; with gamma = 0 the channel's output is a
constant (sign(beta) for a binary activation), so it can be removed. The penalty on |gamma| of layer i is
weighted by the marginal cost of one channel of layer i under compiler.estimate.cost (bnn.compress.hwcost.channel_costs),
so channels that are expensive on the chosen board are pushed out first.

The L1 is applied as a proximal (soft-threshold) step after each optimizer step: with Adam, a gradient L1 term is
rescaled per parameter and the cost weighting would be lost; the proximal step keeps it exact.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from bnn.compress.budget import BudgetFit, expand_to_budget, fit_to_budget
from bnn.compress.hwcost import ChannelCosts
from bnn.compress.surgery import bn_scales, hidden_layers
from bnn.topologies import CNV_PLANS, FC_HIDDEN, ModelSpec, hidden_widths, layer_bits


class CostWeightedL1:
    """strength * sum_i (cost_i / mean cost) * sum_j |gamma_ij|, costs from compiler.estimate.cost differences."""

    def __init__(self, costs: ChannelCosts | list[float], strength: float):
        raw = costs.per_channel if isinstance(costs, ChannelCosts) else list(costs)
        raw = [max(0.0, float(c)) for c in raw]   # folding-divisibility noise can make a difference negative
        mean = sum(raw) / len(raw) if raw and sum(raw) > 0 else 1.0
        self.raw = raw
        self.weights = [c / mean for c in raw]
        self.strength = float(strength)

    def _gammas(self, model: nn.Sequential) -> list[torch.Tensor]:
        layers = hidden_layers(model)
        if len(layers) != len(self.weights):
            raise ValueError(f"model has {len(layers)} hidden layers, regulariser {len(self.weights)} costs")
        return [model[h.bn].weight for h in layers]

    def penalty(self, model: nn.Sequential) -> torch.Tensor:
        return self.strength * sum(w * g.abs().sum() for w, g in zip(self.weights, self._gammas(model)))

    @torch.no_grad()
    def prox(self, model: nn.Sequential, lr: float) -> None:
        """Soft-threshold gamma by lr * strength * weight (the proximal step of the weighted L1)."""
        for w, g in zip(self.weights, self._gammas(model)):
            g.copy_(torch.sign(g) * torch.clamp(g.abs() - lr * self.strength * w, min=0.0))


def shrink(model: nn.Sequential, spec: ModelSpec, budget: float, board: str, target_fps, *, metric: str = "lut",
           margin: float = 0.85, expand: bool = True, min_width: int = 1, granularity: int = 1, flow: str = "hls"
           ) -> tuple[BudgetFit, BudgetFit]:
    """(shrunk, final): drop the smallest-|gamma| channels to meet the budget, then optionally grow uniformly."""
    fit = fit_to_budget(spec, bn_scales(model), budget, board, target_fps, metric=metric, margin=margin,
                        min_width=min_width, granularity=granularity, flow=flow)
    final = (expand_to_budget(fit, board, target_fps, margin=margin, granularity=granularity, flow=flow)
             if expand and fit.met else fit)
    return fit, final


def dead_layers(scores: list[torch.Tensor], threshold: float = 1e-3) -> list[int]:
    """Hidden layers all of whose channel scales are below `threshold`: the layer carries a constant."""
    return [i for i, s in enumerate(scores) if len(s) and float(s.max()) < threshold]


def morph(spec: ModelSpec, remove: list[int]) -> ModelSpec:
    """MorphNet's topology change: the spec without hidden layers `remove` (and without their per-layer bits).

    A hidden layer whose channels all lost their scale emits a constant; removing it connects its producer
    straight to its consumer, whose weights then take a new shape, so the morphed model is retrained (MorphNet
    retrains every found structure from scratch). The MLPs' layers and CNV's FC layers can go; CNV's
    convolutions cannot (each sets the spatial size the next layers expect): `removable` says which can.
    """
    if not remove:
        return spec
    widths = hidden_widths(spec)
    bad = [i for i in remove if not 0 <= i < len(widths)]
    if bad:
        raise ValueError(f"cannot remove hidden layers {bad}: the spec has {len(widths)}")
    can = removable(spec)
    fixed = sorted(set(remove) - set(can))
    if fixed:
        raise ValueError(f"topology morphing cannot remove hidden layers {fixed} of {spec.name!r}: "
                         + ("its convolutions set the spatial size the later layers expect; only its FC layers "
                            f"{can} can go" if spec.name in CNV_PLANS else
                            "it is supported for the MLPs and CNV's FC layers"))
    if len(set(remove)) >= len(widths):
        raise ValueError(f"removing every hidden layer ({sorted(set(remove))}) leaves no network")
    keep = [i for i in range(len(widths)) if i not in set(remove)]
    new = replace(spec, hidden=[widths[i] for i in keep])
    if spec.layer_weight_bits is not None or spec.layer_act_bits is not None:
        wb, ab = layer_bits(spec)
        new = replace(new, layer_weight_bits=[wb[i] for i in keep] + [wb[-1]], layer_act_bits=[ab[i] for i in keep])
    return new


def removable(spec: ModelSpec) -> list[int]:
    """The hidden layers topology morphing may remove: every layer of an MLP, the FC layers after CNV's convs."""
    n = len(hidden_widths(spec))
    if spec.name in FC_HIDDEN:
        return list(range(n))
    if spec.name in CNV_PLANS:
        return list(range(len(CNV_PLANS[spec.name]), n))
    return []


def fit_budget_morphing(model: nn.Sequential, spec: ModelSpec, budget: float, board: str, target_fps, *,
                        metric: str = "lut", margin: float = 0.85, granularity: int = 1, flow: str = "hls",
                        dead: float = 1e-3, expand: bool = True) -> tuple[ModelSpec, list[int], BudgetFit, BudgetFit]:
    """(spec, removed layers, shrunk fit, final fit): remove dead hidden layers (morph), then shrink the remaining
    layers by |gamma| to the budget and optionally expand uniformly (one MorphNet cycle's structure step)."""
    from bnn.compress.surgery import bn_scales as scales_of

    scores = scales_of(model)
    removed = [i for i in dead_layers(scores, dead) if i in removable(spec)]   # a dead conv stays, at min width
    if removed and len(removed) < len(scores):
        spec = morph(spec, removed)
        scores = [s for i, s in enumerate(scores) if i not in set(removed)]
    else:
        removed = []
    fit = fit_to_budget(spec, scores, budget, board, target_fps, metric=metric, margin=margin,
                        granularity=granularity, flow=flow)
    final = (expand_to_budget(fit, board, target_fps, margin=margin, granularity=granularity, flow=flow)
             if expand and fit.met else fit)
    return spec, removed, fit, final
