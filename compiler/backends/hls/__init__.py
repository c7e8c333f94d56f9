"""HLS C++ backend: a folded DataflowGraph -> a Vitis HLS / Vivado project (project.py), C-simulated with g++
(csim.py).

One emitter module per layer kind (emitters/) turns one IR layer into its template call in the dataflow top function
(plus, for layers with constant memories, a parameter header) and registers itself in
compiler.backends.hls.registry; compiler.backends.hls.emitters is the registry with every emitter loaded, and
tests/compiler/kinds/test_kinds.py checks every registered layer kind has one.
"""
