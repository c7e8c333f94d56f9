"""The hardware-aware student search: per-layer widths and bits under a synthesized-resource budget.

`search(base, budget, train_set, val_set, train_config, SearchConfig)` is the entry point `bnnc compress
--search bits,width` calls. Everything is priced by `budget` (bnn.compress.budget.ResourceBudget: board, target
FPS, LUT / BRAM18 / DSP limits, by default the RTL-flow estimate that Yosys confirms). The steps:

1. **MorphNet cycles** ('width'): train the base spec with the L1 on BatchNorm scales weighted by the marginal
   cost of a channel in the budget's binding resource, remove hidden layers whose scales all died (topology
   morphing), shrink the rest to the budget by |gamma|, expand uniformly; the next cycle regularises the
   expanded structure again (Gordon et al. 2018 alternate shrink and expand).
2. **Sensitivity** ('bits'): HAWQ's Omega per layer and bit choice, measured on the last probe model
   (bnn.compress.sensitivity: Fisher or Hutchinson traces times measured quantization error).
3. **Candidates**: widths that spend a share of the budget (by |gamma| if 'width' is searched, else the uniform
   multiplier), the rest filled with bits by the greedy knapsack (bnn.compress.bits).
4. **Selection**: each candidate trains briefly from scratch on the training set and is scored on `val_set`
   (data held out of training, never the test set); the best one is the searched student. With one candidate
   or `proxy_epochs=0` the first is taken. Under `bnnc compress` each candidate is a scaleout task
   (`train_candidate`), trained bit-identically to the joint run here; the probe runs of steps 1-2 follow each
   other and stay in the driver.

The result is an ordinary ModelSpec (per-layer `hidden` widths, `layer_weight_bits`, `layer_act_bits`), trained,
exported and compiled like any other.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from bnn.compress.bits import BIT_CHOICES, assign_bits, with_bits
from bnn.compress.budget import ResourceBudget, fit_to_budget, uniform_to_budget, uniform_within
from bnn.compress.hwcost import channel_costs
from bnn.compress.morphnet import CostWeightedL1, fit_budget_morphing
from bnn.compress.sensitivity import Sensitivity, layer_sensitivity
from bnn.compress.surgery import bn_scales
from bnn.topologies import ModelSpec, from_spec, hidden_widths, layer_bits

DIMENSIONS = ("bits", "width")


@dataclass
class SearchConfig:
    """How the search spends its effort (defaults: one MorphNet cycle, Fisher sensitivity, 3 candidates)."""

    search: tuple[str, ...] = ("bits", "width")
    bit_choices: tuple[int, ...] = BIT_CHOICES
    sensitivity: str = "fisher"            # 'fisher' | 'hutchinson'
    probe_epochs: int = 3                  # epochs of each regularised MorphNet probe run
    cycles: int = 1                        # MorphNet shrink/expand cycles
    strength: float = 0.5                  # MorphNet L1 strength (proximal, per unit learning rate)
    granularity: int = 8                   # widths rounded to multiples of this (foldable)
    width_shares: tuple[float, ...] = (1.0, 0.8, 0.6)   # share of the budget the widths take before bits
    proxy_epochs: int = 1                  # short training of each candidate to pick one (0: take the first)
    sensitivity_batches: int = 8
    seed: int = 0

    def __post_init__(self):
        bad = [d for d in self.search if d not in DIMENSIONS]
        if bad or not self.search:
            raise ValueError(f"search dimensions must be a non-empty subset of {DIMENSIONS}, got {list(self.search)}")
        if self.cycles < 1 or self.probe_epochs < 1:
            raise ValueError(f"cycles and probe_epochs must be >= 1, got {self.cycles}, {self.probe_epochs}")
        if not all(1 <= b <= 4 for b in self.bit_choices):
            raise ValueError(f"bit choices must be in 1..4, got {self.bit_choices}")

    @classmethod
    def parse(cls, text: str, **kw) -> "SearchConfig":
        """'bits,width' -> SearchConfig(search=('bits', 'width'), **kw)."""
        return cls(search=tuple(t.strip() for t in text.split(",") if t.strip()), **kw)


@dataclass
class SearchResult:
    spec: ModelSpec
    estimate: dict
    candidates: list[dict]
    cycles: list[dict]
    sensitivity: dict | None
    budget: dict
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"spec": self.spec.to_dict(), "widths": hidden_widths(self.spec),
                "weight_bits": layer_bits(self.spec)[0], "act_bits": layer_bits(self.spec)[1],
                "estimate": self.estimate, "candidates": self.candidates, "cycles": self.cycles,
                "sensitivity": self.sensitivity, "budget": self.budget, "seconds": self.seconds, "notes": self.notes}


def _train(specs: dict[str, ModelSpec], train_set, val_set, train_config, epochs: int, seed: int,
           after_step: Callable | None = None, first_index: int = 0) -> dict:
    """Train each spec from scratch (seeded by its index, from `first_index`), return {name: StudentResult}. The
    students of one call see the same batches and nothing else of each other: trained one per call, with their
    indices, they come out bit-identical (what lets the proxy candidates be separate scaleout tasks)."""
    from bnn.compress.joint import Student, train_students
    from bnn.train import TrainConfig, seed_everything

    studs = []
    for i, (name, spec) in enumerate(specs.items()):
        seed_everything(seed * 1000 + 17 + first_index + i)
        studs.append(Student(name, from_spec(spec), spec.to_dict(), after_step=after_step))
    cfg = TrainConfig(**{**train_config.to_dict(), "epochs": epochs, "seed": seed, "progress": False})
    return train_students(studs, train_set, val_set, cfg).by_name()


def _drop(sens: Sensitivity, removed: list[int]) -> Sensitivity:
    """The sensitivity of a morphed spec: without the removed hidden layers' weights and activations."""
    if not removed:
        return sens
    keep = [i for i in range(len(sens.acts)) if i not in set(removed)]
    return replace(sens, weights=[sens.weights[i] for i in keep] + [sens.weights[-1]],
                   acts=[sens.acts[i] for i in keep])


