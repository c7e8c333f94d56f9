import shutil
import sys
from pathlib import Path

import pytest

# tests/compiler's Brevitas models (brevitas_models.ResBlock for residual_model.py), as tests/finn/make_builds.py does
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "compiler"))

# The small hand-built IR graphs (every kind, padding, folding and datatype corners) are tests/hls_lib/irgraphs.py,
# imported as `hls_lib.irgraphs` (tests/ is on sys.path through tests/conftest.py).

requires_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")
requires_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")
