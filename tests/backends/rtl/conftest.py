import shutil
import pytest

# The small hand-built IR graphs (every kind, padding, folding and datatype corners) are tests/hls_lib/irgraphs.py,
# imported as `hls_lib.irgraphs` (tests/ is on sys.path through tests/conftest.py).

requires_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")
requires_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")
