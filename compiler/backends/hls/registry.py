"""The registry of HLS emitters, keyed by layer kind name (emitter modules register here)."""
from __future__ import annotations

from typing import Callable

from compiler.backends.hls.common import StageCode
from diagnostics.errors import IRError

#: emit(layer, index, src stream, dst stream, elements per input word) -> StageCode
Emitter = Callable[..., StageCode]
_EMITTERS: dict[str, Emitter] = {}


def emitter(kind: str) -> Callable[[Emitter], Emitter]:
    """Decorator registering the HLS emitter of layer kind `kind`."""
    def deco(fn: Emitter) -> Emitter:
        if kind in _EMITTERS:
            raise ValueError(f"HLS emitter for kind {kind!r} registered twice")
        _EMITTERS[kind] = fn
        return fn
    return deco


def get(kind: str) -> Emitter:
    try:
        return _EMITTERS[kind]
    except KeyError:
        raise IRError(f"the HLS backend has no emitter for layer kind {kind!r}; it has: {', '.join(_EMITTERS)}") \
            from None


def kinds() -> tuple[str, ...]:
    return tuple(_EMITTERS)
