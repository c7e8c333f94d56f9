"""QONNX -> dataflow IR front end: ingest (load + clean: compiler.frontend.ingest), quantizer reading, exact
thresholds, lowering (compiler.frontend.lower); the QONNX file's bnnc.* metadata and input preprocessing, which the
board runtime reads without qonnx (so this package imports nothing on its own)."""
