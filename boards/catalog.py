"""Board catalog: which FPGA part each supported Zynq board carries, its fabric budget and PS<->PL shell.

The data lives in boards/boards.yaml (with a source for every number); this module only loads and
looks it up, so adding a board is a YAML edit.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from diagnostics.errors import BnncError

RESOURCE_KEYS = ("lut", "ff", "bram18", "uram", "dsp")


class BoardError(BnncError):
    """Unknown board name or a malformed catalog entry."""


@dataclass(frozen=True)
class Resources:
    """Fabric resources: LUTs, flip-flops, 18 Kb block RAMs, UltraRAMs, DSP slices."""

    lut: float = 0
    ff: float = 0
    bram18: float = 0
    uram: float = 0
    dsp: float = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, k) + getattr(other, k) for k in RESOURCE_KEYS))

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, k) - getattr(other, k) for k in RESOURCE_KEYS))

    def scaled(self, factor: float) -> "Resources":
        return Resources(*(getattr(self, k) * factor for k in RESOURCE_KEYS))

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    def over(self, budget: "Resources") -> list[str]:
        """Names of the resources where self exceeds budget."""
        return [k for k in RESOURCE_KEYS if getattr(self, k) > getattr(budget, k)]


@dataclass(frozen=True)
class Shell:
    """How the accelerator is attached to the PS: a DMA engine on a high-performance AXI port."""

    dma: str
    data_port: str
    control_port: str
    dma_bits: int
    clock: str


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    ps: str
    default_clock_mhz: float
    resources: Resources
    shell: Shell
    aliases: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()

    def clock(self, clock_mhz: float | None = None) -> float:
        """The fabric clock a design for this board runs at: `clock_mhz` when given, else the board's default (the
        one rule; a given clock is checked once, by compiler.workflow.config.check_clock)."""
        return float(self.default_clock_mhz if clock_mhz is None else clock_mhz)

    def budget(self, margin: float) -> Resources:
        """The share of the device a design may use (margin in (0, 1])."""
        if not 0 < margin <= 1:
            raise BoardError(f"usable margin must be in (0, 1], got {margin}")
        return self.resources.scaled(margin)


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Board]:
    text = Path(__file__).with_name("boards.yaml").read_text()     # shipped as package data next to this module
    import yaml   # only when the catalog is read: the board runtime imports this module for Resources

    doc = yaml.safe_load(text)
    out: dict[str, Board] = {}
    for name, d in doc["boards"].items():
        try:
            res = d["resources"]
            out[name] = Board(
                name=name, part=d["part"], ps=d["ps"], default_clock_mhz=float(d["default_clock_mhz"]),
                resources=Resources(**{k: int(res[k]) for k in RESOURCE_KEYS}),
                shell=Shell(**{f.name: d["shell"][f.name] for f in fields(Shell)}),
                aliases=tuple(d.get("aliases", ())),
                sources=tuple((k, " ".join(str(v).split())) for k, v in d.get("sources", {}).items()),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BoardError(f"boards.yaml: entry {name!r} is malformed ({e!r})") from None
    return out


def list_boards() -> list[Board]:
    return list(_catalog().values())


def get_board(name: str) -> Board:
    """Board by name or alias (case-insensitive); the error lists every known board."""
    key = name.strip().lower()
    for b in _catalog().values():
        if key == b.name.lower() or key in (a.lower() for a in b.aliases):
            return b
    known = ", ".join(b.name for b in _catalog().values())
    raise BoardError(f"unknown board {name!r}; known boards: {known}")


def board_table(boards: list[Board] | None = None) -> list[dict[str, Any]]:
    """Rows for display: one dict per board."""
    rows = []
    for b in boards or list_boards():
        r = b.resources
        rows.append({"board": b.name, "part": b.part, "ps": b.ps, "clock_mhz": b.default_clock_mhz,
                     "lut": r.lut, "ff": r.ff, "bram18": r.bram18, "uram": r.uram, "dsp": r.dsp,
                     "shell": f"{b.shell.dma} on {b.shell.data_port} ({b.shell.dma_bits}-bit)"})
    return rows
