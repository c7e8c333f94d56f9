import sys
from pathlib import Path

# tests/compiler's Brevitas models (brevitas_models.ResBlock for residual_model.py), as tests/finn/make_builds.py does
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "compiler"))

# The small hand-built IR graphs (every kind, padding, folding and datatype corners) are tests/hls_lib/irgraphs.py,
# imported as `hls_lib.irgraphs` (tests/ is on sys.path through tests/conftest.py).

# requires_verilator / requires_yosys live in rtl_check.py: `from conftest import ...` resolves to whichever
# folder's conftest was imported first when several folders run in one session.
