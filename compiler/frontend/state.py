"""The state of a lowering walk that every lowering module shares: the quantized tensor between layers (`State`) and
the window geometry of a Conv or pool node. Its own module so that lower.py and the modules it dispatches to
(pooling, residual, raw_input) all import it, and none imports lower.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diagnostics.errors import CompileError


@dataclass
class State:
    """The quantized tensor flowing between layers: QONNX name/shape, IR shape/order, datatype and scale."""

    tensor: str
    qshape: tuple[int, ...]              # per-frame QONNX shape (C, H, W), (C, L) (1-D signals) or (K,)
    dtype: str
    scale: float
    perm: np.ndarray | None = None       # flat tensors: ir[i] = qonnx[perm[i]]
    #: a raw-pixel input (`--input-bits`): the model's float value is scale * level + offset, offset per element
    #: (QONNX layout); None: scale * level
    offset: np.ndarray | None = None
    #: per-channel normalization of a raw-pixel input: the value is scale * mult * level + offset, an integer
    #: multiplier per element (QONNX layout; compiler.frontend.raw_input.common_unit); None: all 1
    mult: np.ndarray | None = None

    @property
    def nd(self) -> int:
        """Spatial dimensions of the QONNX tensor: 0 flat (K,), 1 a signal (C, L), 2 an image (C, H, W)."""
        return len(self.qshape) - 1

    @property
    def spatial(self) -> bool:
        return self.nd > 0

    @property
    def img(self) -> tuple[int, int, int]:
        """(C, H, W) of a spatial tensor; a signal (C, L) is the image (C, 1, L), as FINN treats 1-D data."""
        return image_shape(self.qshape)

    @property
    def ir_shape(self) -> tuple[int, ...]:
        if not self.spatial:
            return self.qshape
        c, h, w = self.img
        return (h, w, c)


def image_shape(qshape) -> tuple[int, int, int]:
    """(C, H, W) of a (C, H, W) or (C, L) QONNX shape (the latter as (C, 1, L))."""
    q = tuple(int(v) for v in qshape)
    return q if len(q) == 3 else (q[0], 1, q[1])


def window_attrs(node, a: dict, nd: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """(kernel [KH, KW], stride [SH, SW], pads [top, left, bottom, right], dilation [DH, DW]) of a Conv / pool node
    on an image (nd = 2) or a signal (nd = 1; its window runs along W, H = 1)."""
    k = [int(v) for v in a.get("kernel_shape", [])]
    if len(k) != nd:
        raise CompileError.at(node, f"a {len(k)}-D window on a {nd}-D tensor is not supported")
    s = [int(v) for v in a.get("strides", [1] * nd)]
    p = [int(v) for v in a.get("pads", [0] * 2 * nd)]
    d = [int(v) for v in a.get("dilations", [1] * nd)]
    if nd == 1:
        return [1, k[0]], [1, s[0]], [0, p[0], 0, p[1]], [1, d[0]]
    return k, s, p, d
