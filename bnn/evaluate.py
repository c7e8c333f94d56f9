"""Accuracy and loss of a model on a dataset (eval mode, no gradients)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from bnn.loader import ImageDataset, make_loader


@dataclass
class EvalResult:
    loss: float       # mean cross-entropy over the samples
    accuracy: float   # fraction of samples whose argmax is the label
    correct: int
    n: int


def evaluate(model: nn.Module, data: ImageDataset | DataLoader, batch_size: int = 512,
             device: str | torch.device = "cpu") -> EvalResult:
    """Evaluate `model` on `data`; the model's train/eval mode is restored afterwards."""
    loader = data if isinstance(data, DataLoader) else make_loader(data, batch_size, shuffle=False)
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    try:
        with torch.no_grad():
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                out = model(x)
                total_loss += float(nn.functional.cross_entropy(out, y, reduction="sum"))
                correct += int((out.argmax(dim=1) == y).sum())
                n += len(y)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    return EvalResult(loss=total_loss / n, accuracy=correct / n, correct=correct, n=n)


def predict(model: nn.Module, data: ImageDataset, batch_size: int = 512) -> torch.Tensor:
    """Raw model outputs for every sample of `data`, in order."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return torch.cat([model(x) for x, _ in make_loader(data, batch_size, shuffle=False)])
    finally:
        model.train(was_training)
