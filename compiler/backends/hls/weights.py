"""The weight image: what the runtime streams into bnnc_top's weight-load mode for weights kept in URAM.

Layout (hwlib/include/bnnc/weights.hpp reads it): memories in layer order, rows (PE) outer, words inner; each W-bit
word as ceil(W / AXI bits) beats of the input stream, least significant first, zero-extended, little-endian bytes
-- byte for byte the DMA buffer of the load transfer. Written as weights.bin beside the HLS project and into the
deploy folder; project.json / deploy.json "weights" describe it (sizes, sha256, per-layer offsets).
"""
from __future__ import annotations

import hashlib

import numpy as np

from compiler.backends.hls.common import LoadedMemory
from compiler.backends.hls.top import MODE_LOAD_WEIGHTS, MODE_OFFSET, MODE_RUN

WEIGHTS_FILE = "weights.bin"


def memory_image(m: LoadedMemory, axi_bytes: int) -> np.ndarray:
    """One memory's beats as bytes (rows * words * beats * axi_bytes,)."""
    rows, words = m.shape
    per_word = -(-m.word_bits // (8 * axi_bytes)) * axi_bytes
    raw = np.ascontiguousarray(m.chunks.astype("<u8")).view(np.uint8).reshape(rows, words, -1)
    out = np.zeros((rows, words, per_word), np.uint8)
    n = min(per_word, raw.shape[-1])                 # bytes past the word's bits are zero either way
    out[..., :n] = raw[..., :n]
    return out.reshape(-1)


def weight_image(loaded: list[LoadedMemory], axi_bytes: int) -> tuple[bytes, dict]:
    """(image bytes, its "weights" metadata) for the run-time-loaded memories `loaded`, in load order."""
    parts, entries, offset = [], [], 0
    for m in loaded:
        img = memory_image(m, axi_bytes)
        entries.append({"layer": m.layer, "memory": m.name, "word_bits": m.word_bits, "rows": m.shape[0],
                        "words": m.shape[1], "offset": offset, "bytes": int(img.size)})
        parts.append(img)
        offset += int(img.size)
    data = np.concatenate(parts).tobytes() if parts else b""
    meta = {"file": WEIGHTS_FILE, "bytes": len(data), "beat_bytes": axi_bytes, "beats": len(data) // axi_bytes,
            "sha256": hashlib.sha256(data).hexdigest(), "mode_offset": MODE_OFFSET, "mode_load": MODE_LOAD_WEIGHTS,
            "mode_run": MODE_RUN, "memories": entries}
    return data, meta


def graph_weight_image(graph, axi_bytes: int) -> tuple[bytes, dict] | None:
    """The weight image of `graph`'s URAM layers as the HLS emitters lay them out (None when there are none);
    what deploy.json's weights.bin must hold, recomputed from the IR without generating the whole project."""
    from compiler.backends.hls import emitters
    from compiler.kinds.base import in_uram

    loaded = []
    for i, l in enumerate(graph.layers):
        if in_uram(l):
            loaded += emitters.get(l.kind)(l, i, "in", "out", 1).loaded
    return weight_image(loaded, axi_bytes) if loaded else None
