"""Silence what torch, torch.onnx and brevitas print on their own during an export (torch.onnx's step-by-step
stdout banner, its "torchvision is not installed" log lines, brevitas' fast_hadamard_transform warning): the
CLI is quiet by default and shows them under `bnnc -v`."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_libraries(enabled: bool = True) -> Iterator[io.StringIO]:
    """Inside this block the libraries' stdout prints, warnings and log records below ERROR are dropped (when
    `enabled`). Yields the captured stdout, for a caller that wants to show it after a failure."""
    captured = io.StringIO()
    if not enabled:
        yield captured
        return
    previous = logging.root.manager.disable     # torch sets its loggers' levels itself: disable, not setLevel
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(captured):
            warnings.simplefilter("ignore")
            yield captured
    finally:
        logging.disable(previous)
