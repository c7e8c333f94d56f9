"""The registry of RTL emitters, keyed by layer kind name (emitter modules register here).

A kind either has an emitter (`@emitter("MVTU")`) or an explicit refusal (`refuse(kind, reason)`): a model
using it gets a CompileError naming the layer kind and the reason instead of a missing-key error.
"""
from __future__ import annotations

from typing import Callable

from compiler.backends.rtl.common import Emitted
from diagnostics.errors import CompileError

#: emit(layer, index) -> Emitted (a wrapper module around one hwlib/verilog library module, plus its ROM files)
Emitter = Callable[..., Emitted]
_EMITTERS: dict[str, Emitter] = {}
_REFUSED: dict[str, str] = {}


def emitter(kind: str) -> Callable[[Emitter], Emitter]:
    """Decorator registering the RTL emitter of layer kind `kind`."""
    def deco(fn: Emitter) -> Emitter:
        if kind in _EMITTERS or kind in _REFUSED:
            raise ValueError(f"RTL emitter for kind {kind!r} registered twice")
        _EMITTERS[kind] = fn
        return fn
    return deco


def refuse(kind: str, reason: str) -> None:
    """Declare that kind `kind` has no RTL emitter yet, and why (the error a model using it gets)."""
    if kind in _EMITTERS:
        raise ValueError(f"kind {kind!r} has an RTL emitter and cannot be refused")
    _REFUSED[kind] = reason


def get(kind: str) -> Emitter:
    """The RTL emitter of `kind`; CompileError (with the reason of a refusal) when there is none."""
    if kind in _EMITTERS:
        return _EMITTERS[kind]
    if kind in _REFUSED:
        raise CompileError(f"layer kind {kind!r} is not supported by the RTL backend yet: {_REFUSED[kind]}",
                           hint="use the HLS backend (bnnc csim / bnnc hls) for this model")
    raise CompileError(f"the RTL backend has no emitter for layer kind {kind!r}; it has: {', '.join(_EMITTERS)}",
                       hint="use the HLS backend (bnnc csim / bnnc hls) for this model")


def kinds() -> tuple[str, ...]:
    """Kinds with an RTL emitter."""
    return tuple(_EMITTERS)


def refused() -> dict[str, str]:
    """Kinds explicitly without an RTL emitter -> reason."""
    return dict(_REFUSED)
