"""JSON Schema of deploy.json (written by compiler/workflow/deploy.py) and its cross-check against graph.json.

Why: deploy.json drives packing (elements per word, beat bytes, words per frame), DMA sizes, register offsets
and overlay attribute names; a wrong type or value must be an error naming the file and field, and packing
fields must agree with the graph they claim to describe, or every frame would be silently mis-packed.
"""
from __future__ import annotations

import math
import os
from typing import Any

from boards.runtime.errors import AcceleratorError
from compiler.ir.jsontypes import NONNEG, POS, SHAPE
from compiler.ir.schema import schema_problems

STREAM = {"type": "object",
          "required": ["shape", "dtype", "elems_per_word", "word_bytes", "axi_bytes", "words_per_frame"],
          "properties": {"shape": SHAPE, "dtype": {"type": "string"}, "elems_per_word": POS, "word_bits": POS,
                         "word_bytes": POS, "axi_bytes": {"enum": [1, 2, 4, 8, 16, 32, 64, 128]},
                         "words_per_frame": POS}}
IP_NAME = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]*$"}
REL_PATH = {"type": "string", "minLength": 1}
WEIGHTS = {"type": "object",
           "required": ["file", "bytes", "beat_bytes", "beats", "sha256", "mode_offset", "mode_load", "mode_run",
                        "memories"],
           "properties": {"file": REL_PATH, "bytes": POS, "beat_bytes": STREAM["properties"]["axi_bytes"],
                          "beats": POS, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                          "mode_offset": NONNEG, "mode_load": NONNEG, "mode_run": NONNEG,
                          "memories": {"type": "array", "minItems": 1, "items": {
                              "type": "object", "required": ["layer", "offset", "bytes"],
                              "properties": {"layer": {"type": "string"}, "offset": NONNEG, "bytes": POS}}}}}
#: control interface of the accelerator -> the deploy.json "ip" entry naming the cell whose registers hold num_frames:
#: the HLS top's own AXI-Lite block, or the AXI GPIO in front of the RTL top (compiler.backends.rtl.vivado)
CONTROL_IPS = {"s_axilite": "accel", "axi_gpio": "ctrl"}
DEPLOY_SCHEMA = {
    "type": "object",
    "required": ["input", "output", "control", "ip", "dma"],
    "properties": {
        "name": {"type": "string"}, "graph": {"type": "string"}, "board": {"type": "string"},
        "clock_mhz": {"type": "number", "exclusiveMinimum": 0},
        "input": STREAM, "output": STREAM,
        "hardware": {"enum": ["hls", "rtl"]},
        "control": {"type": "object", "required": ["num_frames_offset"],
                    "properties": {"interface": {"enum": list(CONTROL_IPS)}, "num_frames_offset": NONNEG,
                                   "ap_ctrl_offset": NONNEG},
                    # the HLS block (the default) is started by ap_start; the RTL top runs as data arrives
                    "if": {"not": {"properties": {"interface": {"const": "axi_gpio"}}, "required": ["interface"]}},
                    "then": {"required": ["ap_ctrl_offset"]}},
        "ip": {"type": "object", "required": ["dma"],
               "properties": {"dma": IP_NAME, "accel": IP_NAME, "ctrl": IP_NAME}},
        "dma": {"type": "object", "required": ["max_transfer_bytes"], "properties": {"max_transfer_bytes": POS}},
        "bitfile": {"type": ["string", "null"]}, "hwh": {"type": ["string", "null"]},
        "hls": REL_PATH, "samples": {"type": ["string", "null"]},
        "ir": {"type": "array", "items": REL_PATH},
        "notes": {"type": "array", "items": {"type": "string"}},
        "weights": WEIGHTS,
    },
}
_REDEPLOY = "(written by an older bnnc, or edited? run `bnnc deploy` again)"


