"""Moved to compiler.frontend.preprocess (the board runtime needs it without bnn/torch); re-exported for training code."""
from compiler.frontend.preprocess import RANGES, Preprocess, preprocess_for  # noqa: F401
