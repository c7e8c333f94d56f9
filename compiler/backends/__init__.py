"""Code-generating backends, one registry of per-kind emitters each (hls: C++ for Vitis HLS; rtl: Verilog)."""
