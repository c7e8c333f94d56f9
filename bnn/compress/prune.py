"""Magnitude-based structured pruning, the baseline for the width search: drop neurons/filters whose weight
rows have the smallest L1 norm (Li et al. 2017), to the same budget and under the same cost model.

Rows are compared across layers after dividing by the layer's mean row norm, since a row's L1 grows with fan-in.
"""
from __future__ import annotations

import torch
from torch import nn

from bnn.compress.budget import BudgetFit, fit_to_budget
from bnn.compress.surgery import row_norms, select_channels
from bnn.topologies import ModelSpec


def prune_scores(model: nn.Sequential) -> list[torch.Tensor]:
    """Per hidden layer, each channel's weight-row L1 norm relative to the layer's mean."""
    return [n / n.mean().clamp_min(1e-12) for n in row_norms(model)]


def prune_to_budget(model: nn.Sequential, spec: ModelSpec, budget: float, board: str, target_fps, *,
                    metric: str = "lut", margin: float = 0.85, min_width: int = 1, granularity: int = 1,
                    flow: str = "hls") -> tuple[BudgetFit, ModelSpec, nn.Sequential]:
    """Fit to the budget by dropping the smallest-norm channels; returns the fit and the pruned spec + model."""
    fit = fit_to_budget(spec, prune_scores(model), budget, board, target_fps, metric=metric, margin=margin,
                        min_width=min_width, granularity=granularity, flow=flow)
    new_spec, new_model = select_channels(model, spec, fit.keep)
    return fit, new_spec, new_model
