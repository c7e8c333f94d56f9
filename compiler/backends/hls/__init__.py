"""HLS C++ backend: one emitter module per layer kind, registered by kind name.

An emitter turns one IR layer into its template call in the dataflow top function (plus, for layers with
constant memories, a parameter header). `get(kind)` fails with the list of kinds that have an emitter;
tests/compiler/kinds/test_kinds.py checks every registered layer kind has one.
"""
from compiler.backends.hls.registry import Emitter, emitter, get, kinds

from compiler.backends.hls import emitters  # noqa: E402,F401,I001  (registers every emitter)

__all__ = ["Emitter", "emitter", "get", "kinds"]
