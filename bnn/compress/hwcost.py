"""The compiler's cost model seen from training: estimated LUTs/FPS of a model, or of a spec at given widths.

Nothing here re-derives hardware costs: a model is exported to QONNX, lowered by compiler.frontend, folded for
the board and target FPS by compiler.estimate.folding.optimize_folding, and priced by compiler.estimate.cost. `flow` picks whose
hardware is priced: 'hls' (the HLS templates, `bnnc compile`'s default) or 'rtl' (the RTL library that
`bnnc compile --rtl` sizes, rtlsim simulates and Yosys synthesizes within a few percent; what the search uses,
since that is the estimate synthesis confirms). A spec's cost is
that of a freshly built model of the spec (binary weights make it weight-independent; for k-bit weights the
accumulator widths of trained weights can differ slightly), cached per spec.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from bnn.topologies import ModelSpec, from_spec, hidden_widths

#: what a budget can bind: LUTs, 18 Kb block RAMs, DSP slices (all of the folded design, DMA shell included),
#: or the work in cycles at pe = simd = 1
METRICS = ("lut", "bram18", "dsp", "cycles")
FLOWS = ("hls", "rtl")


@dataclass
class HardwareEstimate:
    lut: float
    ff: float
    bram18: float
    dsp: float
    fps: float
    ii_cycles: int
    work_cycles: int       # sum of all stages' cycles when fully folded (pe = simd = 1): the network's work
    met: bool              # fits the board and reaches the target FPS
    fits: bool
    reason: str
    board: str
    target_fps: float | None
    flow: str = "hls"      # whose hardware was priced: the HLS templates or the RTL library
    shell_lut: float = 0.0  # LUTs of the DMA shell inside `lut` (Yosys synthesizes the accelerator without it)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def accel_lut(self) -> float:
        """LUTs of the accelerator alone: what `bnnc synth` (Yosys) counts."""
        return self.lut - self.shell_lut

    def metric(self, name: str) -> float:
        if name not in METRICS:
            raise ValueError(f"cost metric must be one of {METRICS}, got {name!r}")
        return float(self.work_cycles if name == "cycles" else getattr(self, name))


@contextlib.contextmanager
def quiet():
    """The torch ONNX exporter prints progress lines; keep them out of training logs."""
    prev = logging.getLogger("torch").level
    logging.getLogger("torch").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.getLogger("torch").setLevel(prev)


def export_and_lower(model: nn.Module, in_shape: tuple[int, ...], fast: bool = True):
    """QONNX export + lowering to the dataflow IR (compiler.frontend); returns the graph.

    fast=True uses torch's TorchScript exporter (bnn.export's dynamo=False); fast=False is the path `bnnc export`
    takes.
    """
    from bnn.export import export_qonnx
    from compiler.workflow.pipeline import lower_only

    with tempfile.TemporaryDirectory(prefix="bnnc-compress-") as d:
        path = Path(d) / "model.onnx"
        with quiet():
            export_qonnx(model, path, tuple(in_shape), dynamo=not fast)
        return lower_only(path)


def estimate_graph(graph, board: str, target_fps: float | str | None, margin: float = 0.85,
                   flow: str = "hls") -> HardwareEstimate:
    """Fold `graph` for the board/target with the compiler's optimiser and report its cost (graph untouched), as
    `bnnc compile` (flow 'hls') or `bnnc compile --rtl` (flow 'rtl': weights in block/distributed RAM) prices it."""
    from boards.catalog import get_board
    from compiler.estimate.cost import estimate
    from compiler.estimate.folding import optimize_folding, parse_target

    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
    brd = get_board(board)
    plan = optimize_folding(graph, brd, target_fps, margin, weights_in="bram" if flow == "rtl" else "auto", flow=flow)
    work = estimate(graph, brd.default_clock_mhz, brd.shell.dma_bits)       # IR folding untouched: pe = simd = 1
    work_cycles = sum(l.cycles for l in work.layers[:-1])                   # all but the DMA shell stage
    tot = plan.cost.total
    shell = sum(l.resources.lut for l in plan.cost.layers if l.kind == "dma")
    return HardwareEstimate(lut=float(tot.lut), ff=float(tot.ff), bram18=float(tot.bram18), dsp=float(tot.dsp),
                            fps=float(plan.cost.fps), ii_cycles=int(plan.cost.ii_cycles), work_cycles=int(work_cycles),
                            met=bool(plan.met), fits=bool(plan.fits), reason=plan.reason, board=brd.name,
                            target_fps=parse_target(target_fps), flow=flow, shell_lut=float(shell))


def estimate_model(model: nn.Module, in_shape: tuple[int, ...], board: str, target_fps: float | str | None,
                   margin: float = 0.85, flow: str = "hls") -> HardwareEstimate:
    return estimate_graph(export_and_lower(model, in_shape), board, target_fps, margin, flow)


_CACHE: dict[str, HardwareEstimate] = {}


def estimate_spec(spec: ModelSpec, board: str, target_fps: float | str | None, margin: float = 0.85,
                  flow: str = "hls") -> HardwareEstimate:
    """Cost of a model of `spec` (built with seed 0), cached by (spec, board, target, margin, flow)."""
    key = json.dumps([spec.to_dict(), board, target_fps, margin, flow], sort_keys=True, default=str)
    if key not in _CACHE:
        state = torch.get_rng_state()
        torch.manual_seed(0)
        model = from_spec(spec).eval()
        torch.set_rng_state(state)
        _CACHE[key] = estimate_model(model, (spec.in_channels, spec.in_size, spec.in_size), board, target_fps, margin,
                                     flow)
    return _CACHE[key]


def with_widths(spec: ModelSpec, widths: list[int]) -> ModelSpec:
    """The same spec with explicit per-layer widths."""
    return replace(spec, hidden=[int(w) for w in widths])


@dataclass
class ChannelCosts:
    """Marginal cost of one channel/neuron of each width-carrying layer: (cost(w) - cost(w - step_i)) / step_i."""

    widths: list[int]
    metric: str
    base: float                 # cost of the spec at `widths`
    reduced: list[float]        # cost with layer i narrowed by steps[i]
    steps: list[int]

    @property
    def per_channel(self) -> list[float]:
        return [(self.base - r) / s if s else 0.0 for r, s in zip(self.reduced, self.steps)]


def layer_steps(widths: list[int], step: int | float) -> list[int]:
    """An int: that many channels per layer; a float in (0, 1): that fraction of each layer's width (>= 1)."""
    if isinstance(step, float) and 0 < step < 1:
        return [max(1, int(w * step)) for w in widths]
    if int(step) != step or step < 1:
        raise ValueError(f"step must be an integer >= 1 or a fraction in (0, 1), got {step}")
    return [int(step)] * len(widths)


