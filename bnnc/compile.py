"""`bnnc compile`: QONNX model -> dataflow IR build folder, optionally verified bit-exactly against QONNX,
optionally folded for a board (PE/SIMD chosen or read from a file) with a cost report beside the graph."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np


@click.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="build folder to write (e.g. build/tfc_w1a1); replaced only on success")
@click.option("--verify/--no-verify", default=False, help="compare the IR with QONNX execution (zero tolerance)")
@click.option("--verify-inputs", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=".npy batch of real inputs (N, *input shape) for --verify")
@click.option("--num-random", default=32, show_default=True, help="random + structured inputs for --verify")
@click.option("--topk", type=int, default=None, help="append a LabelSelect layer returning the top-K class indices")
@click.option("--name", default=None, help="graph name (default: the build folder's name)")
@click.option("--board", default=None, help="target board (see `bnnc boards`): size the design and report what fits")
@click.option("--target-fps", default=None, help="frames/s to reach, or 'max' for as fast as fits (default with --board: max)")
@click.option("--folding", "folding_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help='JSON file {layer: {"pe": .., "simd": ..}} fixing the folding instead of the optimiser, or a FINN '
                   'folding config {"Defaults": {}, "<FINN node>": {"PE": .., "SIMD": ..}} (e.g. a finn_folding.json)')
@click.option("--clock-mhz", type=float, default=None, help="fabric clock for the estimates (default: the board's)")
@click.option("--margin", type=click.FloatRange(0.05, 1.0), default=0.85, show_default=True,
              help="share of the board's resources the design may use")
def compile_cmd(model: Path, out_dir: Path, verify: bool, verify_inputs: Path | None, num_random: int,
                topk: int | None, name: str | None, board: str | None, target_fps: str | None,
                folding_file: Path | None, clock_mhz: float | None, margin: float) -> None:
    """Compile a QONNX MODEL (from `bnnc export` or brevitas export_qonnx) into a dataflow graph."""
    from boards.catalog import BoardError, get_board
    from compiler.build import compile_model
    from compiler.errors import CompileError
    from compiler.ir import IRError

    x = None
    if verify_inputs is not None:
        try:
            x = np.load(verify_inputs, allow_pickle=False)
        except Exception as e:
            raise click.ClickException(f"{verify_inputs}: cannot read as .npy ({e})") from None
        verify = True
    transform = extra_files = None
    summary: dict = {}
    if board or target_fps or folding_file:
        from compiler.folding import fold_graph, load_folding_file, parse_target
        from compiler.report import build_report, format_table, write_report

        if folding_file is not None and target_fps is not None:
            raise click.ClickException("give either --folding or --target-fps, not both (--folding fixes PE/SIMD per "
                                       "layer; --target-fps lets the optimiser choose them)")
        try:
            brd = get_board(board) if board else None
            target = parse_target(target_fps) if target_fps is not None else None
            folding = load_folding_file(folding_file) if folding_file else None
            finn_cfg = None
            if folding is not None:
                import json

                from compiler.finn_folding import is_finn_config

                raw = json.loads(folding_file.read_text())
                if is_finn_config(raw):   # names are FINN nodes: translated once the graph exists
                    finn_cfg, folding = raw, {}
        except (BoardError, CompileError) as e:
            raise click.ClickException(str(e)) from None
        if brd is not None and folding is None and target_fps is None:
            target_fps = "max"
        if clock_mhz is not None and clock_mhz <= 0:
            raise click.ClickException(f"--clock-mhz must be positive, got {clock_mhz}")

        def transform(graph):
            fold = folding
            if finn_cfg is not None:
                from compiler.finn_folding import from_finn_config

                fold = from_finn_config(graph, finn_cfg, f"FINN folding config {folding_file}")
            cost, source, notes = fold_graph(graph, brd, target_fps, fold, margin, clock_mhz)
            summary["report"] = build_report(graph.name, cost, brd, margin, source, target, notes)

        def extra_files(graph, folder):
            write_report(summary["report"], folder)
    report_files = extra_files
    finn_note: list[str] = []

    def all_files(graph, folder):
        """The cost report (if any), the FINN-style ONNX of the (folded) graph and its FINN folding config
        (finn_folding.json), written with the build."""
        from compiler.finn_export import save_finn_onnx

        if report_files is not None:
            report_files(graph, folder)
        try:
            save_finn_onnx(graph, folder / "finn_dataflow.onnx")
            import json

            from compiler.finn_folding import finn_folding_config

            (folder / "finn_folding.json").write_text(json.dumps(finn_folding_config(graph), indent=1))
        except IRError as e:  # the IR is still complete; only the FINN view is unavailable
            finn_note.append(f"no finn_dataflow.onnx: {e}")

    try:
        g = compile_model(model, out_dir, name=name, topk=topk, verify=verify, verify_inputs=x, num_random=num_random,
                          transform=transform, extra_files=all_files)
    except (CompileError, IRError) as e:
        raise click.ClickException(str(e)) from None
    kinds = ", ".join(f"{l.kind}" for l in g.layers)
    click.echo(f"compiled {model} -> {out_dir}: {len(g.layers)} layers ({kinds})")
    for note in g.meta.get("notes", []) + finn_note:
        click.echo(f"note: {note}")
    if verify:
        v = g.meta["verify"]
        click.echo(f"verified: {v['n_inputs']} inputs, {v['output_mismatches']} output mismatches, "
                   f"{len(v['checked_layers'])} layers compared with QONNX tensors, all exact")
    if "report" in summary:
        click.echo(format_table(summary["report"]))
        click.echo(f"report: {out_dir / 'report.txt'}, {out_dir / 'report.json'}, {out_dir / 'report.png'}")
