"""MorphNet-style width search (Gordon et al. 2018): a resource-weighted L1 on BatchNorm scales, then shrink.

Every hidden channel of a bnnc model ends in BatchNorm -> activation; with gamma = 0 the channel's output is a
constant (sign(beta) for a binary activation), so it can be removed. The penalty on |gamma| of layer i is
weighted by the marginal cost of one channel of layer i under compiler.cost (bnn.compress.hwcost.channel_costs),
so channels that are expensive on the chosen board are pushed out first.

The L1 is applied as a proximal (soft-threshold) step after each optimizer step: with Adam, a gradient L1 term is
rescaled per parameter and the cost weighting would be lost; the proximal step keeps it exact.
"""
from __future__ import annotations

import torch
from torch import nn

from bnn.compress.budget import BudgetFit, expand_to_budget, fit_to_budget
from bnn.compress.hwcost import ChannelCosts
from bnn.compress.surgery import bn_scales, hidden_layers
from bnn.topologies import ModelSpec


class CostWeightedL1:
    """strength * sum_i (cost_i / mean cost) * sum_j |gamma_ij|, costs from compiler.cost differences."""

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
           margin: float = 0.85, expand: bool = True, min_width: int = 1, granularity: int = 1
           ) -> tuple[BudgetFit, BudgetFit]:
    """(shrunk, final): drop the smallest-|gamma| channels to meet the budget, then optionally grow uniformly."""
    fit = fit_to_budget(spec, bn_scales(model), budget, board, target_fps, metric=metric, margin=margin,
                        min_width=min_width, granularity=granularity)
    final = (expand_to_budget(fit, board, target_fps, margin=margin, granularity=granularity)
             if expand and fit.met else fit)
    return fit, final
