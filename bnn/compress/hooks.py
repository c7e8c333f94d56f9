"""Capture an intermediate tensor of a model during its normal forward pass (for feature-based distillation).

Hooks instead of model surgery: the teacher can be any nn.Module and the student stays the exact module that
is later exported, so the hint costs nothing at export time (the tap is removed or simply unused).
"""
from __future__ import annotations

import torch
from torch import nn


def last_module(model: nn.Module, kind: type | tuple[type, ...]) -> str:
    """Name of the last submodule (in registration order) that is an instance of `kind`."""
    names = [n for n, m in model.named_modules() if isinstance(m, kind) and n]
    if not names:
        raise ValueError(f"{type(model).__name__} has no {kind} submodule to tap")
    return names[-1]


def last_weighted(model: nn.Module) -> str:
    """Name of the last submodule holding a 2-D or 4-D weight (the classifier head of most models)."""
    names = [n for n, m in model.named_modules()
             if n and isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() in (2, 4)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no linear/conv layer to tap")
    return names[-1]


class FeatureTap:
    """Keeps the latest input (`side='in'`) or output (`side='out'`) of `model.<name>`, flattened to (N, -1)."""

    def __init__(self, model: nn.Module, name: str, side: str = "out"):
        if side not in ("in", "out"):
            raise ValueError(f"side must be 'in' or 'out', got {side!r}")
        modules = dict(model.named_modules())
        if name not in modules:
            raise ValueError(f"{type(model).__name__} has no submodule {name!r}; have {[n for n in modules if n][:20]}")
        self.name, self.side, self.value = name, side, None
        self._handle = modules[name].register_forward_hook(self._hook)

    def _hook(self, module, inputs, output) -> None:
        t = inputs[0] if self.side == "in" else output
        self.value = t.flatten(1)

    def dim(self, model: nn.Module, in_shape: tuple[int, ...]) -> int:
        """Feature width, found by one forward pass on zeros (eval mode, no gradients)."""
        was = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(2, *in_shape))
        model.train(was)
        return int(self.value.shape[1])

    def remove(self) -> None:
        self._handle.remove()
