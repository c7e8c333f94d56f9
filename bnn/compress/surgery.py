"""Structured channel surgery on the bnnc topologies: keep a chosen subset of each hidden layer's channels.

A hidden layer of a bnnc model is (linear/conv, BatchNorm, activation); keeping channels K of layer i keeps rows K
of its weight and BatchNorm and columns K of the next layer's weight (for CNV's first FC, the K channel slices of
the flattened input). The result is an ordinary `ModelSpec` with per-layer `hidden` widths plus a model built
from it, so it trains, exports and compiles like any other.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bnn.topologies import ModelSpec, from_spec, hidden_widths

WEIGHTED = (nn.Linear, nn.Conv2d)


@dataclass
class HiddenLayer:
    """Module indices of one hidden layer inside the Sequential: its weight layer, BatchNorm, and the next weight layer."""

    weight: int
    bn: int
    consumer: int


def hidden_layers(model: nn.Sequential) -> list[HiddenLayer]:
    """The width-carrying hidden layers of a bnnc topology, in order."""
    mods = list(model)
    weighted = [i for i, m in enumerate(mods) if isinstance(m, WEIGHTED)]
    out = []
    for i, j in zip(weighted, weighted[1:]):
        bn = next((k for k in range(i + 1, j) if isinstance(mods[k], nn.modules.batchnorm._BatchNorm)), None)
        if bn is None:
            raise ValueError(f"layer {i} ({type(mods[i]).__name__}) has no BatchNorm before the next weight layer; "
                             "not a bnnc hidden layer")
        out.append(HiddenLayer(i, bn, j))
    return out


def bn_scales(model: nn.Sequential) -> list[torch.Tensor]:
    """|gamma| of each hidden layer's BatchNorm (MorphNet's channel scales)."""
    return [model[h.bn].weight.detach().abs().clone() for h in hidden_layers(model)]


def row_norms(model: nn.Sequential) -> list[torch.Tensor]:
    """L1 norm of each output channel's (latent) weights, per hidden layer (the magnitude-pruning score)."""
    return [model[h.weight].weight.detach().abs().flatten(1).sum(1) for h in hidden_layers(model)]


def _copy(new: nn.Module, old: nn.Module, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> None:
    state = old.state_dict()
    for key, t in list(state.items()):
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "weight" and isinstance(old, WEIGHTED):
            if out_idx is not None:
                t = t[out_idx]
            if in_idx is not None:
                t = t[:, in_idx]
        elif out_idx is not None and isinstance(old, nn.modules.batchnorm._BatchNorm) and t.dim() == 1:
            t = t[out_idx]
        state[key] = t.clone()
    # strict=False: Brevitas initialises some quantizer scales from statistics at the first forward pass, so an
    # untrained source can lack keys the fresh target has; anything the target cannot take is still an error
    result = new.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"{type(new).__name__}: cannot copy {result.unexpected_keys}")


def select_channels(model: nn.Sequential, spec: ModelSpec, keep: list[list[int]]) -> tuple[ModelSpec, nn.Sequential]:
    """A new spec + model holding only channels `keep[i]` of hidden layer i, with the old weights copied."""
    layers = hidden_layers(model)
    widths = hidden_widths(spec)
    if len(keep) != len(layers) or len(layers) != len(widths):
        raise ValueError(f"need a keep-list per hidden layer ({len(layers)}), got {len(keep)}")
    idx = []
    for i, (k, w) in enumerate(zip(keep, widths)):
        k = sorted(set(int(c) for c in k))
        if not k or k[0] < 0 or k[-1] >= w:
            raise ValueError(f"hidden layer {i}: keep-list must be a non-empty subset of 0..{w - 1}")
        idx.append(torch.tensor(k, dtype=torch.long))
    new_spec = ModelSpec(**{**spec.to_dict(), "hidden": [len(k) for k in idx]})
    new = from_spec(new_spec)
    new.train(model.training)
    out_of = {h.weight: idx[i] for i, h in enumerate(layers)} | {h.bn: idx[i] for i, h in enumerate(layers)}
    in_of = {}
    for i, h in enumerate(layers):
        old_consumer = model[h.consumer]
        cols = idx[i]
        if isinstance(old_consumer, nn.Linear) and isinstance(model[h.weight], nn.Conv2d):
            per = old_consumer.in_features // widths[i]        # flattened (C, H, W): channel c owns a contiguous slice
            cols = (cols[:, None] * per + torch.arange(per)[None, :]).reshape(-1)
        in_of[h.consumer] = cols
    for j, (m_new, m_old) in enumerate(zip(new, model)):
        _copy(m_new, m_old, out_of.get(j), in_of.get(j))
    return new_spec, new


def keep_top(scores: list[torch.Tensor], widths: list[int]) -> list[list[int]]:
    """Per layer, the indices of the `widths[i]` highest scores (ties broken by index)."""
    return [sorted(torch.argsort(s, descending=True, stable=True)[:w].tolist()) for s, w in zip(scores, widths)]
