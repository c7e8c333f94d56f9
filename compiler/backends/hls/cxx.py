"""C++ spellings of IR datatypes and the integer widths the HLS templates need."""
from __future__ import annotations

from compiler.ir.datatypes import MAX_ELEMENT_BITS, element_bits, signed_bits, value_range  # noqa: F401  (re-exported)
from compiler.ir.graph import dtype as ir_dtype
from compiler.ir.names import identifier  # noqa: F401  (re-exported)

bits = element_bits   # the HLS spelling of an element width (C++ types follow it)


def codec(name: str) -> str:
    """The bnnc:: codec struct (types.hpp) that decodes/encodes one element of `name`."""
    b = bits(name)
    if name == "BIPOLAR":
        return "bnnc::Bipolar"
    return f"bnnc::SInt<{b}>" if ir_dtype(name).signed() else f"bnnc::UInt<{b}>"