def proxy_accuracies(specs: dict[str, ModelSpec], train_set, val_set, train_config, epochs: int, seed: int
                     ) -> dict[str, float]:
    """The search's proxy: each spec trained `epochs` from scratch (candidate i seeded by its index, all on the same
    batches, the learning-rate schedule over these epochs), its accuracy on `val_set`."""
    return {n: r.test_acc for n, r in _train(specs, train_set, val_set, train_config, epochs, seed).items()}


#: trains the proxy candidates: ({name: spec}, epochs, seed) -> {name: validation accuracy}; candidate i (in the
#: order given) must be trained as `_train` trains it (seed index i), e.g. as one scaleout task each (train_candidate)
ProxyRunner = Callable[[dict[str, ModelSpec], int, int], dict[str, float]]


def search(base: ModelSpec, budget: ResourceBudget, train_set, val_set, train_config,
           config: SearchConfig = SearchConfig(), log: Callable[[str], None] = print,
           proxy_runner: ProxyRunner | None = None) -> SearchResult:
    """Search widths and/or per-layer bits of `base` (the widest student) within `budget`; see the module doc.
    `proxy_runner` trains the candidates elsewhere (`bnnc compress` runs them through its executor); by default
    they train here, together."""
    t0 = time.perf_counter()
    budget = budget.binding(base)
    floor = config.bit_choices[0]
    wb0, ab0 = layer_bits(base)
    spec = with_bits(base, [floor] * len(wb0), [floor] * len(ab0)) if "bits" in config.search else base
    amount = budget.limits()[budget.resource]
    log(f"search {'+'.join(config.search)}: {budget.resource} budget {amount:,.0f} on {budget.board} at "
        f"{budget.target_fps} FPS ({budget.flow} estimate); base widths {hidden_widths(base)}")
    cycles: list[dict] = []
    probe = None
    removed_all: list[int] = []
    if "width" in config.search:
        for c in range(config.cycles):
            cc = channel_costs(spec, budget.board, budget.target_fps, budget.resource, margin=budget.margin,
                               flow=budget.flow)
            reg = CostWeightedL1(cc, config.strength)
            res = _train({"probe": spec}, train_set, None, train_config, config.probe_epochs, config.seed + c,
                         after_step=reg.prox)
            probe = res["probe"].model
            new_spec, removed, fit, final = fit_budget_morphing(
                probe, spec, amount, budget.board, budget.target_fps, metric=budget.resource, margin=budget.margin,
                granularity=config.granularity, flow=budget.flow)
            removed_all = removed
            cycles.append({"cycle": c + 1, "widths_in": hidden_widths(spec), "per_channel_cost": cc.per_channel,
                           "regulariser_weights": reg.weights, "removed_layers": removed, "shrunk": fit.widths,
                           "expanded": final.widths, "message": fit.message})
            log(f"MorphNet cycle {c + 1}: {budget.resource}/channel {[round(x, 2) for x in cc.per_channel]}; removed "
                f"layers {removed}; shrunk {fit.widths}; expanded {final.widths}")
            if c + 1 < config.cycles:
                spec = final.spec
        scored_spec, scores = new_spec, [s for i, s in enumerate(bn_scales(probe)) if i not in set(removed_all)]
    sens = None
    if "bits" in config.search:
        if probe is None:
            res = _train({"probe": spec}, train_set, None, train_config, config.probe_epochs, config.seed)
            probe = res["probe"].model
        sens = layer_sensitivity(probe, train_set, config.bit_choices, config.sensitivity,
                                 n_batches=config.sensitivity_batches, seed=config.seed)
        sens = _drop(sens, removed_all)
        log(f"sensitivity ({config.sensitivity}): weights " +
            ", ".join(f"{d[floor]:.3g}" for d in sens.weights) + "; activations " +
            ", ".join(f"{d[floor]:.3g}" for d in sens.acts) + f" (at {floor} bit)")
    cands: list[tuple[str, ModelSpec, str]] = []
    shares = config.width_shares if "bits" in config.search else (1.0,)
    # a share is of the budget above the floor (narrowest widths, lowest bits): the DMA shell, the input and
    # output stages cost the same whatever the search picks
    narrow = replace(spec, hidden=[max(1, config.granularity)] * len(hidden_widths(spec if "width" not in config.search
                                                                                   else scored_spec)))
    floor_cost = budget.amount(budget.estimate(narrow))
    for share in shares:
        target = floor_cost + share * (amount - floor_cost) if share < 1.0 else amount
        if "width" in config.search:
            # never below one granule: a 1-channel layer is no student (it scored 0.37 against 0.85 in the full
            # MLP run's proxy); a layer the regulariser emptied is removed by morphing above, not kept at width 1
            fit = fit_to_budget(scored_spec, scores, target, budget.board, budget.target_fps,
                                metric=budget.resource, margin=budget.margin, min_width=max(1, config.granularity),
                                granularity=config.granularity, flow=budget.flow)
            if share == 1.0 and "bits" not in config.search:
                fit = fit_budget_morphing(probe, spec, amount, budget.board, budget.target_fps, metric=budget.resource,
                                          margin=budget.margin, granularity=config.granularity, flow=budget.flow)[3]
        else:
            fit = uniform_to_budget(spec, target, budget.board, budget.target_fps, metric=budget.resource,
                                    margin=budget.margin, granularity=config.granularity, flow=budget.flow)
        if not fit.met:
            log(f"  share {share:.2f}: no widths ({fit.message})")
            continue
        # widths are fitted to the spent resource alone; the other limits (DSP, BRAM18) are checked here
        est = budget.estimate(fit.spec) if "bits" not in config.search else None
        if est is not None and not budget.ok(est):
            log(f"  share {share:.2f}: widths {fit.widths} miss the budget: {budget.describe(est)}")
            continue
        if "bits" in config.search:
            ba = assign_bits(fit.spec, sens, budget, choices=config.bit_choices)
            if not ba.met:
                log(f"  share {share:.2f}: {ba.message}")
                continue
            cands.append((f"w{share:.2f}", ba.spec, ba.message))
        else:
            cands.append((f"w{share:.2f}", fit.spec, fit.message))
    if not cands:
        raise ValueError(f"no candidate meets the budget: {budget.describe(budget.estimate(spec))}; the narrowest "
                         f"({max(1, config.granularity)} channel(s) per hidden layer"
                         f"{f', {floor} bit' if 'bits' in config.search else ''}) costs {floor_cost:,.0f} "
                         f"{budget.resource}")
    seen: dict[str, tuple[str, ModelSpec, str]] = {}
    for name, s, msg in cands:                     # identical candidates are trained once
        seen.setdefault(str(s.to_dict()), (name, s, msg))
    cands = list(seen.values())
    rows = []
    for name, s, msg in cands:
        est = budget.estimate(s)
        wb, ab = layer_bits(s)
        rows.append({"name": name, "widths": hidden_widths(s), "weight_bits": wb, "act_bits": ab,
                     "predicted": sens.total(wb, ab) if sens is not None and len(wb) == len(sens.weights) else None,
                     "estimate": est.as_dict(), "message": msg})
        log(f"  candidate {name}: widths {hidden_widths(s)} weights {wb} acts {ab}: {budget.describe(est)}")
    chosen = 0
    if len(cands) > 1 and config.proxy_epochs > 0 and val_set is not None:
        specs = {n: s for n, s, _ in cands}
        run = proxy_runner or (lambda sp, e, sd: proxy_accuracies(sp, train_set, val_set, train_config, e, sd))
        accs = run(specs, config.proxy_epochs, config.seed)
        for r in rows:
            r["proxy_val_acc"] = accs[r["name"]]
        chosen = max(range(len(rows)), key=lambda i: rows[i]["proxy_val_acc"])
        log("  proxy (" + f"{config.proxy_epochs} epoch(s), validation): " +
            ", ".join(f"{r['name']} {r['proxy_val_acc']:.4f}" for r in rows))
    rows[chosen]["chosen"] = True
    final = cands[chosen][1]
    return SearchResult(final, budget.estimate(final).as_dict(), rows, cycles, sens.as_dict() if sens else None,
                        {"resource": budget.resource, **budget.limits(), "board": budget.board,
                         "target_fps": budget.target_fps, "flow": budget.flow},
                        time.perf_counter() - t0)


