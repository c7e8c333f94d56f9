"""RTL backend: a folded DataflowGraph -> Verilog (hwlib/verilog library + generated units and AXI-stream top),
co-simulated with Verilator and synthesised with Yosys.

One emitter module per layer kind (emitters/) registers itself in compiler.backends.rtl.registry
(`@emitter("MVTU")`), as the HLS backend does; compiler.backends.rtl.emitters is the registry with every emitter
loaded. What the library costs (the `--flow rtl` / `estimate(target="rtl")` model, calibrated on Yosys) is
compiler.backends.rtl.cost and library_cost. This package module imports nothing, so the cost model can use the
cost modules without loading the code generators.
"""
