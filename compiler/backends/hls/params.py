"""Constant memories of a layer as C++ initialisers: packed weights and thresholds (docs/ir.md orders).

Weight memory: PE p holds rows h = nf*pe + p; word nf*SF + sf packs weights[h, sf*simd + s] at element s
(encoded with compiler.sim.packing, so ROM words use exactly the stream encoding). Thresholds: [p][nf][t] is
row h = nf*pe + p; an XNOR layer's thresholds are moved to the popcount domain ceil((T + MW) / 2).
"""
from __future__ import annotations

import numpy as np

from compiler.backends.hls.cxx import bits
from compiler.ir.graph import IRError, Layer
from compiler.sim.packing import pack
from compiler.kernels.activation import MAX_THRESHOLD_BITS, threshold_table

MAX_CONST_BITS = MAX_THRESHOLD_BITS


def weight_rom(layer: Layer) -> tuple[int, np.ndarray]:
    """(word bits, uint64 chunks (PE, NF*SF, ceil(bits/64))) of an MVTU's weight memory, LSB chunk first."""
    a = layer.attrs
    mh, mw, pe, simd = a["MH"], a["MW"], layer.pe, layer.simd
    w = np.asarray(layer.arrays["weights"])
    if w.shape != (mh, mw):
        raise IRError(f"layer {layer.name!r} (MVTU): weights have shape {w.shape}, expected (MH, MW) = ({mh}, {mw})")
    nf, sf = mh // pe, mw // simd
    order = w.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf * simd)
    try:
        data = pack(order, a["weight_dtype"], simd)                       # (PE, NF*SF, word_bytes)
    except IRError as e:
        raise IRError(f"layer {layer.name!r} (MVTU) weights: {e}") from None
    nbytes = data.shape[-1]
    chunks = -(-nbytes // 8)
    padded = np.zeros((pe, nf * sf, chunks * 8), np.uint8)
    padded[..., :nbytes] = data
    return bits(a["weight_dtype"]) * simd, padded.view("<u8")


threshold_rom = threshold_table   # the ROM of the templates: compiler.kernels.activation.threshold_table


def _word_literal(chunks: np.ndarray, wbits: int) -> list[str]:
    """One C++ initialiser per ROM word: a hex literal (<= 64 bits) or BNNC_WIDE(W, "hex", chunks...)."""
    if chunks.shape[-1] == 1:
        return [f"0x{v:x}ULL" for v in chunks[..., 0].ravel().tolist()]
    out = []
    for row in chunks.reshape(-1, chunks.shape[-1]).tolist():
        full = "".join(f"{c:016x}" for c in reversed(row)).lstrip("0") or "0"
        out.append(f'BNNC_WIDE({wbits}, "{full}", ' + ", ".join(f"0x{c:x}ULL" for c in row) + ")")
    return out


def _nest(items: list[str], shape: tuple[int, ...], per_line: int = 16) -> str:
    """Brace-nested initialiser of a C array of `shape` from a flat list (C order)."""
    if len(shape) == 1:
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "{" + ",\n".join(lines) + "}"
    step = len(items) // shape[0]
    return "{" + ",\n".join(_nest(items[i * step : (i + 1) * step], shape[1:], per_line) for i in range(shape[0])) + "}"


def weights_decl(var: str, wbits: int, chunks: np.ndarray) -> str:
    pe, n = chunks.shape[:2]
    return (f"static const BNNC_ROM_WORD({wbits}) {var}[{pe}][{n}] =\n"
            + _nest(_word_literal(chunks, wbits), (pe, n)) + ";\n")


def thresholds_decl(var: str, tbits: int, t: np.ndarray) -> str:
    items = [f"{v}LL" for v in t.ravel().tolist()]
    return f"static const BNNC_ROM_INT({tbits}) {var}[{t.shape[0]}][{t.shape[1]}][{t.shape[2]}] =\n" + \
        _nest(items, t.shape) + ";\n"


def dummy_thresholds_decl(var: str, pe: int, nf: int) -> str:
    """Placeholder for a noact MVTU (the template never reads it)."""
    return f"static const BNNC_ROM_INT(2) {var}[{pe}][{nf}][1] = {{}};\n"