def _holdout(data, fraction: float = 0.1):
    """(train, validation) ImageDatasets: the last `fraction` of a training ImageDataset held out for the proxy."""
    from bnn.datasets import ImageData
    from bnn.loader import ImageDataset

    d = data.data
    n_val = max(1, int(len(d) * fraction))
    k = len(d) - n_val

    def cut(a: int, b: int):
        return ImageDataset(ImageData(d.images[a:b], d.labels[a:b], d.name, d.split, d.source, d.num_classes),
                            data.preprocess)

    return cut(0, k), cut(k, len(d))


def train_candidate(job: dict) -> dict:
    """A scaleout task (bnnc compress --search): one proxy candidate trained from scratch on the training split
    `choose_students` holds out from, as `_train` trains candidate `job['index']` of a joint call (bit-identical);
    its validation accuracy. Data come from the job's config (bnn.compress.workflow.item_data), so it runs the same
    in this process, a pool worker or a Ray worker."""
    from bnn.compress.items import item_data, torch_threads, train_config

    with torch_threads(job["threads"]):
        cfg, train_set, _ = item_data(job)
        tr, val = _holdout(train_set)
        tcfg = replace(train_config(cfg), progress=False)
        r = _train({job["name"]: job["spec"]}, tr, val, tcfg, job["epochs"], job["seed"], first_index=job["index"])
    return {"name": job["name"], "val_acc": r[job["name"]].test_acc}


