"""Where weight memories live: bitstream-initialised ROMs (LUTRAM/BRAM by size) or URAM written at run time.

Why a choice: UltraScale+ URAM has no bitstream initialisation (Versal's has), so a weight memory placed there
is empty after configuration and the runtime writes it through the accelerator's weight-load mode (docs/ir.md
"Weight memories"). `--weights-in` picks the policy: "bram" never uses URAM, "uram" puts every weight memory of
a kind that supports it there, "auto" (default) moves weight memories to URAM only when block RAM is what stops
the design (largest block-RAM user first), so designs that fit without URAM stay loader-free.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from boards.catalog import Board, Resources
from compiler import kinds
from diagnostics.errors import CompileError
from compiler.ir.graph import Layer
from compiler.kinds.base import WEIGHT_RAM, in_uram
from compiler.estimate.resources import LayerCost

WEIGHTS_IN = ("auto", "uram", "bram")


def check_weights_in(weights_in: str, board: Board | None) -> None:
    """CompileError unless `weights_in` is a known policy the board can honour."""
    if weights_in not in WEIGHTS_IN:
        raise CompileError(f"--weights-in: expected one of {', '.join(WEIGHTS_IN)}, got {weights_in!r}")
    if weights_in == "uram" and board is not None and not board.resources.uram:
        raise CompileError(f"--weights-in uram: {board.name} has no URAM",
                           hint="use an UltraScale+ board with URAM (see `bnnc boards`), or --weights-in auto/bram")


def can_use_uram(layer: Layer) -> bool:
    return kinds.get(layer.kind).uram_weights


def with_weights_in(layer: Layer, uram: bool) -> Layer:
    """A copy of `layer` whose weights are in URAM (uram=True) or in a constant ROM; attrs are never shared."""
    attrs = {k: v for k, v in layer.attrs.items() if k != WEIGHT_RAM}
    if uram:
        attrs[WEIGHT_RAM] = "uram"
    return replace(layer, attrs=attrs)


def initial(layers: list[Layer], weights_in: str) -> list[Layer]:
    """Layers placed by the policy before any search: all capable ones in URAM for "uram", none otherwise."""
    return [with_weights_in(l, weights_in == "uram" and can_use_uram(l)) for l in layers]


def spill(layers: list[Layer], costs: list[LayerCost], cost_of: Callable[[Layer], LayerCost], budget: Resources,
          exclude: int = -1) -> int | None:
    """Move the one weight memory to URAM that frees the most block RAM while the URAM budget holds; returns its
    index (layers/costs updated in place) or None when no move frees block RAM. Callers repeat until the design
    fits or nothing is left to move."""
    best = None
    for j, l in enumerate(layers):
        if j == exclude or in_uram(l) or not can_use_uram(l):
            continue
        t = with_weights_in(l, True)
        c = cost_of(t)
        freed = costs[j].resources.bram18 - c.resources.bram18
        uram = sum(x.resources.uram for x in costs) - costs[j].resources.uram + c.resources.uram
        if freed > 0 and uram <= budget.uram and (best is None or freed > best[0]):
            best = (freed, j, t, c)
    if best is None:
        return None
    _, j, layers[j], costs[j] = best
    return j


def placement_note(layers: list[Layer]) -> str | None:
    """What the report and the optimiser say when weights are in URAM (None when none are)."""
    names = [l.name for l in layers if in_uram(l)]
    if not names:
        return None
    return (f"weights of {len(names)} layer(s) in URAM ({', '.join(names)}): UltraScale+ URAM is not initialised by "
            "the bitstream, so the runtime writes them at load time through the accelerator's weight-load mode "
            "(deploy folder weights.bin)")
