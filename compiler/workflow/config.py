"""BuildConfig: the choices a build was made with, saved as BUILD_DIR/build_config.json.

`bnnc compile` (compiler.workflow.pipeline.build) writes the *resolved* config with the graph; every later step (hls,
csim, bitstream, deploy, run) reads it, so a design folded for one board is generated for that board unless
the user names another one explicitly.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from diagnostics.errors import BnncError

CONFIG_FILE = "build_config.json"
FORMAT_VERSION = 1
DEFAULT_MARGIN = 0.85


class ConfigError(BnncError):
    """A build_config.json (or config value) that cannot be used."""


def check_clock(clock_mhz: float, source: str | None = None) -> float:
    """The one "clock > 0" check: BuildConfig's, and every user-given or read-back clock after compile
    (compiler.workflow.target.resolve_target). `source` names where the value came from."""
    try:
        ok = float(clock_mhz) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"clock must be positive, got {clock_mhz} MHz", field="clock_mhz", file=source)
    return float(clock_mhz)


#: the hardware a build is sized for: the HLS templates (Vitis HLS) or the RTL library (hwlib/verilog, Vivado only)
FLOWS = ("hls", "rtl")


@dataclass(frozen=True)
class BuildConfig:
    """How to compile a model: target board and clock, throughput target, resource margin, folding source."""

    board: str | None = None               #: board name (`bnnc boards`); None: no board, no folding
    clock_mhz: float | None = None         #: fabric clock; None: the board's default (resolved when saved)
    target_fps: float | str | None = None  #: frames/s, "max", or None (with a board: "max")
    margin: float = DEFAULT_MARGIN         #: share of the board's resources the design may use
    folding_file: str | None = None        #: JSON {layer: {"pe":..,"simd":..}} or a FINN folding config
    folding_source: str | None = None      #: set by the build: 'file' | 'optimizer' | 'graph'
    topk: int | None = None                #: append a LabelSelect returning the top-K class indices
    name: str | None = None                #: graph name (default: the build folder's name)
    verify: bool = False                   #: compare the IR with QONNX execution (integer layers exact)
    exact: bool = False                    #: with verify: zero tolerance on the float output step too
    num_random: int = 16                   #: random + structured inputs for verify
    seed: int = 0
    weights_in: str = "auto"               #: weight memories: 'auto' | 'uram' | 'bram' (compiler.estimate.placement)
    flow: str = "hls"                      #: whose cost sizes the design: 'hls' templates or the 'rtl' library
    input_bits: int | None = None          #: the float model input is normalized pixels of this width
    input_mean: tuple[float, ...] | None = None   #: with input_bits: (p / (2^B - 1) - mean) / std, per channel
    input_std: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.clock_mhz is not None:
            check_clock(self.clock_mhz)
        if not 0 < self.margin <= 1:
            raise ConfigError(f"margin must be in (0, 1], got {self.margin}", field="margin")
        if self.folding_file is not None and self.target_fps is not None:
            raise ConfigError("give either a folding file or a target FPS, not both",
                              hint="--folding fixes PE/SIMD per layer; --target-fps lets the optimiser choose them")
        if self.flow not in FLOWS:
            raise ConfigError(f"flow must be one of {', '.join(FLOWS)}, got {self.flow!r}", field="flow")
        if self.flow == "rtl" and self.weights_in == "uram":
            raise ConfigError("--weights-in uram with --rtl: the RTL library keeps weights in bitstream-initialised "
                              "ROMs and has no run-time URAM loader", field="weights_in",
                              hint="use --weights-in bram (or auto) for the RTL flow, or the HLS flow for URAM weights")
        from compiler.estimate.placement import WEIGHTS_IN

        if self.weights_in not in WEIGHTS_IN:
            raise ConfigError(f"weights_in must be one of {', '.join(WEIGHTS_IN)}, got {self.weights_in!r}",
                              field="weights_in")
        if self.weights_in == "uram" and self.board:          # checked before any lowering work
            from boards.catalog import BoardError, get_board

            try:
                uram = get_board(self.board).resources.uram
            except BoardError:
                uram = 1                                      # an unknown board is reported where it is used
            if not uram:
                raise ConfigError(f"--weights-in uram: board {self.board} has no URAM", field="weights_in",
                                  hint="use an UltraScale+ board with URAM (see `bnnc boards`), or --weights-in auto")
        if (self.input_mean is not None or self.input_std is not None) and self.input_bits is None:
            raise ConfigError("--input-mean/--input-std need --input-bits (the width of the raw pixels)",
                              field="input_bits")
        if self.input_bits is not None and not 1 <= self.input_bits <= 16:
            raise ConfigError(f"input_bits must be in 1..16, got {self.input_bits}", field="input_bits")
        if self.target_fps is not None and not self.board:   # checked here, before any lowering work
            raise ConfigError("a target FPS needs a board to size the design for", field="target_fps",
                              hint="add --board NAME (see `bnnc boards`)")

    @property
    def raw_input(self) -> dict | None:
        """The --input-bits declaration for the front end (compiler.frontend.raw_input), or None."""
        from compiler.frontend.raw_input import check_raw_input

        return check_raw_input(self.input_bits, self.input_mean, self.input_std)

    @property
    def folds(self) -> bool:
        """Whether the build sets a folding or a weight placement (board, target, folding file or URAM forced)."""
        return bool(self.board or self.target_fps is not None or self.folding_file or self.weights_in == "uram")

    def with_(self, **changes: Any) -> "BuildConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "build config") -> "BuildConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"expected an object, got {type(d).__name__}", file=source)
        d = dict(d)
        version = d.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(f"format_version {version!r}, expected {FORMAT_VERSION}", file=source)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown fields {unknown}; known: {sorted(known)}", file=source)
        try:
            return cls(**d)
        except ConfigError as e:
            raise ConfigError(str(e), file=source) from None

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def load_config(build_dir: str | os.PathLike) -> BuildConfig | None:
    """The BuildConfig saved in a build folder, or None for folders written before it existed."""
    path = Path(build_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"not readable JSON ({e})", file=str(path)) from None
    return BuildConfig.from_dict(doc, str(path))
