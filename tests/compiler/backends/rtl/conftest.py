"""The RTL tests' helpers are rtl_check.py (requires_verilator / requires_yosys: `from conftest import ...` would
resolve to whichever folder's conftest was imported first) and stream_graphs.py; the model builders and the
hand-built IR graphs (tests/compiler/irgraphs.py) are on sys.path through tests/conftest.py."""
