"""The compile as named steps, in the order they run (FINN's builder idea): QONNX file in, build folder out.

STEPS = load, lower, verify, fold, report, finn_export, write (each one's docstring says what it does).
Each step is a function `step(state, cfg)` of a CompileState and the resolved BuildConfig; `run_steps` runs a
list of them. The output folder is checked, locked and staged before the first step (compiler.workflow.folder),
every step writes into the staging folder, and `write` (always the last step, whatever `to_step` says) puts it in
place: all or nothing. `from_step` resumes a previous build in the same folder (RESUMABLE says from where);
`to_step` stops early, e.g. `to_step="lower"` writes the unfolded graph. A library caller can run its own list
(e.g. a custom folding step between lower and write).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from diagnostics import progress
from diagnostics.errors import CompileError, IRError
from compiler.ir.names import check_name, safe_name
from compiler.workflow.config import CONFIG_FILE, BuildConfig, ConfigError, load_config
from compiler.workflow.folder import StagedFolder, staged_folder

if TYPE_CHECKING:      # the graph module loads every layer kind; `bnnc --help` lists the steps without them
    from compiler.ir.graph import DataflowGraph


@dataclass
class CompileState:
    """What the steps hand on: the model, the graph, the verification and cost reports, and the staging folder."""

    onnx_path: Path
    name: str                                  #: graph name (checked; default: the build folder's / model's)
    raw_input: dict | None = None              #: --input-bits declaration (compiler.frontend.raw_input)
    verify_inputs: np.ndarray | None = None    #: real inputs for verify, besides the random ones
    save_config: bool = True                   #: write build_config.json (compile_model's IR-only builds do not)
    stage: StagedFolder | None = None          #: the staged output folder; None: nothing is written
    model: Any = None                          #: load: the cleaned QONNX ModelWrapper
    graph: DataflowGraph | None = None         #: lower: the IR graph (folded in place by fold)
    verification: Any = None                   #: verify: compiler.sim.verify.VerifyReport
    report: dict | None = None                 #: fold: compiler.workflow.report.build_report
    config: BuildConfig | None = None          #: the config to save (fold sets folding_source)
    folding_for: Callable[[DataflowGraph], dict] | None = None   #: a folding file, read before any work
    notes: list[str] = field(default_factory=list)   #: for the user: FINN export, kept / dropped files
    failed: bool = False                       #: verify failed: write the build for inspection, then raise

    @property
    def folder(self) -> Path | None:
        """The staging folder the steps write into (None without an output folder)."""
        return self.stage.tmp if self.stage is not None else None


Step = Callable[[CompileState, BuildConfig], None]


def load(state: CompileState, cfg: BuildConfig) -> None:
    """Read and clean the QONNX model (qonnx cleanup, shapes, datatypes)."""
    from compiler.frontend.ingest import load_model

    with progress.step(f"loading {state.onnx_path.name} (QONNX cleanup)"):
        state.model = load_model(state.onnx_path)


def lower(state: CompileState, cfg: BuildConfig) -> None:
    """QONNX -> dataflow IR graph (compiler.frontend.lower)."""
    from compiler.frontend.lower import lower as lower_model

    with progress.step("lowering to the dataflow IR"):
        state.graph = lower_model(state.model, state.name, topk=cfg.topk, raw_input=state.raw_input)
    state.graph.meta["source"] = state.onnx_path.name


def verify(state: CompileState, cfg: BuildConfig) -> None:
    """The graph against QONNX execution, bit for bit (with --verify). A mismatch marks the build failed: it is
    written for inspection and the run stops."""
    if not cfg.verify:
        return
    from compiler.sim.verify import verify_graph

    rep = verify_graph(state.onnx_path, state.graph, inputs=state.verify_inputs, num_random=cfg.num_random,
                       seed=cfg.seed, cleaned=state.model, exact=cfg.exact)
    state.graph.meta["verify"] = rep.summary()
    state.verification = rep
    state.failed = not rep.ok


def fold(state: CompileState, cfg: BuildConfig) -> None:
    """PE/SIMD and weight memories for the board, and the cost report (with a board or a folding file). The
    folding comes from the folding file, else from the optimiser for the target FPS."""
    if not cfg.folds:
        return
    from boards.catalog import get_board
    from compiler.estimate.folding import fold_graph, parse_target
    from compiler.workflow.report import build_report

    brd = get_board(cfg.board) if cfg.board else None
    target = parse_target(cfg.target_fps) if cfg.target_fps is not None else None
    folding = state.folding_for(state.graph) if state.folding_for is not None else None
    with progress.step("folding search" if folding is None else "folding from file"):
        cost, source, notes = fold_graph(state.graph, brd, cfg.target_fps, folding, cfg.margin, cfg.clock_mhz,
                                         weights_in_of(cfg), cfg.flow)
    state.config = (state.config or cfg).with_(folding_source=source)
    state.report = build_report(state.graph.name, cost, brd, cfg.margin, source, target, notes,
                                model=None if cfg.name else state.onnx_path.stem, weights_in=weights_in_of(cfg),
                                flow=cfg.flow)


def weights_in_of(cfg: BuildConfig) -> str:
    """The weight placement fold uses: the RTL library has no run-time URAM loader, so its weights stay in
    bitstream-initialised memories."""
    return "bram" if cfg.flow == "rtl" and cfg.weights_in == "auto" else cfg.weights_in


def report(state: CompileState, cfg: BuildConfig) -> None:
    """report.{txt,json,png} from fold's cost report."""
    if state.report is not None and state.folder is not None:
        from compiler.workflow.report import write_report

        write_report(state.report, state.folder)


