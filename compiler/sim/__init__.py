"""Bit-accurate simulation: the NumPy simulator of the IR, the check against QONNX, host ops and stream packing."""
