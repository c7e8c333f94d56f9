"""Moved to compiler.backends.hls.cxx (the HLS backend owns its C++ spellings); kept for existing imports."""
from compiler.backends.hls.cxx import MAX_ELEMENT_BITS, bits, codec, identifier, signed_bits, value_range  # noqa: F401