def _proxy_runner(ctx) -> ProxyRunner | None:
    """The candidates as training items through the run's executor, each written to OUT/search_items as it finishes
    (a rerun skips it: its key digests the training settings, the spec and its seed index)."""
    import hashlib
    import json

    from bnn.compress.items import item_settings, item_task, run_items

    if ctx.executor is None:
        return None

    def run(specs: dict[str, ModelSpec], epochs: int, seed: int) -> dict[str, float]:
        tasks = []
        for i, (name, spec) in enumerate(specs.items()):
            ident = json.dumps([ctx.config.training_key(), spec.to_dict(), i, epochs, seed], sort_keys=True)
            job = {**item_settings(ctx), "name": name, "spec": spec, "index": i, "epochs": epochs, "seed": seed}
            tasks.append(item_task(f"{name}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}", train_candidate, job))
        done = run_items(ctx, tasks, "search candidates", store=ctx.out_dir / "search_items")
        return {v["name"]: v["val_acc"] for v in done.values()}

    return run


def check_search_config(cfg) -> float:
    """What `--search` needs besides the data (checked before any work by bnn.compress.workflow.check_config): a
    numeric --target-fps and a --lut-budget. Returns the target FPS."""
    from bnn.compress.plan import CompressError

    try:
        fps = float(cfg.target_fps)
    except (TypeError, ValueError):
        raise CompressError(f"--search needs a numeric --target-fps (the budget is priced at one FPS), got "
                            f"{cfg.target_fps!r}") from None
    if cfg.lut_budget is None:
        raise CompressError("--search needs --lut-budget N: the LUTs (RTL-flow estimate, DMA shell included) the "
                            "student may use")
    return fps


