"""Names that reach generated code (graph and layer names) and how they are quoted there.

Why: graph names come from `--name`, the `-o` folder name or graph.json, layer names from ONNX node names; all
of them end up in Tcl scripts run by vitis_hls/vivado, in C++ comments and (later) Verilog. The IR accepts only
names from a safe set (checked in DataflowGraph.validate, so every graph loaded or saved passes it), and every
emitter still quotes them, so neither layer alone can be bypassed.

Verilog and C++ emitters use `verilog_comment`/`cxx_comment` for names in comments and `identifier` for names
in module/function identifiers; never splice a raw name.
"""
from __future__ import annotations

import re

MAX_NAME = 200
SAFE_NAME = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_.:/+-]*")
SAFE_SET = "letters, digits and _ . : / + - (not starting with . : + -)"


def check_name(name: object, what: str) -> str | None:
    """None when `name` is a safe graph/layer name, else the reason it is not (for an error message)."""
    if not isinstance(name, str):
        return f"{what} must be a string, got {type(name).__name__} {name!r}"
    if not name:
        return f"{what} is empty"
    if len(name) > MAX_NAME:
        return f"{what} {name[:40]!r}... is longer than {MAX_NAME} characters"
    if not SAFE_NAME.fullmatch(name):
        return f"{what} {name!r} has characters outside the safe set ({SAFE_SET})"
    return None


def safe_name(text: str, fallback: str = "model") -> str:
    """A safe name derived from free text (a folder or file name): unsafe characters become '_'."""
    s = re.sub(r"[^A-Za-z0-9_.:/+-]", "_", text)[:MAX_NAME]
    s = re.sub(r"^[.:+-]+", "", s)
    return s or fallback


def tcl_quote(text: str) -> str:
    """`text` as one literal Tcl word: a double-quoted string with every substitution character escaped."""
    out = []
    for ch in str(text):
        if ch in '\\"$[]{};':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def comment_text(text: str) -> str:
    """Free text made safe inside a one-line comment of Tcl, C++ or Verilog: printable ASCII only, no line
    continuation (a trailing backslash) and no block-comment delimiters."""
    s = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
    s = s.replace("\\", "/").replace("*/", "* /").replace("/*", "/ *")
    return s


cxx_comment = verilog_comment = tcl_comment = comment_text


def identifier(text: str) -> str:
    """A C/Verilog identifier fragment from a layer or graph name."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return s if s and not s[0].isdigit() else f"_{s}"
