"""BatchNorm statistics that make an untrained quantized model exercise every activation level.

Used by the benchmarks and the tests to build realistic models without training (bit-exactness checks need
activations spread over each quantizer's whole range, not saturated or constant).
"""
from __future__ import annotations

import brevitas.nn as qnn
import numpy as np
import torch
from torch import nn


def quant_range(q: nn.Module) -> float:
    """Largest |output| of an activation quantizer, probed on a dense ramp."""
    with torch.no_grad():
        y = q(torch.linspace(-256.0, 256.0, 200_001))
    return float((y.value if hasattr(y, "value") else y).abs().max())


def calibrate_bn(model: nn.Module, x: np.ndarray, seed: int = 0) -> nn.Module:
    """BatchNorm set from the real pre-BN statistics on inputs `x`, then randomised, layer by layer in order, so
    every activation quantizer sees a spread of values across its whole range (untrained models otherwise
    saturate or go constant in deep low-bit layers).

    Per channel: mean = measured mean + N(0, 0.5) std, var = measured var, gamma = +-U(0.4, 1.0) x the following
    quantizer's range (every other channel negative: negated weight rows), beta = N(0, 0.3) x that range.
    """
    g = torch.Generator().manual_seed(seed)
    model.eval()
    mods = list(model.modules())
    xt = torch.from_numpy(np.asarray(x, np.float32))
    for i, bn in enumerate(mods):
        if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
            continue
        q = next(m for m in mods[i + 1:] if isinstance(m, qnn.QuantIdentity))
        seen = {}
        h = bn.register_forward_hook(lambda m, inp, out: seen.setdefault("x", inp[0].detach()))
        with torch.no_grad():
            model(xt)
        h.remove()
        dims = [0] + list(range(2, seen["x"].ndim))
        mean, std = seen["x"].mean(dims), seen["x"].std(dims).clamp_min(1e-3)
        n, r = bn.num_features, quant_range(q)
        sign = torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0)
        with torch.no_grad():
            bn.running_mean.copy_(mean + torch.randn(n, generator=g) * 0.5 * std)
            bn.running_var.copy_(std**2)
            bn.weight.copy_(sign * (torch.rand(n, generator=g) * 0.6 + 0.4) * r)
            bn.bias.copy_(torch.randn(n, generator=g) * 0.3 * r)
    return model