def finn_export(state: CompileState, cfg: BuildConfig) -> None:
    """finn_dataflow.onnx and finn_folding.json. A graph FINN cannot express gets a note, not an error."""
    if state.folder is None:
        return
    from compiler.backends.finn.export import save_finn_onnx
    from compiler.backends.finn.folding import save_finn_folding

    try:
        with progress.step("writing finn_dataflow.onnx"):
            save_finn_onnx(state.graph, state.folder / "finn_dataflow.onnx")
            save_finn_folding(state.graph, state.folder / "finn_folding.json")
    except IRError as e:   # the IR is still complete; only the FINN view is unavailable
        state.notes.append(f"no finn_dataflow.onnx: {e}")


def write(state: CompileState, cfg: BuildConfig) -> None:
    """graph.json + arrays.npz, model.onnx, verify.json, build_config.json, then the folder is swapped in. The
    HLS tool outputs of a previous build whose sources are unchanged are kept. A failed verification writes only
    the graph, the model and verify.json (status "failed"), for inspection."""
    if state.stage is None:
        return
    folder = state.folder
    try:
        state.graph.save(folder / "graph")
        for f in ("graph.json", "arrays.npz"):
            os.replace(folder / "graph" / f, folder / f)
        (folder / "graph").rmdir()
        shutil.copyfile(state.onnx_path, folder / "model.onnx")
        if state.verification is not None:
            (folder / "verify.json").write_text(json.dumps(state.verification.summary(), indent=1))
        if not state.failed:
            if state.save_config:
                (state.config or cfg).save(folder)
            state.notes += _carry_hls(state.stage, state.graph)
        kept = state.stage.commit()
    except OSError as e:
        raise CompileError(f"writing build folder {state.stage.target} failed: {e}") from None
    state.notes += [f"kept {k} (not written by bnnc compile)" for k in kept if k.split("/")[0] != "hls"]


