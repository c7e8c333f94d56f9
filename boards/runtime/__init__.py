"""Run a deployed bnnc accelerator: on a PYNQ board, or off-board on the simulator / C simulation."""
from boards.runtime.accelerator import Accelerator, RunResult
from boards.runtime.errors import AcceleratorError, AcceleratorTimeout

__all__ = ["Accelerator", "RunResult", "AcceleratorError", "AcceleratorTimeout"]
