"""What the compression workflow (bnn.compress.workflow) and the student-choosing plug-ins it calls
(bnn.compress.search) share: the config, the context a plug-in sees, a student to train and the workflow's error.
Its own module so that neither imports the other."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

from diagnostics.errors import BnncError


class CompressError(BnncError, RuntimeError):
    """The workflow cannot start or finish; the message says what to change."""


@dataclass
class StudentPlan:
    """One student to train: its name, bnnc topology spec and how it is made."""

    name: str
    spec: object          # bnn.topologies.ModelSpec
    method: str = "supernet"


METHODS = ("distill", "morphnet", "prune", "lowrank")
JOINT_MODES = ("split", "anchor", "replicate", "separate")
SEARCH_DIMS = ("bits", "width")


@dataclass
class CompressConfig:
    """Everything `bnnc compress` takes. Fields that change the trained students are compared on resume."""

    teacher: str | None = None            # .onnx, bnnc checkpoint, state dict (with model_code), or a topology to train
    dataset: str = "fashion-mnist"        # a built-in name or a .npz file
    board: str = "pynq-z2"
    target_fps: float | str | None = "max"
    student: str = "sfc"
    bits: str = "w1a1"
    input_bits: int | None = None
    widths: tuple[float, ...] = (0.25, 0.5, 1.0)
    methods: tuple[str, ...] = ("distill",)
    joint: str = "anchor"                 # split | anchor | replicate (weight-shared supernet) | separate
    distill: str = "response"             # none | response | feature | both
    temperature: float = 4.0
    alpha: float = 0.9
    model_code: str | None = None         # FILE.py:FACTORY building the teacher whose state dict --teacher is
    teacher_input: str = "unit"           # what an ONNX teacher expects: unit [0,1] | bipolar [-1,1] | raw 0..255
    teacher_epochs: int = 5               # only when the teacher is a topology trained here
    data_root: str | None = None
    limit: int | None = None
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    lut_budget: float | None = None
    dsp_budget: float | None = None       # --search: DSP slices the searched and uniform students may use
    bram_budget: float | None = None      # --search: 18 Kb block RAMs they may use
    strength: float = 0.5
    cost_metric: str = "lut"
    expand: bool = True
    granularity: int = 8
    rank: int = 32
    lowrank_layer: int = 0
    margin: float = 0.85
    search: tuple[str, ...] = ()          # ('bits', 'width'): the hardware-aware search chooses the students
    rtl: bool = False                     # RTL flow + Verilator co-simulation of every student
    synth: bool = False                   # Yosys synthesis of every student
    rtl_frames: int = 50
    verify_samples: int = 1000            # test inputs the compile verifies on; 0: the whole test set
    cluster: str | None = None            # Ray address for the builds (scaleout); None: this machine
    workers: int | None = None
    device: str = "cpu"
    threads: int | None = None
    progress: bool = True
    deploy: bool = True

    # what a rerun with the same out_dir may change without invalidating the trained students
    RESUMABLE_CHANGES = ("rtl", "synth", "rtl_frames", "cluster", "workers", "device", "threads", "progress",
                         "deploy", "verify_samples", "board", "target_fps", "margin")

    @property
    def flow(self) -> str:
        """Whose hardware prices the students (budgets, MorphNet costs, pruning): the RTL library with --rtl, which
        is what the students are then built and synthesized with, else the HLS templates."""
        return "rtl" if self.rtl else "hls"

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def training_key(self) -> dict:
        return {k: v for k, v in json.loads(json.dumps(self.to_dict())).items() if k not in self.RESUMABLE_CHANGES}


@dataclass
class Context:
    """What the student-choosing step sees (the search plugs in here)."""

    config: CompressConfig
    train_set: object
    test_set: object
    teacher: object | None
    in_shape: tuple[int, int, int]
    num_classes: int
    out_dir: Path
    log: Callable[[str], None]
    make_spec: Callable[..., object]
    executor: object | None = None        # the scaleout Executor the training items and builds run through