STEPS: tuple[Step, ...] = (load, lower, verify, fold, report, finn_export, write)
#: compile_model's steps: the verified IR graph only (no folding, FINN export or build_config.json)
IR_STEPS: tuple[Step, ...] = (load, lower, verify, write)
STEP_NAMES = tuple(s.__name__ for s in STEPS)
#: steps a build can be resumed from (`from_step`), and what each takes from the previous build in the folder
RESUMABLE = {
    "load": "nothing (a fresh compile)",
    "verify": "the unfolded graph (a build written with to_step lower); the model is read and cleaned again",
    "fold": "the unfolded, verified graph (a build written with to_step lower or verify) and its verify.json",
    "finn_export": "the graph, verify.json and report.* as they are",
}
#: why the other steps cannot be resumed from
NOT_RESUMABLE = {
    "lower": "lower needs the cleaned QONNX model, which a build folder does not keep",
    "report": "report writes the cost report that fold computes; a build folder keeps only its rendering",
    "write": "write always runs last",
}
#: BuildConfig fields each step uses. With from_step, the skipped steps' fields come from the previous build (a
#: different value given is refused); a step that runs again takes the options given for it and the previous
#: build's for the others (e.g. `--from-step fold` alone folds for the build's board again, `--from-step fold
#: --margin 0.5` for the same board with another margin). "Given" means different from BuildConfig's default.
STEP_FIELDS = {
    "lower": ("name", "topk", "input_bits", "input_mean", "input_std"),
    "verify": ("verify", "exact", "num_random", "seed"),
    "fold": ("board", "clock_mhz", "target_fps", "margin", "folding_file", "folding_source", "weights_in", "flow"),
}


def describe_steps() -> list[str]:
    """The step list for `bnnc compile --help`: each step with the first sentence of its docstring, in order."""
    width = max(map(len, STEP_NAMES))
    return [f"{s.__name__:{width}}  {' '.join(s.__doc__.split()).split('. ')[0].rstrip('.')}" for s in STEPS]


def run_steps(onnx_path: str | os.PathLike, cfg: BuildConfig, out_dir: str | os.PathLike | None = None, *,
              steps: Sequence[Step] = STEPS, from_step: str | None = None, to_step: str | None = None,
              verify_inputs: np.ndarray | None = None, raw_input: dict | None = None, force: bool = False,
              save_config: bool = True) -> CompileState:
    """Run `steps` (default: STEPS) for `onnx_path` with the resolved `cfg`, writing `out_dir` atomically (when
    given). Raises BnncError subclasses; a failed verification raises VerifyError after writing its build.

    `out_dir` is checked, locked and staged before any work: a folder that is not a bnnc build is refused unless
    `force`; rebuilding keeps the user's own files and the HLS tool outputs whose sources are unchanged (listed in
    the state's notes). `from_step`/`to_step` name steps (STEP_NAMES): from_step resumes the build in `out_dir`
    (RESUMABLE), to_step stops after that step (`write` still runs). `raw_input` overrides cfg's --input-bits
    declaration (the dict compiler.frontend.raw_input.check_raw_input returns)."""
    onnx_path = Path(onnx_path)
    names = [s.__name__ for s in steps]
    first, last = _step_range(names, from_step, to_step, out_dir)
    if cfg.name is not None:
        bad = check_name(cfg.name, "--name")
        if bad:
            raise CompileError(bad, hint="graph names reach generated Tcl/C++ scripts")
        name = cfg.name
    else:
        name = safe_name(Path(out_dir).name if out_dir else onnx_path.stem)
    state = CompileState(onnx_path, name, raw_input if raw_input is not None else cfg.raw_input, verify_inputs,
                         save_config, config=cfg)
    if cfg.folding_file and "fold" in names and first <= names.index("fold"):
        from compiler.workflow.folding_file import read_folding_file

        state.folding_for = read_folding_file(cfg.folding_file)   # errors name the file, before any work
    if out_dir is None:
        _run(state, cfg, steps, first, last)
    else:
        with staged_folder(out_dir, "build", force=force, inputs=[onnx_path]) as stage:
            state.stage = stage
            if first > 0:
                cfg = _resume(state, cfg, names[first])
            _run(state, cfg, steps, first, last)
    if state.failed:
        _raise_failed(state.verification, out_dir)
    return state


