"""A weight-shared supernet of nested-width students (slimmable networks, Yu et al. 2019; Learn2Compress).

Student i uses the first w_i[l] channels of every hidden layer l of one full-width bnnc model. Weights (and the
activation quantizers' learned scales) are shared; each student has its own BatchNorm (switchable BN) and its own
output affine (ScaleBias), because the statistics of a narrower layer differ. Student i is emulated inside the
supernet by zeroing the channels it does not own right after each activation: the next layer then sums only over
the student's channels, so the supernet computes, for student i, exactly the sliced model that `cut` returns.

Training ('split' mode, the default) gives every student its own share of each batch in ONE forward/backward pass
of the full-width network -- samples are routed to students and masked per sample -- so a family costs about one
largest-model pass per batch. 'replicate' mode runs every sample through every student (the sandwich rule over all
widths, with inplace distillation from the widest when there is no teacher): S passes per batch. 'anchor' is
in between: every sample goes through the widest student and through one narrower one (2 passes per batch), the
narrower learning from the widest's outputs on the same sample when there is no teacher.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
from torch import nn

from bnn.topologies import ModelSpec, ScaleBias, from_spec, hidden_widths

MODES = ("split", "anchor", "replicate")
SUPPORTED = ("tfc", "sfc", "lfc", "cnv")   # plain stacks (layer, BN, activation); mobilenet's depthwise groups are not


class Router:
    """Which student each contiguous block of the batch belongs to: [(student, samples), ...]."""

    def __init__(self):
        self.blocks: list[tuple[int, int]] = [(0, 0)]

    def single(self, i: int) -> None:
        self.blocks = [(i, -1)]          # the whole batch is student i

    def sizes(self, n: int) -> list[tuple[int, int]]:
        return [(i, n if k < 0 else k) for i, k in self.blocks]


class SwitchableBN(nn.Module):
    """One BatchNorm per student, each applied to that student's samples (its statistics are its own)."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm, n: int, router: Router):
        super().__init__()
        self.bns = nn.ModuleList([copy.deepcopy(bn) for _ in range(n)])
        self.router = router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = self.router.sizes(len(x))
        if len(blocks) == 1:
            return self.bns[blocks[0][0]](x)
        return torch.cat([self.bns[i](part) for (i, _), part in zip(blocks, x.split([k for _, k in blocks]))])


class SwitchableScaleBias(nn.Module):
    """One output affine per student, initialised as the student's own model would be (scale n_in ** -0.5)."""

    def __init__(self, n_out: int, inits: list[float], router: Router):
        super().__init__()
        self.heads = nn.ModuleList([ScaleBias(n_out, s) for s in inits])
        self.router = router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = self.router.sizes(len(x))
        if len(blocks) == 1:
            return self.heads[blocks[0][0]](x)
        return torch.cat([self.heads[i](part) for (i, _), part in zip(blocks, x.split([k for _, k in blocks]))])


class ChannelMask(nn.Module):
    """Zeroes, per sample, the channels its student does not own (after the activation, so they add nothing)."""

    def __init__(self, widths: list[int], channels: int, router: Router):
        super().__init__()
        m = torch.zeros(len(widths), channels)
        for i, w in enumerate(widths):
            m[i, :w] = 1.0
        self.register_buffer("masks", m, persistent=False)
        self.router = router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = self.router.sizes(len(x))
        shape = (-1, x.shape[1]) + (1,) * (x.ndim - 2)
        if len(blocks) == 1:
            return x * self.masks[blocks[0][0]].view(shape)
        rows = torch.cat([self.masks[i].expand(k, -1) for i, k in blocks])
        return x * rows.view(shape)


def nested(specs: list[ModelSpec]) -> ModelSpec:
    """The supernet's spec: the students' common topology and bits at the per-layer maximum width."""
    if not specs:
        raise ValueError("a supernet needs at least one student")
    base = specs[0]
    if base.name not in SUPPORTED:
        raise ValueError(f"weight-shared students need one of {SUPPORTED}, got {base.name!r}")
    for s in specs[1:]:
        if replace(s, hidden=None, width=1.0) != replace(base, hidden=None, width=1.0):
            raise ValueError(f"students of one supernet may differ only in their widths: {s} vs {base}")
    widths = [hidden_widths(s) for s in specs]
    if len({len(w) for w in widths}) != 1:
        raise ValueError(f"students have different numbers of layers: {widths}")
    return replace(base, width=1.0, hidden=[max(col) for col in zip(*widths)])


