"""Distillation losses: response-based (Hinton et al. 2015) and feature-based hints (FitNets, Romero et al. 2015).

response: alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y). The T^2 keeps the soft
term's gradient magnitude independent of T (the softened gradients shrink as 1/T^2), so alpha means the same at
every temperature.
feature: MSE between a linear adapter of a student feature and the teacher's feature; the adapter lets a narrow
binarized student be compared with a wide float teacher.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

KINDS = ("none", "response", "feature", "both")


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), mean over the batch."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    log_p_s = F.log_softmax(student_logits / temperature, dim=1)
    log_p_t = F.log_softmax(teacher_logits / temperature, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * temperature ** 2


def response_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                  temperature: float = 4.0, alpha: float = 0.9) -> torch.Tensor:
    """alpha * soft-target loss + (1 - alpha) * cross-entropy with the hard labels."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    hard = F.cross_entropy(student_logits, labels)
    if alpha == 0.0:
        return hard
    return alpha * soft_target_loss(student_logits, teacher_logits, temperature) + (1.0 - alpha) * hard


class FeatureHint(nn.Module):
    """MSE(adapter(student_feature), teacher_feature) with a learned linear adapter student_dim -> teacher_dim."""

    def __init__(self, student_dim: int, teacher_dim: int):
        super().__init__()
        self.adapter = nn.Linear(student_dim, teacher_dim)

    def forward(self, student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
        s, t = student_feat.flatten(1), teacher_feat.flatten(1)
        if s.shape[1] != self.adapter.in_features or t.shape[1] != self.adapter.out_features:
            raise ValueError(f"hint shapes: student {tuple(s.shape)} / teacher {tuple(t.shape)} do not fit the adapter "
                             f"{self.adapter.in_features} -> {self.adapter.out_features}")
        return F.mse_loss(self.adapter(s), t)
