"""Code generation backends: one subpackage per target (rtl: Verilog for Verilator / Yosys / Vivado)."""