def check_deploy_json(meta: Any, file: str | os.PathLike) -> None:
    """AcceleratorError naming `file` and the field unless `meta` is a valid deploy.json document."""
    if not isinstance(meta, dict):
        raise AcceleratorError(f"{file}: expected a JSON object, got {type(meta).__name__} {_REDEPLOY}")
    for key in DEPLOY_SCHEMA["required"]:
        if key not in meta:
            raise AcceleratorError(f"{file}: no '{key}' section {_REDEPLOY}")
    for side in ("input", "output"):
        if isinstance(meta[side], dict):
            missing = [k for k in STREAM["required"] if k not in meta[side]]
            if missing:
                raise AcceleratorError(f"{file}: '{side}' lacks {', '.join(missing)} {_REDEPLOY}")
    problems = schema_problems(meta, DEPLOY_SCHEMA)
    if problems:
        raise AcceleratorError(f"{file}: not a valid deploy.json {_REDEPLOY}:\n  " + "\n  ".join(problems))
    cell = CONTROL_IPS[control_interface(meta)]
    if cell not in meta["ip"]:
        raise AcceleratorError(f"{file}: control interface {control_interface(meta)!r} needs the IP cell name "
                               f"'ip.{cell}' {_REDEPLOY}")


def control_interface(meta: dict) -> str:
    """'s_axilite' (HLS top: num_frames and ap_start in its AXI-Lite block; also deploy.json files written before
    the field existed) or 'axi_gpio' (RTL top: num_frames from an AXI GPIO, no start bit)."""
    return meta["control"].get("interface", "s_axilite")


def check_packing(meta: dict, graph, file: str | os.PathLike) -> None:
    """deploy.json's stream ends must be the ones the graph's folding produces (compiler.backends.plan)."""
    from compiler.backends.plan import make_plan
    from compiler.ir.graph import IRError

    try:
        plan = make_plan(graph)
    except IRError as e:
        raise AcceleratorError(f"{file}: graph.json cannot be streamed ({e})") from None
    for side, end in (("input", plan.input), ("output", plan.output)):
        want, got = end.as_dict(), meta[side]
        if list(got["shape"]) != want["shape"] or got["dtype"] != want["dtype"]:
            raise AcceleratorError(f"{file}: deploy.json {side} {got['shape']} {got['dtype']} disagrees with "
                                   f"graph.json ({want['shape']} {want['dtype']}); run `bnnc deploy` again")
        for key in ("elems_per_word", "word_bytes", "axi_bytes", "words_per_frame"):
            if got[key] != want[key]:
                raise AcceleratorError(f"{file}: field {side}.{key} = {got[key]} disagrees with graph.json, whose "
                                       f"folding gives {want[key]} ({math.prod(want['shape'])} x {want['dtype']} "
                                       f"per frame); run `bnnc deploy` again")


def check_weights(meta: dict, graph, root: str | os.PathLike, file: str | os.PathLike) -> bytes | None:
    """The weight image (URAM weights, deploy.json "weights") as bytes, after checking that it is exactly what
    graph.json's URAM layers give (compiler.backends.hls.weights) for this input beat width; None without URAM weights.
    Why: the board loads these bytes into the accelerator; a stale or edited image would silently change the
    network, so it must match the IR the other backends run."""
    from boards.runtime.paths import confined
    from compiler.backends.hls.weights import graph_weight_image

    w = meta.get("weights")
    want = graph_weight_image(graph, int(meta["input"]["axi_bytes"]))
    if want is None and w is None:
        return None
    if want is None or w is None:
        has = "has" if w is not None else "has no"
        needs = "keeps no weights in URAM" if want is None else "keeps weights in URAM"
        raise AcceleratorError(f"{file}: deploy.json {has} 'weights' section but graph.json {needs}; "
                               f"run `bnnc deploy` again")
    image, ref = want
    for key in ("bytes", "beat_bytes", "beats", "mode_offset", "mode_load", "mode_run"):
        if w[key] != ref[key]:
            raise AcceleratorError(f"{file}: field weights.{key} = {w[key]} disagrees with graph.json, which gives "
                                   f"{ref[key]}; run `bnnc deploy` again")
    path = confined(root, w["file"], "weights.file", file)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AcceleratorError(f"{path}: weight image listed in deploy.json but not readable ({e.strerror or e}); "
                               "run `bnnc deploy` again") from None
    if data != image:
        why = f"{len(data)} bytes, expected {len(image)}" if len(data) != len(image) else "its contents differ"
        raise AcceleratorError(f"{path}: weight image does not match graph.json's URAM weights ({why}); "
                               "run `bnnc deploy` again")
    return data
