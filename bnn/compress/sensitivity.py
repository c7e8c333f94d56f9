"""Per-layer sensitivity to quantization (HAWQ-style): how much the loss is expected to grow when a layer's weights
or activations are quantized to b bits.

HAWQ (Dong et al. 2019, 2020) scores layer i at precision b by Omega_i(b) = tr(H_i) / n_i * ||Q_b(x_i) - x_i||^2:
the mean curvature of the loss with respect to the layer's tensor times the squared quantization perturbation.
Two curvature estimates are offered, both per layer, for weights *and* activations:

- 'fisher': the empirical Fisher trace, sum of squared mini-batch gradients (the Gauss-Newton approximation of
  the Hessian at a minimum; one backward pass per batch);
- 'hutchinson': Hutchinson's estimator E[v^T H v] with Rademacher v (HAWQ-v2), one Hessian-vector product per
  sample through double backward.

The perturbations are measured on the probe model: its latent weights, and the activation quantizers' inputs on
real data, quantized to b bits with the per-tensor scale of least error (the BatchNorm after every bnnc layer
absorbs a scale, so a fixed-scale comparison would mostly measure scale mismatch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from bnn.compress.surgery import hidden_layers

METHODS = ("fisher", "hutchinson")
WEIGHTED = (nn.Linear, nn.Conv2d)


@dataclass
class Sensitivity:
    """Omega per layer and bit choice: `weights[i][b]` for weight layer i (hidden layers, then the classifier),
    `acts[i][b]` for the activation after hidden layer i; plus the curvature traces they came from."""

    bits: tuple[int, ...]
    weights: list[dict[int, float]]
    acts: list[dict[int, float]]
    weight_trace: list[float] = field(default_factory=list)
    act_trace: list[float] = field(default_factory=list)
    method: str = "fisher"

    def total(self, wbits: list[int], abits: list[int]) -> float:
        """Predicted loss increase of an assignment (the sum HAWQ minimises)."""
        return sum(s[b] for s, b in zip(self.weights, wbits)) + sum(s[b] for s, b in zip(self.acts, abits))

    def as_dict(self) -> dict:
        return {"method": self.method, "bits": list(self.bits), "weight_trace": self.weight_trace,
                "act_trace": self.act_trace,
                "weights": [{str(b): v for b, v in d.items()} for d in self.weights],
                "acts": [{str(b): v for b, v in d.items()} for d in self.acts]}


def weight_layers(model: nn.Sequential) -> list[nn.Module]:
    """Every linear/conv layer of a bnnc topology in order (hidden layers, then the classifier)."""
    return [m for m in model if isinstance(m, WEIGHTED)]


def act_quantizers(model: nn.Sequential) -> list[nn.Module]:
    """The activation module after each hidden layer's BatchNorm (its input is what gets quantized)."""
    mods = list(model)
    out = []
    for h in hidden_layers(model):
        j = next(k for k in range(h.bn + 1, h.consumer) if not isinstance(mods[k], (nn.Dropout, nn.MaxPool2d)))
        out.append(mods[j])
    return out


@torch.no_grad()
def quant_error(x: torch.Tensor, bits: int, narrow: bool) -> torch.Tensor:
    """Per-row squared error ||s * q_b(x / s) - x||^2 of b-bit quantization with the per-tensor scale s of least
    total error: every quantized layer of a bnnc topology is followed by BatchNorm (or the classifier's affine),
    which absorbs a per-tensor scale, so only the error *shape* matters. 1 bit: s * sign(x), s = mean|x| (the
    optimum, as in XNOR-Net); b >= 2: signed levels (narrow range for weights, as bnn.quant's), s searched on a
    quarter-octave grid below max|x|."""
    x = x.detach().float().flatten(1)
    if bits == 1:
        alpha = x.abs().mean()
        return ((torch.where(x >= 0, alpha, -alpha) - x) ** 2).sum(1)
    hi = 2 ** (bits - 1) - 1
    lo = -hi if narrow else -(hi + 1)
    top = float(x.abs().max()) or 1.0
    best = None
    for t in range(0, 48):
        sc = top / hi * 2.0 ** (-t / 4)
        err = ((torch.clamp(torch.round(x / sc), lo, hi) * sc - x) ** 2).sum(1)
        if best is None or float(err.sum()) < float(best.sum()):
            best = err
    return best


def weight_noise(w: torch.Tensor, bits: int) -> float:
    """||Q_b(w) - w||^2 of a whole weight tensor (latent weights clipped to [-1, 1] as the binary recipe does)."""
    return float(quant_error(w.detach().reshape(1, -1).clamp(-1, 1), bits, narrow=True).sum())


