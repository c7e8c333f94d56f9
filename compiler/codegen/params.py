"""Moved to compiler.backends.hls.params (the HLS backend owns its ROM layout); kept for existing imports."""
from compiler.backends.hls.params import *  # noqa: F401,F403
