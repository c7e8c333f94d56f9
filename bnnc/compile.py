"""`bnnc compile`: QONNX model -> dataflow IR build folder, optionally verified bit-exactly against QONNX,
optionally folded for a board (PE/SIMD chosen or read from a file) with a cost report beside the graph."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from compiler.workflow.compile import STEP_NAMES, describe_steps


@click.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="build folder to write (e.g. build/tfc_w1a1); replaced only on success")
@click.option("--verify/--no-verify", default=False,
              help="compare the IR with QONNX execution: integer layers with zero tolerance, the float step after "
                   "the last layer within its float32 rounding bound")
@click.option("--exact", is_flag=True, default=False,
              help="with --verify: zero tolerance on the float output step too")
@click.option("--verify-inputs", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=".npy batch of real inputs (N, *input shape) for --verify")
@click.option("--num-random", default=32, show_default=True, type=click.IntRange(min=0),
              help="random inputs for --verify (5 structured frames are added)")
@click.option("--topk", type=click.IntRange(min=1), default=None,
              help="append a LabelSelect layer returning the top-K class indices")
@click.option("--name", default=None, help="graph name (default: the build folder's name)")
@click.option("--board", default=None, help="target board (see `bnnc boards`): size the design and report what fits")
@click.option("--target-fps", default=None, help="frames/s to reach, or 'max' for as fast as fits (default with --board: max)")
@click.option("--folding", "folding_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help='JSON file {layer: {"pe": .., "simd": ..}} fixing the folding instead of the optimiser, or a FINN '
                   'folding config {"Defaults": {}, "<FINN node>": {"PE": .., "SIMD": ..}} (e.g. a finn_folding.json)')
@click.option("--clock-mhz", type=float, default=None, help="fabric clock for the estimates (default: the board's)")
@click.option("--force", is_flag=True, default=False,
              help="replace the -o folder even if it is not a bnnc build folder (its files are deleted)")
@click.option("--margin", type=click.FloatRange(0.05, 1.0), default=0.85, show_default=True,
              help="share of the board's resources the design may use")
@click.option("--weights-in", type=click.Choice(["auto", "uram", "bram"]), default="auto", show_default=True,
              help="weight memories: 'bram' = bitstream-initialised BRAM/LUTRAM; 'uram' = UltraScale+ URAM written by "
                   "the runtime at load time; 'auto' = URAM only for the layers that block RAM cannot hold")
@click.option("--rtl", is_flag=True, default=False,
              help="size the design by the RTL library's cost (the Verilog of bnnc rtlsim/synth and `bnnc bitstream "
                   "--rtl`) instead of the HLS templates'; weights stay in block RAM/LUTs")
@click.option("--input-bits", type=click.IntRange(1, 16), default=None,
              help="the model's float input is B-bit pixels p (for a first layer without an input quantizer, e.g. "
                   "brevitas_examples' resnet18_4w4a): the accelerator takes the raw pixels and the normalization is "
                   "folded into the first layer; the model input is (p / (2^B - 1) - mean) / std")
@click.option("--input-mean", default=None, help="with --input-bits: per-channel means, comma-separated (default 0)")
@click.option("--input-std", default=None, help="with --input-bits: the std, one value or one per channel "
                                                 "(default 1; per-channel stds fold exactly when they share an "
                                                 "integer unit, docs/ir.md)")
@click.option("--from-step", type=click.Choice(STEP_NAMES), default=None,
              help="resume the build in the -o folder from this step (verify, fold or finn_export); options not "
                   "given come from its build_config.json")
@click.option("--to-step", type=click.Choice(STEP_NAMES), default=None,
              help="stop after this step and write the build as it is then (e.g. lower: the unfolded graph)")
def compile_cmd(model: Path, out_dir: Path, verify: bool, exact: bool, verify_inputs: Path | None, num_random: int,
                topk: int | None, name: str | None, board: str | None, target_fps: str | None,
                folding_file: Path | None, clock_mhz: float | None, force: bool, margin: float,
                weights_in: str, rtl: bool, input_bits: int | None, input_mean: str | None,
                input_std: str | None, from_step: str | None = None, to_step: str | None = None) -> None:
    """Compile a QONNX MODEL (from `bnnc export` or brevitas export_qonnx) into a dataflow graph.

    \b
    Steps, in order:"""
    from compiler.workflow.config import BuildConfig
    from diagnostics.errors import BnncError
    from compiler.workflow.pipeline import build

    x = None
    if verify_inputs is not None:
        try:
            x = np.load(verify_inputs, allow_pickle=False)
        except Exception as e:
            raise click.ClickException(f"{verify_inputs}: cannot read as .npy ({e})") from None
    if folding_file is not None and target_fps is not None:
        raise click.ClickException("give either --folding or --target-fps, not both (--folding fixes PE/SIMD per "
                                   "layer; --target-fps lets the optimiser choose them)")
    if from_step and click.get_current_context().get_parameter_source("num_random").name == "DEFAULT":
        num_random = BuildConfig.num_random       # not given: the resumed build's own (compiler.workflow.compile)
    try:
        cfg = BuildConfig(input_bits=input_bits, input_mean=_floats(input_mean, "--input-mean"),
                          input_std=_floats(input_std, "--input-std"), board=board, clock_mhz=clock_mhz, target_fps=target_fps, margin=margin,
                          folding_file=str(folding_file) if folding_file else None, topk=topk, name=name,
                          verify=verify or exact, exact=exact, num_random=num_random, weights_in=weights_in,
                          flow="rtl" if rtl else "hls")
        res = build(model, cfg, out_dir, verify_inputs=x, force=force, from_step=from_step, to_step=to_step)
    except BnncError as e:
        raise click.ClickException(str(e)) from None
    print_build(res, model, out_dir)


def _floats(text: str | None, opt: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated numbers, e.g. 0.485,0.456,0.406",
                                 param_hint=opt) from None


def print_build(res, model: Path, out_dir: Path) -> None:
    """The summary `bnnc compile` prints for a compiler.workflow.pipeline.Build (shared with `bnnc demo`)."""
    g = res.graph
    kinds = ", ".join(f"{l.kind}" for l in g.layers)
    click.echo(f"compiled {model} -> {out_dir}: {len(g.layers)} layers ({kinds})")
    for note in g.meta.get("notes", []) + res.notes:
        click.echo(f"note: {note}")
    if res.config.verify and "verify" in g.meta:          # (not with --to-step lower)
        v = g.meta["verify"]
        line = (f"verified: {v['n_inputs']} inputs, {v['output_mismatches']} output mismatches, "
                f"{len(v['checked_layers'])} layers compared with QONNX tensors, ")
        tail, pred = v.get("float_tail"), v.get("predictions")
        if tail is None or v["mode"] == "exact" or tail["max_abs_diff"] == 0:
            line += "all exact"
        else:
            line += (f"integer layers exact; float output step within its rounding bound (max |diff| "
                     f"{tail['max_abs_diff']:.3g} <= {tail['bound']:.3g})")
        rt = v.get("integer_layers", {}).get("rounding_ties")
        if rt:
            line += (f"; {rt} frames took another quantizer step at a float32 rounding tie in a hidden layer "
                     "(QONNX's float MatMul/Conv rounding; see verify.json)")
        if pred is not None and pred["disagree"]:
            line += f"; predictions agree on {pred['agree']}/{v['n_inputs']} (the rest are ties within the bound)"
        click.echo(line)
    if res.report is not None:
        from compiler.workflow.report import format_table

        click.echo(format_table(res.report))
        if (out_dir / "report.json").is_file():          # not with --to-step fold
            click.echo(f"report: {out_dir / 'report.txt'}, {out_dir / 'report.json'}, {out_dir / 'report.png'}")


compile_cmd.help += "".join(f"\n      {line}" for line in describe_steps()) + (
    "\n\n    --from-step resumes the build in the -o folder (from verify, fold or finn_export); --to-step stops after "
    "a step, and write always runs last.")