class Supernet(nn.Module):
    """The full-width model of `nested(specs)` with switchable BatchNorm/ScaleBias and per-student channel masks."""

    def __init__(self, specs: list[ModelSpec]):
        super().__init__()
        self.specs = list(specs)
        self.full_spec = nested(self.specs)
        self.router = Router()
        widths = [hidden_widths(s) for s in self.specs]
        full = from_spec(self.full_spec)
        n = len(self.specs)
        layers, layer, pending = [], 0, False
        mods = list(full.children())
        for j, m in enumerate(mods):
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                layers.append(SwitchableBN(m, n, self.router))
                pending = True
                continue
            if isinstance(m, ScaleBias):
                n_in = [w[-1] for w in widths]
                inits = [1.0 if self.full_spec.weight_bits is None else k ** -0.5 for k in n_in]
                layers.append(SwitchableScaleBias(m.scale.numel(), inits, self.router))
                continue
            layers.append(m)
            if pending:     # the activation right after a BatchNorm: mask what each student does not own
                layers.append(ChannelMask([w[layer] for w in widths], self.full_spec.hidden[layer], self.router))
                layer, pending = layer + 1, False
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, replicas: int = 1) -> torch.Tensor:
        """`replicas` > 1: the batch is seen by that many students in turn (router blocks over replicas x N
        samples). Everything before the first BatchNorm (input quantizer and first layer) is the same for every
        student, so it runs once and only its output is repeated: identical outputs and gradients, fewer MACs."""
        if replicas == 1:
            return self.body(x)
        mods = list(self.body.children())
        first = next(j for j, m in enumerate(mods) if isinstance(m, SwitchableBN))
        h = x
        for m in mods[:first]:
            h = m(h)
        h = h.repeat((replicas,) + (1,) * (h.ndim - 1))
        for m in mods[first:]:
            h = m(h)
        return h

    def student(self, i: int) -> "Supernet":
        """Route every sample to student i (eval, or training one student)."""
        self.router.single(i)
        return self


def cut(net: Supernet, i: int) -> nn.Module:
    """Student i as an ordinary bnnc model of its spec: every tensor the slice of the shared one (its own BN)."""
    student = from_spec(net.specs[i])
    src = [m for m in net.body.children() if not isinstance(m, ChannelMask)]
    dst = list(student.children())
    if len(src) != len(dst):
        raise RuntimeError(f"supernet has {len(src)} layers, the student {len(dst)}")
    for a, b in zip(src, dst):
        if isinstance(a, SwitchableBN):
            a = a.bns[i]
        elif isinstance(a, SwitchableScaleBias):
            a = a.heads[i]
        if type(a) is not type(b):
            raise RuntimeError(f"supernet layer {type(a).__name__} does not match the student's {type(b).__name__}")
        full, own = a.state_dict(), b.state_dict()
        sliced = {}
        for k, f in full.items():
            t = own.get(k)
            if t is not None and f.shape != t.shape:
                f = f[tuple(slice(0, d) for d in t.shape)] if f.ndim == t.ndim else f
            sliced[k] = f.clone()
        # Brevitas keeps a runtime-statistics scale (e.g. an 8-bit input quantizer's) out of state_dict() until
        # its statistics are collected: a fresh student lacks the key the trained supernet has, so every key of
        # the shared layer is copied (strict=False: the fresh one may lack it, as the shared may still)
        bad = b.load_state_dict(sliced, strict=False).unexpected_keys
        if bad:
            raise RuntimeError(f"supernet layer {type(a).__name__} has unexpected tensors {bad}")
    return student.eval()


@dataclass
class Batch:
    """One training batch laid out for the supernet: inputs (`replicas` copies are made inside the supernet, after
    its shared first layer), labels and soft targets (already repeated), and the student blocks."""

    x: torch.Tensor
    y: torch.Tensor
    t: torch.Tensor | None
    blocks: list[tuple[int, int]]
    replicas: int = 1


def layout(x, y, t, n_students: int, mode: str, weights: list[float] | None = None, widest: int | None = None) -> Batch:
    """'split': contiguous shares of the batch per student (>= 2 samples each, for BatchNorm); 'replicate': the
    whole batch once per student; 'anchor': the whole batch through the widest student, and once more shared out
    among the others (so every sample meets the widest and one narrower student: inplace distillation)."""
    rep = lambda v, k: None if v is None else v.repeat((k,) + (1,) * (v.ndim - 1))  # noqa: E731
    if mode == "replicate":
        return Batch(x, rep(y, n_students), rep(t, n_students), [(i, len(x)) for i in range(n_students)], n_students)
    if mode == "anchor":
        widest = n_students - 1 if widest is None else widest
        others = [i for i in range(n_students) if i != widest]
        if not others:
            return Batch(x, y, t, [(widest, len(x))])
        rest = layout(x, y, t, len(others), "split", [weights[i] for i in others] if weights else None)
        return Batch(x, rep(y, 2), rep(t, 2), [(widest, len(x))] + [(others[i], k) for i, k in rest.blocks], 2)
    if mode != "split":
        raise ValueError(f"joint mode must be one of {MODES}, got {mode!r}")
    n = len(x)
    w = weights or [1.0] * n_students
    if n < 2 * n_students:
        raise ValueError(f"a batch of {n} cannot give each of {n_students} students 2 samples; raise the batch size")
    raw = [max(2, int(round(n * wi / sum(w)))) for wi in w]
    raw[-1] = n - sum(raw[:-1])
    if raw[-1] < 2:
        raw = [n // n_students] * n_students
        raw[-1] += n - sum(raw)
    return Batch(x, y, t, list(enumerate(raw)))