def _step_range(names: list[str], from_step: str | None, to_step: str | None, out_dir) -> tuple[int, int]:
    """Indices of the first and last step to run (write, when listed, runs anyway)."""
    def index(step: str, opt: str) -> int:
        if step not in names:
            raise ConfigError(f"{opt} {step!r}: no such step; the steps are {', '.join(names)}", field=opt)
        return names.index(step)

    first = index(from_step, "--from-step") if from_step else 0
    last = index(to_step, "--to-step") if to_step else len(names) - 1
    if from_step and from_step in NOT_RESUMABLE:
        raise ConfigError(f"--from-step {from_step}: cannot resume from this step ({NOT_RESUMABLE[from_step]})",
                          hint="resume from " + ", ".join(n for n in RESUMABLE if n != "load") + ", or compile from "
                               "the start")
    if first > 0 and out_dir is None:
        raise ConfigError(f"--from-step {from_step}: resuming needs the build folder to resume (-o)")
    if to_step and "lower" in names and last < names.index("lower"):
        raise ConfigError(f"--to-step {to_step}: there is no graph to write before lower", hint="use --to-step lower")
    if first > last:
        raise ConfigError(f"--from-step {from_step} comes after --to-step {to_step}; the steps run in the order "
                          f"{', '.join(names)}")
    return first, last


def _run(state: CompileState, cfg: BuildConfig, steps: Sequence[Step], first: int, last: int) -> None:
    for i, step in enumerate(steps):
        if step is write or (first <= i <= last and not state.failed):
            step(state, cfg)


def _resume(state: CompileState, cfg: BuildConfig, start: str) -> BuildConfig:
    """Load the previous build of the staged folder for a run from step `start`; returns `cfg` with the fields of
    the skipped steps taken from the build's build_config.json (a different value given for one is refused)."""
    old = state.stage.target
    where = f"--from-step {start}"
    if not (old / "graph.json").is_file():
        raise ConfigError(f"{where}: {old} holds no build to resume (no graph.json)",
                          hint="compile from the start first (the same command without --from-step)")
    prev = load_config(old)
    if prev is None:
        raise ConfigError(f"{where}: {old} has no {CONFIG_FILE}, so its settings are unknown",
                          hint="compile from the start (the same command without --from-step)")
    try:
        same_model = (old / "model.onnx").read_bytes() == state.onnx_path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{where}: cannot compare the model with {old / 'model.onnx'}: {e}") from None
    if not same_model:
        raise ConfigError(f"{where}: {old} was compiled from another model (its model.onnx differs from "
                          f"{state.onnx_path})", hint="compile from the start (the same command without --from-step)")
    skipped = STEP_NAMES[:STEP_NAMES.index(start)]
    if start in ("verify", "fold") and prev.folding_source is not None:
        raise ConfigError(f"{where}: the graph in {old} is already folded (folding {prev.folding_source!r})",
                          hint=f"{start} needs an unfolded graph: compile with --to-step "
                               f"{'lower' if start == 'verify' else 'verify'} first, or from the start")
    default, taken = BuildConfig(), {}
    for step, names in STEP_FIELDS.items():
        given = [f for f in names if getattr(cfg, f) != getattr(default, f)]
        if step in skipped:
            for f in given:
                if getattr(cfg, f) != getattr(prev, f) and f != "folding_source":
                    raise ConfigError(f"{where}: {f} {getattr(cfg, f)!r} differs from the build's "
                                      f"{getattr(prev, f)!r}; step {step} uses it and {where} skips it", field=f,
                                      hint="drop that option, or compile from the start")
            taken.update({f: getattr(prev, f) for f in names})
            continue
        # a step that runs again: the options given for it, the build's for the others (a folding file and a
        # target FPS exclude each other: giving one drops the build's other)
        exclusive = {"folding_file": "target_fps", "target_fps": "folding_file"}
        taken.update({f: getattr(prev, f) for f in names if f not in given and f != "folding_source"
                      and exclusive.get(f) not in given})
    cfg = cfg.with_(**taken)
    if start == "fold" and cfg.verify and not (old / "verify.json").is_file():
        raise ConfigError(f"{where}: {old} was not verified (no verify.json)", hint="resume from verify")
    from compiler.ir.graph import DataflowGraph

    state.config = cfg
    state.graph = DataflowGraph.load(old)
    if start == "verify":           # verify compares the cleaned model's tensors too: read and clean it again
        load(state, cfg)
    if start in ("fold", "finn_export") and (old / "verify.json").is_file():
        state.stage.carry("verify.json")
    if start == "finn_export":
        for f in ("report.json", "report.txt", "report.png"):
            if (old / f).is_file():
                state.stage.carry(f)
        try:
            state.report = json.loads((old / "report.json").read_text())
        except (OSError, ValueError):
            state.report = None
    return cfg