def choose_students(ctx) -> list:
    """The plug-in `bnn.compress.run` calls for `--search` (bnn.compress.workflow.choose_students): the searched
    student within `--lut-budget` (and `--dsp-budget`, `--bram-budget`) at `--target-fps` on `--board`, and beside it
    the uniform width multiplier within the same limits (the baseline it has to beat). The search is cached in
    OUT/search.json, so a resumed run does not search again."""
    import json

    from bnn.compress.plan import CompressError, StudentPlan

    cfg = ctx.config
    fps = check_search_config(cfg)
    base = ctx.make_spec(width=max(cfg.widths))
    budget = ResourceBudget(cfg.board, fps, lut=float(cfg.lut_budget), dsp=cfg.dsp_budget, bram18=cfg.bram_budget,
                            flow="rtl", margin=cfg.margin)
    key = {"search": list(cfg.search), "budget": cfg.lut_budget, "base": base.to_dict(), "fps": fps, "board": cfg.board}
    if cfg.dsp_budget is not None or cfg.bram_budget is not None:   # a LUT-only run keeps the key it always had
        key.update(dsp_budget=cfg.dsp_budget, bram_budget=cfg.bram_budget)
    cache = ctx.out_dir / "search.json"
    doc = None
    if cache.is_file():
        doc = json.loads(cache.read_text())
        if doc.get("key") != key:
            doc = None
    if doc is None:
        from bnn.train import TrainConfig

        tr, val = _holdout(ctx.train_set)
        sc = SearchConfig(search=tuple(cfg.search), probe_epochs=max(1, cfg.epochs // 2), strength=cfg.strength,
                          granularity=cfg.granularity, seed=cfg.seed)
        tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, progress=False,
                           device=cfg.device)
        try:
            res = search(base, budget, tr, val, tcfg, sc, log=ctx.log, proxy_runner=_proxy_runner(ctx))
        except ValueError as e:
            raise CompressError(f"search: {e}") from None
        doc = {"key": key, **res.as_dict()}
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(cache)
    found = ModelSpec(**doc["spec"])
    uni = uniform_within(base, budget, granularity=cfg.granularity)
    plans = [StudentPlan(f"search-{'+'.join(cfg.search)}", found, "search")]
    if uni.met:
        plans.append(StudentPlan(f"uniform-{'-'.join(str(w) for w in uni.widths)}", uni.spec, "uniform"))
    return plans
