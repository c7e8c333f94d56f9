"""`bnnc compress`: a float teacher in, binarized students out, each with accuracy and estimated LUT/FPS on a board;
the most accurate student that meets the target is exported to QONNX and compiled (verified) like `bnnc compile`.

Methods (repeat --method): distill (several widths trained jointly against one teacher forward per batch),
morphnet (cost-weighted L1 width search to --lut-budget), prune (magnitude baseline to the same budget),
lowrank (SVD factorisation of one FC layer). morphnet/prune/lowrank start from the widest distilled student.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

METHODS = ("distill", "morphnet", "prune", "lowrank")


def _floats(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(v <= 0 for v in vals):
        raise click.BadParameter(f"widths must be positive, got {text!r}")
    return vals


@click.command("compress")
@click.option("--teacher", required=True,
              help="a bnnc checkpoint (.pt), or a model to train first as the float teacher: tfc/sfc/lfc/cnv or "
                   "path/to/file.py:factory")
@click.option("--board", required=True, help="target board (see `bnnc boards`)")
@click.option("--target-fps", required=True, help="frames/s the student must reach on the board, or 'max'")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS), default=("distill",),
              show_default=True, help="compression methods to run (repeatable)")
@click.option("--student", default="sfc", show_default=True, help="student topology: tfc, sfc, lfc or cnv")
@click.option("--bits", default="w1a1", show_default=True, help="student weight/activation bits, e.g. w1a1, w2a2")
@click.option("--input-bits", default=None, type=click.IntRange(1, 8), help="student input quantizer width")
@click.option("--widths", default="0.25,0.5,1.0", show_default=True, help="width multipliers of the distilled students")
@click.option("--distill", "distill_kind", default="response", show_default=True,
              type=click.Choice(("none", "response", "feature", "both")), help="distillation loss")
@click.option("--temperature", default=4.0, show_default=True, type=float)
@click.option("--alpha", default=0.9, show_default=True, type=float, help="weight of the soft-target loss")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--data-root", default=None, type=click.Path(path_type=Path))
@click.option("--limit", default=None, type=click.IntRange(min=2), help="first N samples of each split")
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--teacher-epochs", default=5, show_default=True, type=click.IntRange(min=1),
              help="epochs when the teacher is trained here")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=2))
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--lut-budget", default=None, type=float,
              help="LUT budget of morphnet/prune (default: the estimate of the widest student at half its width)")
@click.option("--strength", default=0.5, show_default=True, type=float, help="MorphNet L1 strength")
@click.option("--cost-metric", default="lut", show_default=True, type=click.Choice(("lut", "cycles")),
              help="what the MorphNet regulariser weights channels by")
@click.option("--no-expand", is_flag=True, help="MorphNet: do not grow the shrunk widths back to the budget")
@click.option("--granularity", default=8, show_default=True, type=click.IntRange(min=1),
              help="searched widths are multiples of this (foldable widths)")
@click.option("--rank", default=32, show_default=True, type=click.IntRange(min=1), help="lowrank: factor rank")
@click.option("--lowrank-layer", default=0, show_default=True, type=click.IntRange(min=0),
              help="lowrank: which hidden FC layer")
@click.option("--margin", default=0.85, show_default=True, type=click.FloatRange(0.05, 1.0))
@click.option("--threads", default=None, type=click.IntRange(min=1), help="torch CPU threads")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def compress_cmd(ctx, teacher, board, target_fps, methods, student, bits, input_bits, widths, distill_kind, temperature,
                 alpha, dataset, data_root, limit, epochs, teacher_epochs, batch_size, lr, seed, lut_budget, strength,
                 cost_metric, no_expand, granularity, rank, lowrank_layer, margin, threads, out_dir):
    """Compress a float TEACHER into binarized students for BOARD at TARGET-FPS (see docs/compression.md)."""
    import torch

    from boards.catalog import BoardError, get_board
    from bnn.compress.budget import BudgetFit
    from bnn.compress.hwcost import channel_costs, estimate_model, estimate_spec
    from bnn.compress.joint import DistillConfig, Student, save_student, train_students
    from bnn.compress.lowrank import factorize_fc
    from bnn.compress.morphnet import CostWeightedL1, shrink
    from bnn.compress.pareto import pareto_front, plot_pareto
    from bnn.compress.prune import prune_to_budget
    from bnn.compress.teacher import load_teacher
    from bnn.datasets import DatasetError, load_dataset
    from bnn.loader import ImageDataset
    from bnn.preprocess import preprocess_for
    from bnn.quant import parse_bits
    from bnn.topologies import from_spec, hidden_widths, make_spec
    from bnn.train import TrainConfig, TrainError, seed_everything, train
    from compiler.folding import FoldingError, parse_target

    if threads:
        torch.set_num_threads(threads)
    try:
        get_board(board)
        parse_target(target_fps)
        wb, ab = parse_bits(bits)
    except (BoardError, FoldingError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    width_list = _floats(widths)
    try:
        tr_data = load_dataset(dataset, data_root, "train").subset(limit)
        te_data = load_dataset(dataset, data_root, "test").subset(limit)
    except (DatasetError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    pre = preprocess_for(student, tr_data.shape)
    train_set, test_set = ImageDataset(tr_data, pre), ImageDataset(te_data, pre)
    c, h, _ = train_set.sample_shape
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False)
    say = lambda msg: click.echo(msg, err=True)   # noqa: E731

    # the teacher
    try:
        if Path(teacher).is_file():
            t_model = load_teacher(teacher)
        else:
            t_spec = make_spec(teacher, None, None, in_channels=c, in_size=h, num_classes=tr_data.num_classes)
            seed_everything(seed)
            t_model = from_spec(t_spec)
            say(f"training the float teacher {teacher} for {teacher_epochs} epochs")
            train(t_model, train_set, test_set,
                       TrainConfig(epochs=teacher_epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False,
                                   out_dir=str(out_dir / "teacher") if not (out_dir / "teacher" / "last.pt").exists()
                                   else None), model_spec=t_spec.to_dict())
            t_model = load_teacher(t_model)
    except (TrainError, ValueError) as e:
        raise click.ClickException(f"teacher: {e}") from None
    from bnn.evaluate import evaluate

    t_acc = evaluate(t_model, test_set).accuracy
    say(f"teacher test accuracy {t_acc:.4f}")
    distill = DistillConfig(distill_kind, temperature, alpha)
    t_use = t_model if distill.uses_teacher else None

    def spec_of(**kw):
        return make_spec(student, wb, ab, in_channels=c, in_size=h, num_classes=tr_data.num_classes,
                         input_bits=input_bits, **kw)

    def built(spec, s):
        seed_everything(s)
        return from_spec(spec)

    try:
        # distilled students of several widths, trained jointly
        specs = {f"{student}-x{w:g}": spec_of(width=w) for w in width_list}
        studs = [Student(n, built(s, seed + i), s.to_dict()) for i, (n, s) in enumerate(specs.items())]
        jr = train_students(studs, train_set, test_set, cfg, distill, t_use)
        results = [(r.name, "distill", r.model, specs[r.name], r.metrics) for r in jr.students]
        say(f"distilled {len(studs)} students jointly in {jr.seconds:.1f}s (teacher {jr.teacher_seconds:.1f}s)")
        widest = max(width_list)
        base_name, base_spec = f"{student}-x{widest:g}", specs[f"{student}-x{widest:g}"]
        base_model = jr.by_name()[base_name].model
        budget = lut_budget or estimate_spec(spec_of(width=widest / 2), board, target_fps, margin).lut
        fits: dict[str, BudgetFit] = {}
        if "morphnet" in methods:
            cc = channel_costs(base_spec, board, target_fps, cost_metric, margin=margin)
            reg = CostWeightedL1(cc, strength)
            m = built(base_spec, seed + 99)
            train_students([Student("morph-reg", m, base_spec.to_dict(), after_step=reg.prox)], train_set, None, cfg,
                           distill, t_use)
            fit, final = shrink(m, base_spec, budget, board, target_fps, margin=margin, expand=not no_expand,
                                granularity=granularity)
            fits["morphnet"] = final
            say(f"morphnet: per-channel {cost_metric} {[round(x, 2) for x in cc.per_channel]}; {fit.message}; "
                f"final widths {final.widths}")
            r = train_students([Student("morphnet", built(final.spec, seed + 7), final.spec.to_dict())], train_set,
                               test_set, cfg, distill, t_use).students[0]
            results.append(("morphnet", "morphnet", r.model, final.spec, r.metrics))
        if "prune" in methods:
            pfit, p_spec, p_model = prune_to_budget(base_model, base_spec, budget, board, target_fps, margin=margin,
                                                    granularity=granularity)
            fits["prune"] = pfit
            say(f"prune: {pfit.message}; widths {pfit.widths}")
            r = train_students([Student("prune", p_model, p_spec.to_dict())], train_set, test_set, cfg, distill,
                               t_use).students[0]
            results.append(("prune", "prune", r.model, p_spec, r.metrics))
        if "lowrank" in methods:
            l_spec, l_model = factorize_fc(base_model, base_spec, lowrank_layer, rank)
            r = train_students([Student("lowrank", l_model, l_spec.to_dict())], train_set, test_set, cfg, distill,
                               t_use).students[0]
            results.append((f"lowrank-r{rank}", "lowrank", r.model, l_spec, r.metrics))
    except (TrainError, ValueError) as e:
        raise click.ClickException(str(e)) from None

    # estimates, checkpoints, summary
    rows = []
    for name, method, model, spec, metrics in results:
        est = estimate_model(model, (c, h, h), board, target_fps, margin)
        save_student(out_dir / "students" / name / "student.pt", model, spec.to_dict(), train_set, metrics, cfg)
        rows.append({"name": name, "method": method, "widths": hidden_widths(spec), "accuracy": metrics[-1]["test_acc"],
                     "lut": est.lut, "bram18": est.bram18, "fps": est.fps, "met": est.met, "reason": est.reason,
                     "checkpoint": str(out_dir / "students" / name / "student.pt")})
        say(f"{name:>16}: acc {rows[-1]['accuracy']:.4f}  est. {est.lut:>9,.0f} LUT  {est.fps:>10,.0f} FPS  "
            f"{'meets' if est.met else 'MISSES'} the target")
    ok = [r for r in rows if r["met"]]
    chosen = max(ok, key=lambda r: (r["accuracy"], -r["lut"])) if ok else None
    summary = {"teacher": {"source": teacher, "accuracy": t_acc}, "board": board, "target_fps": target_fps,
               "lut_budget": budget, "distill": distill.__dict__, "students": rows,
               "budget_fits": {k: {"widths": f.widths, "cost": f.cost, "met": f.met, "message": f.message}
                               for k, f in fits.items()},
               "pareto": [r["name"] for r in pareto_front(rows)], "chosen": chosen and chosen["name"]}
    plot_pareto(rows, out_dir / "pareto.png", f"{student} {bits} on {board} @ {target_fps} FPS", budget=budget)
    if chosen is None:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        raise click.ClickException(f"no student meets {target_fps} FPS on {board}; see {out_dir / 'summary.json'}")

    # export (with the bnnc.* preprocessing metadata, so its deployment takes uint8 images) + compile the chosen
    # student with the same pipeline call `bnnc compile --verify --board B --target-fps N` makes
    import numpy as np

    from bnn.compress.hwcost import quiet
    from bnn.export import ExportError, check_export, export_qonnx
    from bnn.train import checkpoint_header
    from bnnc.compile import print_build
    from compiler.config import BuildConfig
    from compiler.errors import BnncError
    from compiler.metadata import from_checkpoint
    from compiler.pipeline import build

    model = dict((n, m) for n, _, m, _, _ in results)[chosen["name"]]
    onnx = out_dir / "chosen" / "model.onnx"
    x = test_set[list(range(min(64, len(test_set))))][0].numpy()

    def does_not_compile(why: str) -> click.ClickException:
        summary["chosen_compile_error"] = why
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        return click.ClickException(f"the chosen student {chosen['name']} does not compile: {why}")

    try:
        with quiet():
            meta = from_checkpoint(checkpoint_header(cfg, None, train_set, test_set))
            export_qonnx(model, onnx, (c, h, h), metadata=meta)
        check = check_export(model, onnx, x)
    except ExportError as e:
        raise does_not_compile(str(e)) from None
    if not check.exact:
        raise click.ClickException(f"exported {onnx} differs from the module on {check.mismatches} inputs")
    np.save(out_dir / "chosen" / "verify_inputs.npy", x)
    try:
        res = build(onnx, BuildConfig(board=board, target_fps=target_fps, margin=margin, verify=True),
                    out_dir / "chosen" / "build", verify_inputs=x)
    except BnncError as e:
        raise does_not_compile(str(e)) from None
    print_build(res, onnx, out_dir / "chosen" / "build")
    summary["chosen_onnx"] = str(onnx)
    summary["chosen_build"] = str(out_dir / "chosen" / "build")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    click.echo(f"chosen {chosen['name']}: accuracy {chosen['accuracy']:.4f}, est. {chosen['lut']:,.0f} LUT, "
               f"{chosen['fps']:,.0f} FPS on {board}; {onnx} compiled (verified) to {out_dir / 'chosen' / 'build'}; "
               f"summary {out_dir / 'summary.json'}, plot {out_dir / 'pareto.png'}")
