"""C++ spellings of IR datatypes and the integer widths the HLS templates need."""
from __future__ import annotations

import re

from compiler.ir import IRError, dtype as ir_dtype

MAX_ELEMENT_BITS = 64      # stream elements and constants: what compiler.packing and the C-sim twins hold


def bits(name: str) -> int:
    """Bits of one element of datatype `name` (BIPOLAR/BINARY: 1)."""
    d = ir_dtype(name)
    if not d.is_integer() or name.startswith("SCALED") or d.bitwidth() > MAX_ELEMENT_BITS:
        raise IRError(f"datatype {name} has no HLS element type: only integer types of at most "
                      f"{MAX_ELEMENT_BITS} bits stream through the accelerator")
    return int(d.bitwidth())


def codec(name: str) -> str:
    """The bnnc:: codec struct (types.hpp) that decodes/encodes one element of `name`."""
    b = bits(name)
    if name == "BIPOLAR":
        return "bnnc::Bipolar"
    return f"bnnc::SInt<{b}>" if ir_dtype(name).signed() else f"bnnc::UInt<{b}>"


def signed_bits(lo: int, hi: int) -> int:
    """Smallest two's-complement width (at least 2) holding every integer in [lo, hi]."""
    b = 2
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def value_range(name: str) -> tuple[int, int]:
    d = ir_dtype(name)
    return int(d.min()), int(d.max())


def identifier(text: str) -> str:
    """A C identifier fragment from a layer or graph name."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return s if s and not s[0].isdigit() else f"_{s}"
