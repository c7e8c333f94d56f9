"""Per-layer bit widths under a hardware budget: a greedy knapsack on sensitivity gained per unit of resource.

Every weight layer (the first and the classifier included) and every hidden activation gets 1..4 bits. The cost
of an assignment is the compiler's own estimate of the whole model folded for the board and target FPS
(bnn.compress.hwcost.estimate_spec, flow 'rtl' by default: the estimate Yosys confirms), so interactions the
per-layer view would miss -- an activation's bits widen the next layer's multipliers, folding changes with word
widths -- are priced as built. The value of an assignment is HAWQ's predicted loss increase
(bnn.compress.sensitivity). Starting from the cheapest assignment, each step takes the one-bit raise with the
largest drop in predicted loss per extra unit of the binding resource that keeps every limit; a raise that is
free (folding noise) and helps is taken first. HAWQ-v3 solves the same problem as an integer program; with 1-4
bits on a handful of layers the greedy path is short and every step is an exact compiler estimate.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from bnn.compress.budget import ResourceBudget
from bnn.compress.hwcost import HardwareEstimate
from bnn.compress.sensitivity import Sensitivity
from bnn.topologies import ModelSpec, layer_bits

BIT_CHOICES = (1, 2, 3, 4)


@dataclass
class BitAssignment:
    spec: ModelSpec
    weight_bits: list[int]
    act_bits: list[int]
    estimate: HardwareEstimate
    predicted: float                      # the sensitivity sum of the assignment
    met: bool
    message: str
    steps: list[dict] = field(default_factory=list)   # the greedy path: move, predicted, cost


def with_bits(spec: ModelSpec, wbits: list[int], abits: list[int]) -> ModelSpec:
    return replace(spec, layer_weight_bits=[int(b) for b in wbits], layer_act_bits=[int(b) for b in abits])


def assign_bits(spec: ModelSpec, sens: Sensitivity, budget: ResourceBudget, *, choices: tuple[int, ...] = BIT_CHOICES,
                start: tuple[list[int], list[int]] | None = None, weights: bool = True, acts: bool = True,
                max_steps: int = 64) -> BitAssignment:
    """Greedy per-layer bits for `spec` (its widths fixed) within `budget`; see the module docstring.

    `start` is the assignment to grow from (default: the lowest choice everywhere); `weights`/`acts` switch
    which kind of tensor may change.
    """
    choices = tuple(sorted(choices))
    wb0, ab0 = layer_bits(spec)
    if len(sens.weights) != len(wb0) or len(sens.acts) != len(ab0):
        raise ValueError(f"sensitivity has {len(sens.weights)} weight / {len(sens.acts)} activation layers, the spec "
                         f"{len(wb0)} / {len(ab0)}")
    missing = [b for b in choices if any(b not in d for d in sens.weights + sens.acts)]
    if missing:
        raise ValueError(f"sensitivity was measured for bits {sens.bits}, not for {sorted(set(missing))}")
    wb, ab = (list(start[0]), list(start[1])) if start else ([choices[0]] * len(wb0), [choices[0]] * len(ab0))

    def price(w: list[int], a: list[int]) -> HardwareEstimate:
        return budget.estimate(with_bits(spec, w, a))

    cur = price(wb, ab)
    steps: list[dict] = []
    if not budget.ok(cur):
        return BitAssignment(with_bits(spec, wb, ab), wb, ab, cur, sens.total(wb, ab), False,
                             f"the cheapest assignment already misses the budget: {budget.describe(cur)}", steps)
    # Lazy greedy: a move's extra cost is re-priced only when it is the best candidate on its last known price
    # (a one-bit raise mostly costs the same after a raise elsewhere); the move taken is always priced exactly
    # at the current assignment, so the budget check never rests on a stale price.
    known: dict[tuple[str, int], float] = {}      # move -> extra cost when last priced
    infeasible: set[tuple[str, int, int]] = set()  # (kind, layer, bits) over budget at a cheaper assignment
    for _ in range(max_steps):
        moves = []
        for kind, bits in (("w", wb), ("a", ab)):
            if (kind == "w" and not weights) or (kind == "a" and not acts):
                continue
            for i, b in enumerate(bits):
                higher = [c for c in choices if c > b]
                if not higher or (kind, i, higher[0]) in infeasible:
                    continue
                nb = higher[0]
                trial_w, trial_a = (wb[:i] + [nb] + wb[i + 1:], ab) if kind == "w" else (wb, ab[:i] + [nb] + ab[i + 1:])
                gain = sens.total(wb, ab) - sens.total(trial_w, trial_a)
                if gain > 0:
                    moves.append([kind, i, nb, trial_w, trial_a, gain, known.get((kind, i)), False])

        def score(m) -> float:
            extra = m[6]
            return float("inf") if extra is None or extra <= 0 else m[5] / extra

        taken = None
        while moves:
            moves.sort(key=score, reverse=True)
            m = moves[0]
            if m[7]:                                  # priced at this assignment and still the best: take it
                taken = m
                break
            est = price(m[3], m[4])
            if not budget.ok(est):
                infeasible.add((m[0], m[1], m[2]))     # costs only grow as bits are added elsewhere
                moves.pop(0)
                continue
            m[6] = known[(m[0], m[1])] = budget.amount(est) - budget.amount(cur)
            m[7] = True
            m.append(est)
        if taken is None:
            break
        kind, i, nb, wb, ab, gain = taken[:6]
        cur = taken[8]
        known.pop((kind, i), None)
        steps.append({"move": f"{'weights' if kind == 'w' else 'activation'} {i} -> {nb} bits", "gain": gain,
                      "predicted": sens.total(wb, ab), budget.resource: budget.amount(cur)})
    return BitAssignment(with_bits(spec, wb, ab), wb, ab, cur, sens.total(wb, ab), True,
                         f"{len(steps)} raises: weights {wb}, activations {ab}; {budget.describe(cur)}", steps)
