"""Stream packing (docs/ir.md, "Stream packing"): IR values <-> the bits and bytes hardware streams carry.

Shared by the simulator, the C-simulation data files and the board runtime, so every backend lays out a
word the same way: element i of a word at bits [i*b, (i+1)*b), BIPOLAR -1/+1 as 0/1, signed types in two's
complement, each word padded to whole bytes and written little-endian.
"""
from __future__ import annotations

import numpy as np

from compiler.ir.graph import IRError, dtype as ir_dtype

MAX_BITS = 64


def _dtype(name: str):
    try:
        return ir_dtype(name)
    except ValueError as e:          # qonnx raises ValueError (not KeyError) for names like 'INT3x'
        if isinstance(e, IRError):
            raise
        raise IRError(f"unknown datatype {name!r}") from None


def _bits(name: str) -> int:
    d = _dtype(name)
    if not d.is_integer() or d.bitwidth() > MAX_BITS or name.startswith("SCALED"):
        raise IRError(f"datatype {name} cannot be packed: only integer datatypes of at most {MAX_BITS} bits")
    return int(d.bitwidth())


def _container_bytes(bits: int) -> int:
    return next(c for c in (1, 2, 4, 8) if 8 * c >= bits)


def word_bits(dtype: str, elems: int) -> int:
    """Bits of a word holding `elems` elements of `dtype`."""
    if int(elems) < 1:
        raise IRError(f"a word must hold at least one element, got {elems}")
    return _bits(dtype) * int(elems)