def _raise_failed(rep, out_dir) -> None:
    """A failed verification is an error; its build (if any) was written first, marked failed, to inspect."""
    from diagnostics.errors import VerifyError

    hint = ("see the notes: this model's float arithmetic is not exactly reproducible" if rep.notes
            else "this is a compiler bug; please report it with the model")
    msg = rep.describe()
    if out_dir is not None:
        msg += f"\n  the build was written to {out_dir} for inspection; its verify.json says \"failed\""
    raise VerifyError(msg, hint=hint)


HLS_LOGS = ("vitis_hls.log", "vivado.log", "vivado.out")     #: kept with the tool outputs (TOOL_OUTPUTS)


def _carry_hls(stage: StagedFolder, graph: DataflowGraph) -> list[str]:
    """A rebuild keeps the old build's HLS tool outputs (IP, bitstream, C-sim binary) when the HLS sources the
    new graph generates (same board and clock) are identical to the ones they were built from. The new sources
    are generated in memory and compared by digest; the rebuild's hls/ is then written from them."""
    from boards.catalog import BoardError
    from compiler.backends.hls.project import TOOL_OUTPUTS, project_files, write_project
    from compiler.backends.hls.sources import sources_digest

    old = stage.target / "hls"
    if not old.is_dir():
        return []
    outputs = [n for n in (*TOOL_OUTPUTS, *HLS_LOGS) if (old / n).exists()]
    try:
        meta = json.loads((old / "project.json").read_text())
        board, clock = meta["board"], float(meta["clock_mhz"])
    except (OSError, ValueError, KeyError, TypeError):
        stage.carry("hls")
        return ["kept hls/ as it was: it has no readable project.json to check it against the new graph"]
    try:
        generated = project_files(graph, board, clock)
        write_project(generated, stage.tmp / "hls")
    except (CompileError, IRError, BoardError) as e:
        stage.carry("hls")
        return [f"kept hls/ as it was: regenerating it for the new graph failed ({e})"]
    if not outputs:
        return []
    if sources_digest(old) == generated.source_digest:
        for n in outputs:
            stage.carry(f"hls/{n}")
        return [f"kept hls/{n} (its HLS sources are unchanged)" for n in outputs]
    return [f"dropped hls/{', hls/'.join(outputs)}: the new graph changes the HLS sources they were built from; "
            "run `bnnc hls` / `bnnc bitstream` again"]


def compile_model(onnx_path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                  name: str | None = None, topk: int | None = None, verify: bool = False,
                  verify_inputs: np.ndarray | None = None, num_random: int = 16, seed: int = 0, exact: bool = False,
                  force: bool = False, folder_notes: list[str] | None = None,
                  raw_input: dict | None = None) -> DataflowGraph:
    """Lower `onnx_path` to the IR and (optionally) verify it, then write `out_dir` atomically: the steps load,
    lower, verify and write, no folding, no FINN export, no build_config.json (compiler.workflow.pipeline.build
    runs them all).

    The build folder holds graph.json, arrays.npz, a copy of the source model (model.onnx) and, when verified,
    verify.json (`exact`: zero tolerance on the float tail too). On any failure nothing is left at `out_dir` (an
    existing build there stays untouched), except a failed verification: its build is written for inspection,
    with verify.json's status "failed", before the VerifyError. Kept files are listed in `folder_notes`.
    `raw_input` ({"bits", "mean", "std"}, compiler.frontend.raw_input) declares a float model input as normalized
    integer pixels, for a first layer without an input quantizer.
    """
    cfg = BuildConfig(name=name, topk=topk, verify=verify, exact=exact, num_random=num_random, seed=seed)
    state = run_steps(onnx_path, cfg, out_dir, steps=IR_STEPS, verify_inputs=verify_inputs,
                      raw_input=raw_input, force=force, save_config=False)
    if folder_notes is not None:
        folder_notes += state.notes
    return state.graph
