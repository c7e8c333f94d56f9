"""The integer datatypes of IR values (BIPOLAR, BINARY, TERNARY, INTn, UINTn, plus FLOAT32/FLOAT16 names).

NumPy-free and qonnx-free on purpose: the simulator, stream packing and the board runtime need only a type's
range and width, and the runtime must install on a Pynq board without onnx/qonnx. Names, ranges and widths
follow qonnx's DataType (tests/compiler/ir/test_datatypes.py checks them against it); the front end and the FINN
export, which talk to qonnx, keep using qonnx's own class.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from diagnostics.errors import CompileError, IRError

_FLOATS = {"FLOAT32": (32, 3.4028234663852886e38), "FLOAT16": (16, 65504.0)}


class ValueRange(NamedTuple):
    """Integer values in [lo, hi]; zero_free when 0 never occurs (what a BIPOLAR input needs)."""

    lo: int
    hi: int
    zero_free: bool


@dataclass(frozen=True)
class DataType:
    """One IR datatype: its qonnx name, width, range and whether it holds integers."""

    name: str
    bits: int
    lo: int | float
    hi: int | float
    integer: bool = True

    def bitwidth(self) -> int:
        return self.bits

    def min(self) -> int | float:
        return self.lo

    def max(self) -> int | float:
        return self.hi

    def signed(self) -> bool:
        return self.lo < 0

    def is_integer(self) -> bool:
        return self.integer

    def allowed(self, value) -> bool:
        """True if `value` is a value of this type (BIPOLAR: -1 or +1 only)."""
        if self.name == "BIPOLAR":
            return value in (-1, 1)
        if self.integer and value != int(value):
            return False
        return self.lo <= value <= self.hi


def datatype(name: str) -> DataType:
    """The datatype named `name` (qonnx spelling; UINT1 is BINARY); IRError naming the value otherwise."""
    if not isinstance(name, str):
        raise IRError(f"unknown datatype {name!r}")
    if name == "BIPOLAR":
        return DataType(name, 1, -1, 1)
    if name in ("BINARY", "UINT1"):
        return DataType("BINARY", 1, 0, 1)
    if name == "TERNARY":
        return DataType(name, 2, -1, 1)
    if name in _FLOATS:
        b, m = _FLOATS[name]
        return DataType(name, b, -m, m, integer=False)
    m = re.fullmatch(r"(U?)INT([0-9]+)", name)
    if m and int(m.group(2)) >= 1:
        b = int(m.group(2))
        if m.group(1):
            return DataType(name, b, 0, 2**b - 1)
        return DataType(name, b, -(2 ** (b - 1)), 2 ** (b - 1) - 1)
    raise IRError(f"unknown datatype {name!r}")


def bits(name: str) -> int:
    """Width in bits of the datatype named `name`."""
    return datatype(name).bits


MAX_ELEMENT_BITS = 64      # stream elements and constants: what compiler.sim.packing and the C-sim twins hold


def element_bits(name: str) -> int:
    """Bits of one stream element of datatype `name` (BIPOLAR/BINARY: 1); IRError for a type no backend streams."""
    d = datatype(name)
    if not d.is_integer() or name.startswith("SCALED") or d.bitwidth() > MAX_ELEMENT_BITS:
        raise IRError(f"datatype {name} cannot stream through the accelerator: only integer types of at most "
                      f"{MAX_ELEMENT_BITS} bits do")
    return int(d.bitwidth())


def signed_bits(lo: int, hi: int) -> int:
    """Smallest two's-complement width (at least 2) holding every integer in [lo, hi]."""
    b = 2
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def value_range(name: str) -> tuple[int, int]:
    """(min, max) of an integer datatype."""
    d = datatype(name)
    return int(d.min()), int(d.max())


def range_dtype(lo: int, hi: int) -> str:
    """Smallest qonnx integer DataType name holding [lo, hi] (BIPOLAR only when the values are exactly ±1)."""
    if lo >= 0:
        for b in range(1, 33):
            if hi <= 2**b - 1:
                return "BINARY" if b == 1 else f"UINT{b}"
    for b in range(2, 33):
        if -(2 ** (b - 1)) <= lo and hi <= 2 ** (b - 1) - 1:
            return f"INT{b}"
    raise CompileError(f"integer range [{lo}, {hi}] needs more than 32 bits")
