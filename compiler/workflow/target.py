"""Which board and fabric clock a command after compile works for: one rule, `resolve_target`, for `bnnc hls`,
`csim`, `bitstream` (HLS and --rtl), `synth`, `deploy` and explore's points.

Why one rule: a design folded for a board must be generated, simulated, synthesised and deployed for that board
unless the user names another one, and every command must agree on it. The order: the user's --board/--clock-mhz,
then the build's own choice (BUILD/build_config.json, written by `bnnc compile`), then the existing HLS project's
(BUILD/hls/project.json), then DEFAULT_BOARD at the board's default clock. The build's (or project's) clock is
taken only when no --board is given: a board named by the user runs at its default clock unless --clock-mhz says
otherwise.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from boards.catalog import Board, get_board
from compiler.workflow.config import CONFIG_FILE, check_clock, load_config

DEFAULT_BOARD = "Pynq-Z2"
PROJECT_FILE = "hls/project.json"


@dataclass(frozen=True)
class Target:
    """The resolved board and clock of a build, and where each came from (for messages and tests)."""

    board: Board
    clock_mhz: float
    board_from: str      #: '--board' | 'build_config.json' | 'hls/project.json' | 'default'
    clock_from: str      #: '--clock-mhz' | 'build_config.json' | 'hls/project.json' | 'board default'


def fabric_clock(board: Board, clock_mhz: float | None = None, source: str | None = None) -> float:
    """`clock_mhz` (checked > 0) when given, else the board's default clock from the catalog."""
    return board.clock(None if clock_mhz is None else check_clock(clock_mhz, source))


def _project_choice(build_dir: Path) -> tuple[str | None, float | None]:
    """(board, clock) of an existing BUILD/hls/project.json, (None, None) when there is none readable."""
    try:
        doc = json.loads((build_dir / PROJECT_FILE).read_text())
    except (OSError, ValueError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    return doc.get("board"), doc.get("clock_mhz")


def resolve_target(build_dir: str | os.PathLike, board: str | None = None,
                   clock_mhz: float | None = None) -> Target:
    """The board and clock a command works on BUILD_DIR for (module docstring: the order). Raises BoardError for
    an unknown board and ConfigError (compiler.workflow.config.check_clock) for a clock that is not positive."""
    build_dir = Path(build_dir)
    if clock_mhz is not None:
        check_clock(clock_mhz, "--clock-mhz")
    old_board, old_clock = _project_choice(build_dir)
    source = PROJECT_FILE
    cfg = load_config(build_dir)
    if cfg is not None and cfg.board:
        old_board, old_clock, source = cfg.board, cfg.clock_mhz, CONFIG_FILE
    if board:
        b, board_from = get_board(board), "--board"
    elif old_board:
        b, board_from = get_board(old_board), source
    else:
        b, board_from = get_board(DEFAULT_BOARD), "default"
    if clock_mhz is not None:
        return Target(b, float(clock_mhz), board_from, "--clock-mhz")
    if not board and old_clock:
        return Target(b, check_clock(old_clock, str(build_dir / source)), board_from, source)
    return Target(b, fabric_clock(b), board_from, "board default")
