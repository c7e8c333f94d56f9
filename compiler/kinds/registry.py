"""The registry of layer kinds (kind modules register here; compiler.kinds re-exports it)."""
from __future__ import annotations

from diagnostics.errors import IRError
from compiler.kinds.base import Kind

_REGISTRY: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    """Class decorator: register one instance of a Kind subclass under its `name`."""
    inst = cls()
    if not inst.name or inst.name in _REGISTRY:
        raise ValueError(f"kind {inst.name!r}: empty or registered twice")
    _REGISTRY[inst.name] = inst
    return cls


def get(name: str) -> Kind:
    """The kind registered as `name`; IRError listing the known kinds otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise IRError(f"unknown layer kind {name!r}; known kinds: {', '.join(_REGISTRY)}") from None


def all() -> list[Kind]:  # noqa: A001 (the registry's natural name)
    """Every registered kind, in registration order."""
    return list(_REGISTRY.values())


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)
