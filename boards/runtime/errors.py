"""Errors of the board runtime: every message names the deploy folder, input or DMA channel at fault."""
from __future__ import annotations

from diagnostics.errors import BnncError


class AcceleratorError(BnncError, RuntimeError):
    """The deployment, the input or the accelerator is not usable as asked."""


class AcceleratorTimeout(AcceleratorError):
    """A DMA transfer did not complete in time: raised instead of hanging the host."""
