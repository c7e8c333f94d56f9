"""QONNX -> dataflow IR front end: ingest (load + clean), quantizer reading, exhaustive thresholds, lowering."""
from compiler.frontend.ingest import load_model
from compiler.frontend.lower import lower

__all__ = ["load_model", "lower"]
