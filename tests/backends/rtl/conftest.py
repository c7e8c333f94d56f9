import shutil
import sys
from pathlib import Path

import pytest

# the small hand-built IR graphs of the HLS library tests (every kind, padding, folding and datatype corners)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "hls_lib"))

requires_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")
requires_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")