def act_noise(x: torch.Tensor, bits: int) -> float:
    """Mean over samples of ||Q_b(x) - x||^2 of one sample's activation vector (the quantizer's input)."""
    x = x.detach().float().flatten(1)
    return float(quant_error(x.reshape(1, -1), bits, narrow=False).sum()) / len(x)


def _batches(data, batch_size: int, n_batches: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data), generator=g)[: batch_size * n_batches]
    for k in range(0, len(idx), batch_size):
        x, y = data[idx[k:k + batch_size].tolist()]      # ImageDataset: a list of indices is one batch
        yield torch.as_tensor(x), torch.as_tensor(y).long()


def _capture(quants: list[nn.Module]) -> tuple[list, list]:
    store: list = [None] * len(quants)

    def hook(i):
        def fn(module, inputs):
            store[i] = inputs[0]
        return fn

    return store, [q.register_forward_pre_hook(hook(i)) for i, q in enumerate(quants)]


def traces(model: nn.Sequential, data, method: str = "fisher", *, batch_size: int = 128, n_batches: int = 8,
           samples: int = 2, seed: int = 0) -> tuple[list[float], list[float], list[torch.Tensor]]:
    """(weight traces, activation traces per sample, captured activation inputs) of the loss, per layer.

    Both are per-sample traces summed over the tensor's elements (weights: the whole tensor; activations: one
    sample's vector), so Omega = trace / n * total noise of one tensor / one sample.
    """
    if method not in METHODS:
        raise ValueError(f"sensitivity method must be one of {METHODS}, got {method!r}")
    was = model.training
    model.eval()                       # running BatchNorm statistics: the curvature of the deployed function
    wl, quants = weight_layers(model), act_quantizers(model)
    params = [m.weight for m in wl]
    req = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    wt, at = [0.0] * len(wl), [0.0] * len(quants)
    acts: list[list[torch.Tensor]] = [[] for _ in quants]
    store, handles = _capture(quants)
    gen = torch.Generator().manual_seed(seed + 1)
    n = 0
    try:
        for x, y in _batches(data, batch_size, n_batches, seed):
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
            xs = list(store)
            for i, a in enumerate(xs):
                acts[i].append(a.detach())
            if method == "fisher":
                g = torch.autograd.grad(loss, params + xs)
                # the loss is a batch mean: B * ||grad||^2 is the per-sample Fisher trace (exact for activations,
                # whose samples are disjoint; for weights it neglects the correlation of samples' gradients)
                for i in range(len(wl)):
                    wt[i] += float((g[i] ** 2).sum()) * len(x)
                for i in range(len(xs)):
                    at[i] += float((g[len(wl) + i] ** 2).sum()) * len(x)
            else:
                g = torch.autograd.grad(loss, params + xs, create_graph=True)
                for _ in range(samples):
                    vs = [torch.randint(0, 2, t.shape, generator=gen).float() * 2 - 1 for t in g]
                    hv = torch.autograd.grad(sum((gi * v).sum() for gi, v in zip(g, vs)), params + xs,
                                             retain_graph=True, allow_unused=True)
                    # v^T H v of a batch-mean loss is the mean per-sample trace: no rescaling
                    for i, (h, v) in enumerate(zip(hv, vs)):
                        val = float((h * v).sum()) / samples if h is not None else 0.0
                        if i < len(wl):
                            wt[i] += val
                        else:
                            at[i - len(wl)] += val
            n += 1
    finally:
        for h in handles:
            h.remove()
        for p, r in zip(params, req):
            p.requires_grad_(r)
        model.train(was)
    if n == 0:
        raise ValueError("no data to measure sensitivity on")
    return [w / n for w in wt], [a / n for a in at], [torch.cat(a) for a in acts]


def layer_sensitivity(model: nn.Sequential, data, bits: tuple[int, ...] = (1, 2, 3, 4), method: str = "fisher",
                      **kw) -> Sensitivity:
    """Omega_i(b) for every weight layer and hidden activation of a trained bnnc topology (MLPs, CNV)."""
    wtr, atr, acts = traces(model, data, method, **kw)
    wl = weight_layers(model)
    ws = []
    for m, t in zip(wl, wtr):
        n = m.weight.numel()
        ws.append({b: max(t, 0.0) / n * weight_noise(m.weight, b) for b in bits})
    as_ = []
    for x, t in zip(acts, atr):
        n = x[0].numel()
        as_.append({b: max(t, 0.0) / n * act_noise(x, b) for b in bits})
    return Sensitivity(tuple(bits), ws, as_, wtr, atr, method)