def channel_costs(spec: ModelSpec, board: str, target_fps: float | str | None, metric: str = "lut",
                  step: int | float = 0.5, margin: float = 0.85, flow: str = "hls") -> ChannelCosts:
    """Per-layer marginal channel costs by finite differences of the compiler's estimate (one compile per layer).

    Why the default step is half the layer (an average marginal cost) rather than one channel: with a target FPS
    the folding optimiser needs PE/SIMD to divide the layer widths, and w - 1 (e.g. 255) has none of the
    power-of-two divisors w has, so it picks a different, often costlier folding -- SFC-W1A1 at 100k FPS on
    Pynq-Z2 measures -2436 LUT for removing one channel of its first layer. Halving keeps the divisors. For the
    'cycles' metric (work at pe = simd = 1) the cost is linear in the widths and step=1 is exact.
    """
    widths = hidden_widths(spec)
    steps = layer_steps(widths, step)
    base = estimate_spec(with_widths(spec, widths), board, target_fps, margin, flow).metric(metric)
    reduced = []
    for i, (w, st) in enumerate(zip(widths, steps)):
        if w - st < 1:
            reduced.append(base)   # cannot narrow this layer: no marginal cost measurable
            steps[i] = 0
            continue
        trial = widths[:i] + [w - st] + widths[i + 1:]
        reduced.append(estimate_spec(with_widths(spec, trial), board, target_fps, margin, flow).metric(metric))
    return ChannelCosts(widths, metric, base, reduced, steps)
