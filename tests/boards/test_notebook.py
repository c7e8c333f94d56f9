"""The board notebook runs off-board on the simulator backend (executed with nbmake)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "boards" / "notebooks" / "classify.ipynb"


@pytest.mark.parametrize("backend", ["sim", "csim"])
def test_notebook_runs_off_board(tfc_deploy, tmp_path, backend):
    env = {**os.environ, "BNNC_DEPLOY": str(tfc_deploy), "BNNC_BACKEND": backend, "MPLBACKEND": "Agg"}
    res = subprocess.run([sys.executable, "-m", "pytest", "--nbmake", str(NOTEBOOK), "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "--rootdir", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "1 passed" in res.stdout
