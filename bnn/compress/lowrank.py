"""Low-rank factorisation of large FC layers: W (out x in) ~ B (out x r) @ A (r x in), initialised by truncated
SVD (Eckart-Young: the best rank-r approximation), then fine-tuned.

Two forms:
- `LowRankLinear` for float models: A then B with nothing in between (exactly W at full rank).
- `factorize_fc` for bnnc quantized topologies: bnnc's lowering folds everything between a MatMul and the next
  activation quantizer into ONE MVTU, and a MatMul directly after a MatMul is rejected ("MatMul between ... and its
  activation quantizer is not supported"), so the two factors must be separated by a quantizer. The factor pair
  becomes A -> BatchNorm -> activation quantizer (the spec's act_bits) -> B, i.e. an extra narrow hidden layer of
  width r in the spec's `hidden` list; it trains, exports and compiles like any bnnc MLP. It is no longer an exact
  factorisation (the bottleneck is quantized), which is why fine-tuning follows.
"""
from __future__ import annotations

import torch
from torch import nn

from bnn.compress.surgery import WEIGHTED, _copy, hidden_layers
from bnn.topologies import ModelSpec, from_spec, hidden_widths


def svd_factors(weight: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) with A: (rank, in), B: (out, rank) and B @ A the best rank-`rank` approximation of weight."""
    if weight.dim() != 2:
        raise ValueError(f"expected a 2-D weight, got shape {tuple(weight.shape)}")
    if not 1 <= rank <= min(weight.shape):
        raise ValueError(f"rank must be in 1..{min(weight.shape)}, got {rank}")
    u, s, vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    root = s[:rank].sqrt()
    a = (root[:, None] * vh[:rank]).to(weight.dtype)
    b = (u[:, :rank] * root[None, :]).to(weight.dtype)
    return a, b


class LowRankLinear(nn.Module):
    """x -> B(A(x)): a float Linear replaced by two thinner ones (in*r + r*out weights instead of in*out)."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True):
        super().__init__()
        self.a = nn.Linear(in_features, rank, bias=False)
        self.b = nn.Linear(rank, out_features, bias=bias)

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int) -> "LowRankLinear":
        m = cls(linear.in_features, linear.out_features, rank, bias=linear.bias is not None)
        a, b = svd_factors(linear.weight, rank)
        with torch.no_grad():
            m.a.weight.copy_(a)
            m.b.weight.copy_(b)
            if linear.bias is not None:
                m.b.bias.copy_(linear.bias)
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def effective_weight(layer: nn.Module) -> torch.Tensor:
    """The weight the layer computes with: the quantized weight for Brevitas layers, else the float weight."""
    q = getattr(layer, "quant_weight", None)
    if callable(q):
        with torch.no_grad():
            w = q()
        return (w.value if hasattr(w, "value") else w).detach()
    return layer.weight.detach()


def factorize_fc(model: nn.Sequential, spec: ModelSpec, layer: int, rank: int) -> tuple[ModelSpec, nn.Sequential]:
    """Split FC hidden layer `layer` (0-based) of a bnnc MLP into rank-`rank` factors with a quantized bottleneck.

    The factors are SVD-initialised from the layer's effective (quantized) weight and rescaled to the latent range
    [-1, 1]; the bottleneck BatchNorm starts from statistics recomputed by the caller's fine-tuning.
    """
    if spec.name not in ("tfc", "sfc", "lfc"):
        raise ValueError(f"low-rank factorisation is implemented for the MLP topologies (tfc/sfc/lfc), not {spec.name!r}")
    layers = hidden_layers(model)
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer must be in 0..{len(layers) - 1} (hidden FC layers), got {layer}")
    widths = hidden_widths(spec)
    new_spec = ModelSpec(**{**spec.to_dict(), "hidden": widths[:layer] + [int(rank)] + widths[layer:]})
    new = from_spec(new_spec)
    old_mods, new_mods = list(model), list(new)
    old_w = [i for i, m in enumerate(old_mods) if isinstance(m, WEIGHTED)]
    new_w = [i for i, m in enumerate(new_mods) if isinstance(m, WEIGHTED)]
    target = old_w[layer]
    a, b = svd_factors(effective_weight(old_mods[target]), rank)
    scale = lambda t: t / t.abs().max().clamp_min(1e-12)    # latent weights live in [-1, 1] (binary: sign only)
    # walk both module lists: before the split 1:1, the split layer -> (A, BN_r, act, [dropout], B), then 1:1 again
    j = 0
    for i, m_old in enumerate(old_mods):
        if i == target:
            with torch.no_grad():
                new_mods[j].weight.copy_(scale(a))
            j = new_w[layer + 1]
            with torch.no_grad():
                new_mods[j].weight.copy_(scale(b))
            j += 1
            continue
        _copy(new_mods[j], m_old, None, None)
        j += 1
    return new_spec, new.train(model.training)
