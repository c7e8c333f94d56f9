"""Fitting layer widths to a resource budget under the compiler's cost model.

Shared by the MorphNet search and the pruning baseline: channels are ranked globally by a score, the lowest are
removed (never below `min_width` per layer) and the smallest removal count whose estimated cost meets the budget
is found by bisection (cost falls with every removed channel up to folding-divisibility noise, which the final
check catches). `expand_to_budget` then scales all widths by one factor to use the budget left over.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import torch

from bnn.compress.hwcost import HardwareEstimate, estimate_spec, with_widths
from bnn.topologies import ModelSpec, hidden_widths

RESOURCES = ("lut", "bram18", "dsp")


@dataclass(frozen=True)
class ResourceBudget:
    """What a student may cost on a board at a target FPS: limits on LUT / BRAM18 / DSP of the folded design (DMA
    shell included, as `bnnc compile` reports it), priced by `flow`'s cost model ('rtl': what `bnnc compile --rtl`
    sizes and Yosys confirms). A candidate is within budget when the optimiser reaches the target FPS on the board
    and every given limit holds. `resource` is the one the search spends and the MorphNet regulariser weighs:
    by default the binding one, the limit the reference model uses the largest share of (`binding`)."""

    board: str
    target_fps: float | str | None
    lut: float | None = None
    bram18: float | None = None
    dsp: float | None = None
    flow: str = "rtl"
    margin: float = 0.85
    resource: str = "lut"

    def __post_init__(self):
        if self.resource not in RESOURCES:
            raise ValueError(f"budget resource must be one of {RESOURCES}, got {self.resource!r}")
        if not any(self.limits().values()):
            raise ValueError("a resource budget needs at least one limit (lut, bram18 or dsp)")

    def limits(self) -> dict[str, float]:
        return {r: getattr(self, r) for r in RESOURCES if getattr(self, r) is not None}

    def estimate(self, spec: ModelSpec) -> HardwareEstimate:
        return estimate_spec(spec, self.board, self.target_fps, self.margin, self.flow)

    def amount(self, est: HardwareEstimate) -> float:
        return est.metric(self.resource)

    def ok(self, est: HardwareEstimate) -> bool:
        return bool(est.met) and all(getattr(est, r) <= v for r, v in self.limits().items())

    def describe(self, est: HardwareEstimate) -> str:
        parts = [f"{getattr(est, r):,.0f}/{v:,.0f} {r}" for r, v in self.limits().items()]
        fps = f"{est.fps:,.0f} FPS" + ("" if est.met else f" (target missed: {est.reason})")
        return f"{', '.join(parts)}, {fps} ({est.flow} estimate)"

    def binding(self, spec: ModelSpec) -> "ResourceBudget":
        """This budget spending the resource `spec` uses the largest share of (MorphNet's targeted resource)."""
        est = self.estimate(spec)
        share = {r: est.metric(r) / v for r, v in self.limits().items() if v}
        return replace(self, resource=max(share, key=share.get))


@dataclass
class BudgetFit:
    spec: ModelSpec
    keep: list[list[int]] | None    # indices kept per hidden layer (None: not a channel selection)
    cost: float
    budget: float
    metric: str
    met: bool
    message: str
    evaluations: list[tuple[list[int], float]] = field(default_factory=list)

    @property
    def widths(self) -> list[int]:
        return hidden_widths(self.spec)


def _cost(spec: ModelSpec, widths: list[int], board: str, target, metric: str, margin: float,
          flow: str = "hls") -> float:
    return estimate_spec(with_widths(spec, widths), board, target, margin, flow).metric(metric)


def removal_order(scores: list[torch.Tensor], min_width: int = 1) -> list[tuple[int, int]]:
    """(layer, channel) pairs from lowest score up, excluding each layer's `min_width` best channels."""
    pairs = []
    for li, s in enumerate(scores):
        order = torch.argsort(s, stable=True).tolist()
        pairs += [(float(s[c]), li, c) for c in order[: max(0, len(order) - min_width)]]
    pairs.sort()
    return [(li, c) for _, li, c in pairs]


def _round(w: int, granularity: int, min_width: int) -> int:
    """Round a width down to a multiple of `granularity` (foldable widths), never below min_width."""
    return max(min_width, (w // granularity) * granularity) if granularity > 1 else max(min_width, w)


def _keep_after(scores: list[torch.Tensor], order: list[tuple[int, int]], n: int, granularity: int = 1,
                min_width: int = 1) -> list[list[int]]:
    """The channels left after removing the first n of `order`, each layer rounded to the granularity (the
    highest-scored channels of a layer are the ones kept)."""
    removed = [0] * len(scores)
    for li, _ in order[:n]:
        removed[li] += 1
    keep = []
    for li, s in enumerate(scores):
        w = _round(len(s) - removed[li], granularity, min(min_width, len(s)))
        keep.append(sorted(torch.argsort(s, descending=True, stable=True)[:w].tolist()))
    return keep


def fit_to_budget(spec: ModelSpec, scores: list[torch.Tensor], budget: float, board: str, target_fps, *,
                  metric: str = "lut", margin: float = 0.85, min_width: int = 1, granularity: int = 1,
                  flow: str = "hls") -> BudgetFit:
    """Drop the lowest-scored channels until the estimated cost is <= budget (or say why that is impossible).

    `granularity` > 1 rounds every width down to a multiple of it: the folding optimiser needs PE/SIMD to divide
    the widths, so widths like 173 fold badly and can cost more than wider ones.
    """
    widths = hidden_widths(spec)
    if [len(s) for s in scores] != widths:
        raise ValueError(f"scores per layer {[len(s) for s in scores]} do not match the spec's widths {widths}")
    order = removal_order(scores, min_width)
    evals: list[tuple[list[int], float]] = []

    def cost_after(n: int) -> float:
        w = [len(k) for k in _keep_after(scores, order, n, granularity, min_width)]
        c = _cost(spec, w, board, target_fps, metric, margin, flow)
        evals.append((w, c))
        return c

    c0 = cost_after(0)
    if c0 <= budget:
        keep = _keep_after(scores, order, 0, granularity, min_width)
        return BudgetFit(with_widths(spec, widths), keep, c0, budget, metric, True,
                         f"already within budget ({c0:,.0f} <= {budget:,.0f} {metric})", evals)
    c_max = cost_after(len(order))
    if c_max > budget:
        keep = _keep_after(scores, order, len(order), granularity, min_width)
        return BudgetFit(with_widths(spec, [len(k) for k in keep]), keep, c_max, budget, metric, False,
                         f"cannot meet {budget:,.0f} {metric}: even with {min_width} channel(s) per hidden layer the "
                         f"estimate is {c_max:,.0f} {metric} (the input layer, output layer and DMA shell do not shrink)",
                         evals)
    lo, hi = 0, len(order)          # cost(lo) > budget >= cost(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cost_after(mid) <= budget:
            hi = mid
        else:
            lo = mid
    keep = _keep_after(scores, order, hi, granularity, min_width)
    c = _cost(spec, [len(k) for k in keep], board, target_fps, metric, margin, flow)
    removed = sum(widths) - sum(len(k) for k in keep)
    return BudgetFit(with_widths(spec, [len(k) for k in keep]), keep, c, budget, metric, c <= budget,
                     f"removed {removed} of {sum(widths)} channels: {c:,.0f} {'<=' if c <= budget else '>'} "
                     f"{budget:,.0f} {metric}", evals)


def _scaled(widths: list[int], f: float, granularity: int = 1) -> list[int]:
    if granularity > 1:
        return [max(granularity, int(round(w * f / granularity)) * granularity) for w in widths]
    return [max(1, int(round(w * f))) for w in widths]


def _largest_uniform(widths: list[int], fits: Callable[[list[int]], bool], granularity: int, max_factor: float,
                     iters: int) -> tuple[float, list[int]]:
    """(f, widths): the largest uniform factor f (bisection) whose scaled widths `fits`, and those widths; when none
    tried fits, (0, the narrowest widths: one granule per layer)."""
    lo, hi = 0.0, 1.0
    while fits(_scaled(widths, hi, granularity)) and hi < max_factor:
        lo, hi = hi, hi * 2
    if fits(_scaled(widths, hi, granularity)):
        lo = hi
    else:
        for _ in range(iters):
            mid = (lo + hi) / 2
            if fits(_scaled(widths, mid, granularity)):
                lo = mid
            else:
                hi = mid
    return lo, _scaled(widths, lo, granularity) if lo > 0 else [max(1, granularity)] * len(widths)


def scale_to_budget(spec: ModelSpec, widths: list[int], budget: float, board: str, target_fps, *,
                    metric: str = "lut", margin: float = 0.85, max_factor: float = 16.0, iters: int = 12,
                    granularity: int = 1, flow: str = "hls") -> BudgetFit:
    """The largest uniform factor f (bisection) with cost(round(widths * f)) <= budget; f may be < 1."""
    def cost(w: list[int]) -> float:
        return _cost(spec, w, board, target_fps, metric, margin, flow)

    lo, w = _largest_uniform(widths, lambda w: cost(w) <= budget, granularity, max_factor, iters)
    c = cost(w)
    ok = c <= budget
    msg = (f"widths x{lo:.3f} -> {w}: {c:,.0f} {metric} (budget {budget:,.0f})" if ok else
           f"cannot meet {budget:,.0f} {metric} by uniform scaling: smallest tried {w} costs {c:,.0f}")
    return BudgetFit(with_widths(spec, w), None, c, budget, metric, ok, msg)


def expand_to_budget(fit: BudgetFit, board: str, target_fps, *, margin: float = 0.85, granularity: int = 1,
                     flow: str = "hls") -> BudgetFit:
    """MorphNet's expand step: grow a shrunk spec uniformly (factor >= 1) to use the rest of the budget."""
    out = scale_to_budget(fit.spec, fit.widths, fit.budget, board, target_fps, metric=fit.metric, margin=margin,
                          granularity=granularity, flow=flow)
    if not out.met or out.cost < fit.cost or out.widths == fit.widths:
        return fit
    return out


def _full_width(spec: ModelSpec) -> ModelSpec:
    """The spec's topology at its full widths: what a uniform multiplier scales."""
    return ModelSpec(**{**spec.to_dict(), "hidden": None, "width": 1.0})


def uniform_to_budget(spec: ModelSpec, budget: float, board: str, target_fps, *, metric: str = "lut",
                      margin: float = 0.85, granularity: int = 1, flow: str = "hls") -> BudgetFit:
    """The uniform width-multiplier baseline at the same budget (all of the topology's widths x one factor)."""
    base = _full_width(spec)
    return scale_to_budget(base, hidden_widths(base), budget, board, target_fps, metric=metric, margin=margin,
                           granularity=granularity, flow=flow)


def uniform_within(spec: ModelSpec, budget: ResourceBudget, *, granularity: int = 1, max_factor: float = 16.0,
                   iters: int = 12) -> BudgetFit:
    """The uniform width multiplier within every limit of `budget` (LUT, BRAM18, DSP, and the target FPS reached):
    the baseline a search under that budget is compared with."""
    base = _full_width(spec)
    budget = budget.binding(base)
    price = lambda w: budget.estimate(with_widths(base, w))   # noqa: E731
    f, w = _largest_uniform(hidden_widths(base), lambda w: budget.ok(price(w)), granularity, max_factor, iters)
    est = price(w)
    ok = budget.ok(est)
    msg = (f"widths x{f:.3f} -> {w}: {budget.describe(est)}" if ok else
           f"no uniform width meets the budget: the narrowest tried, {w}, costs {budget.describe(est)}")
    return BudgetFit(with_widths(base, w), None, budget.amount(est), budget.limits()[budget.resource],
                     budget.resource, ok, msg)