def word_bytes(dtype: str, elems: int) -> int:
    """Bytes of a word holding `elems` elements of `dtype`, padded up to whole bytes."""
    return -(-word_bits(dtype, elems) // 8)


def _as_int_values(values, dtype: str) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind == "f":
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            raise IRError(f"value {v[i].item()!r} at index {i} is not an integer, so it has no {dtype} encoding")
        v = v.astype(np.int64)
    elif v.dtype.kind == "b":
        v = v.astype(np.int64)
    elif v.dtype.kind not in "iu":
        raise IRError(f"cannot encode an array of {v.dtype} as {dtype}")
    return v


def encode(values, dtype: str) -> np.ndarray:
    """Values -> raw codes (uint64, same shape); raises IRError naming the first value `dtype` cannot hold."""
    b = _bits(dtype)
    d = _dtype(dtype)
    v = _as_int_values(values, dtype)
    if v.size:
        if dtype == "BIPOLAR":
            bad = (v != 1) & (v != -1)
        else:
            bad = (v < int(d.min())) | (v > int(d.max()))
        if bad.any():
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            allowed = "-1 or +1" if dtype == "BIPOLAR" else f"[{int(d.min())}, {int(d.max())}]"
            raise IRError(f"value {int(v[i])} at index {i} is out of range for {dtype} (allowed {allowed})")
    if dtype == "BIPOLAR":
        return (v > 0).astype(np.uint64)
    if v.dtype.kind == "u":
        return v.astype(np.uint64)
    mask = np.uint64((1 << b) - 1)
    return v.astype(np.int64).view(np.uint64) & mask   # two's complement, truncated to b bits


def decode(codes, dtype: str) -> np.ndarray:
    """Raw codes -> values (int64); raises IRError when a code does not fit in the datatype's bits."""
    b = _bits(dtype)
    d = _dtype(dtype)
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise IRError(f"codes must be an unsigned integer array, got {c.dtype}")
    if c.dtype.kind == "i" and c.size and c.min() < 0:
        raise IRError(f"negative code {int(c.min())} for {dtype}")
    c = c.astype(np.uint64)
    if b < 64 and c.size and c.max() >> np.uint64(b):
        raise IRError(f"code {int(c.max())} does not fit in the {b} bits of {dtype}")
    if dtype == "BIPOLAR":
        return c.astype(np.int64) * 2 - 1
    if not d.signed():
        if b == 64:
            raise IRError(f"{dtype} values do not fit in int64")
        return c.astype(np.int64)
    if b == 64:
        return c.view(np.int64)
    v = c.astype(np.int64)
    return np.where(v >= (1 << (b - 1)), v - (1 << b), v)


def pack(values, dtype: str, elems_per_word: int) -> np.ndarray:
    """(N, L) values (or (N, ...) flattened in C order, the stream order) -> uint8 (N, L // elems, word_bytes)."""
    v = np.asarray(values)
    if v.ndim < 2:
        raise IRError(f"pack expects a batch (N, L) of streams, got shape {v.shape}")
    v = v.reshape(len(v), -1)
    n, length = v.shape
    e = int(elems_per_word)
    wb = word_bytes(dtype, e)
    if length % e:
        raise IRError(f"stream length {length} is not a multiple of {e} elements per word")
    b = _bits(dtype)
    codes = encode(v, dtype)
    # bits of every code, LSB first: (N, L, b); a word is then the concatenation of its elements' bits.
    # Codes go through the narrowest little-endian container that holds b bits (8x less work for <= 8 bits).
    c = _container_bytes(b)
    bits = np.unpackbits(codes.astype(f"<u{c}").view(np.uint8).reshape(n, length, c), axis=-1, bitorder="little")
    bits = bits[..., :b].reshape(n, length // e, e * b)
    pad = wb * 8 - e * b
    if pad:
        bits = np.concatenate([bits, np.zeros((n, length // e, pad), np.uint8)], axis=-1)
    return np.packbits(bits, axis=-1, bitorder="little")


def unpack(data, dtype: str, elems_per_word: int, length: int) -> np.ndarray:
    """Inverse of `pack`: uint8 (N, words, word_bytes) (or (N, words * word_bytes)) -> (N, length) int64 values."""
    d = np.asarray(data)
    e = int(elems_per_word)
    wb = word_bytes(dtype, e)
    b = _bits(dtype)
    if d.dtype != np.uint8:
        raise IRError(f"packed data must be uint8 bytes, got {d.dtype}")
    if d.ndim < 2 or (len(d) and d[0].size % wb):
        raise IRError(f"packed data of shape {d.shape} is not a batch of {wb}-byte words")
    n = len(d)
    d = d.reshape(n, -1, wb)
    words = d.shape[1]
    if not 0 <= int(length) <= words * e:
        raise IRError(f"length {length} does not fit in {words} words of {e} elements")
    bits = np.unpackbits(d, axis=-1, bitorder="little")[..., : e * b].reshape(n, words * e, b)
    c = _container_bytes(b)
    if 8 * c > b:
        bits = np.concatenate([bits, np.zeros((n, words * e, 8 * c - b), np.uint8)], axis=-1)
    codes = np.packbits(bits, axis=-1, bitorder="little").view(f"<u{c}")[..., 0].astype(np.uint64)
    return decode(codes[:, : int(length)], dtype)


def pack_beats(values, dtype: str, elems_per_word: int, beat_bytes: int) -> np.ndarray:
    """(N, L) values -> uint8 (N, words, beat_bytes): the DMA buffer layout, one word per AXI-stream beat,
    zero-extended to the beat width (what the accelerator's AXI adapters expect)."""
    words = pack(values, dtype, elems_per_word)
    wb = words.shape[-1]
    if int(beat_bytes) < wb:
        raise IRError(f"a {wb}-byte word does not fit in a {beat_bytes}-byte AXI beat")
    if int(beat_bytes) == wb:
        return words
    out = np.zeros((*words.shape[:2], int(beat_bytes)), np.uint8)
    out[..., :wb] = words
    return out


def unpack_beats(data, dtype: str, elems_per_word: int, beat_bytes: int, length: int) -> np.ndarray:
    """Inverse of `pack_beats`: uint8 (N, words * beat_bytes) -> (N, length) int64 values. Non-zero padding
    means the stream does not follow this layout (e.g. a bitstream built for another graph), so it is refused."""
    d = np.asarray(data)
    wb, bb = word_bytes(dtype, elems_per_word), int(beat_bytes)
    if d.dtype != np.uint8:
        raise IRError(f"packed data must be uint8 bytes, got {d.dtype}")
    if bb < wb:
        raise IRError(f"a {wb}-byte word does not fit in a {bb}-byte AXI beat")
    if d.ndim < 2 or (len(d) and d[0].size % bb):
        raise IRError(f"packed data of shape {d.shape} is not a batch of {bb}-byte beats")
    beats = d.reshape(len(d), -1, bb)
    if bb > wb and beats[..., wb:].any():
        f, w = (int(v) for v in np.argwhere(beats[..., wb:].any(axis=-1))[0])
        raise IRError(f"frame {f}, beat {w}: padding bytes beyond the {wb}-byte word are not zero "
                      f"(stream layout differs from deploy.json)")
    return unpack(np.ascontiguousarray(beats[..., :wb]), dtype, elems_per_word, length)


# ---- one side of the accelerator, as deploy.json / project.json describe it ("input" / "output") -------------
def frame_bytes(end: dict) -> int:
    """Bytes of one frame in a DMA buffer of this stream end."""
    return int(end["words_per_frame"]) * int(end["axi_bytes"])


def pack_stream(values, end: dict) -> np.ndarray:
    """(N, ...) values in stream order -> DMA bytes (N, frame_bytes(end)), uint8."""
    v = np.asarray(values)
    beats = pack_beats(v.reshape(len(v), -1), end["dtype"], end["elems_per_word"], end["axi_bytes"])
    return beats.reshape(len(v), -1)


def unpack_stream(data, end: dict) -> np.ndarray:
    """DMA bytes (N, frame_bytes(end)) -> values (N, *end["shape"]), int64."""
    d = np.asarray(data)
    y = unpack_beats(d.reshape(len(d), -1), end["dtype"], end["elems_per_word"], end["axi_bytes"],
                     int(np.prod(end["shape"])))
    return y.reshape(len(d), *end["shape"])
