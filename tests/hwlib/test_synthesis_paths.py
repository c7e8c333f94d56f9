"""The C-sim shortcuts (plain-old-data ROM twins, host popcount, native-integer MAC) give exactly what the
synthesis code paths (ap_uint/ap_int ROMs, unrolled bit count, ap_int MAC; -DBNNC_SYNTHESIS_PATHS=1) give."""
import numpy as np
import pytest

import irgraphs
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import compile_csim, run_csim
from compiler.sim.ir_inputs import random_inputs


@pytest.mark.parametrize("make", [irgraphs.conv_bipolar, irgraphs.conv_int], ids=lambda f: f.__name__)
def test_synthesis_code_paths_give_identical_outputs(tmp_path, make):
    g = make()                  # MACs (INT2 x BIPOLAR, INT4 x INT3, UINT2 x INT4), XNOR, 32..128-bit words
    proj = generate_project(g, tmp_path / "hls")
    x = random_inputs(g, 24, seed=7)
    pod_exe, _, _ = compile_csim(proj.path)
    ap_exe, _, _ = compile_csim(proj.path, defines=("BNNC_SYNTHESIS_PATHS=1",))
    assert pod_exe != ap_exe
    a, _ = run_csim(proj.path, x, exe=pod_exe)
    b, _ = run_csim(proj.path, x, exe=ap_exe)
    assert np.array_equal(a, b)
