"""The teacher: any float `nn.Module`, a bnnc checkpoint, or a 'file.py:factory' user model, frozen in eval mode.

Distillation only ever reads the teacher, so it is frozen here once: no parameter gets a gradient and BatchNorm
statistics cannot drift while students train.
"""
from __future__ import annotations

import os
from pathlib import Path

from torch import nn


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and requires_grad=False on every parameter; returns the same module."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_teacher(source: nn.Module | str | os.PathLike) -> nn.Module:
    """A frozen teacher from a module, a bnnc checkpoint (.pt) or a 'file.py:factory' spec (weights as built)."""
    if isinstance(source, nn.Module):
        return freeze(source)
    text = str(source)
    if Path(text).is_file():
        from bnn.train import model_from_checkpoint

        return freeze(model_from_checkpoint(text))
    if ":" in text and Path(text.rpartition(":")[0]).is_file():
        from bnn.topologies import from_spec, make_spec

        return freeze(from_spec(make_spec(text, None, None)))
    raise ValueError(f"teacher {text!r}: not a checkpoint file nor 'file.py:factory'")
