"""A user's folding file (`bnnc compile --folding FILE`), in either format: bnnc's own `{layer: {"pe": .., "simd": ..}}`
(compiler.estimate.folding) or a FINN folding config such as a finn_folding.json (compiler.backends.finn.folding).
Here, above both, so that neither format's module imports the other."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from compiler.backends.finn.folding import from_finn_config, is_finn_config
from compiler.estimate.folding import load_folding_file, read_folding_json
from compiler.ir.graph import DataflowGraph


def read_folding_file(path: str | os.PathLike) -> Callable[[DataflowGraph], dict[str, dict[str, Any]]]:
    """Read a folding file now (errors name the file) and return the folding it gives a graph: bnnc's own format
    as is, or a FINN folding config, whose FINN node names are translated once the graph exists."""
    path = Path(path)
    doc = read_folding_json(path)
    if is_finn_config(doc):
        return lambda graph: from_finn_config(graph, doc, f"FINN folding config {path}")
    folding = load_folding_file(path)
    return lambda graph: folding
