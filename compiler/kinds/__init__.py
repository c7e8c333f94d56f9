"""Registry of layer kinds: `get(name)`, `all()`, `names()`; a new kind is one module here plus `register`.

Each module in this package defines one kind (compiler.kinds.base.Kind) and registers one instance of it with
compiler.kinds.registry.register; importing this package imports them all, in pipeline order.
"""
from compiler.kinds.base import Kind, LayerData
from compiler.kinds.registry import all, get, names, register  # noqa: A004

from compiler.kinds import mvtu, thresholding, sliding_window, maxpool, label_select, avgpool, vvau, streams  # noqa: E402,F401,I001

__all__ = ["Kind", "LayerData", "all", "get", "names", "register"]
