"""The rtlsim backend: the deployment's IR regenerated as Verilog and run in Verilator gives the DMA output
bytes of the `sim` backend for the same images (W1A1 binary input and W2A2 8-bit input)."""
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from boards.runtime import Accelerator, AcceleratorError

requires_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BNNC_CACHE_DIR", str(tmp_path / "cache"))


@requires_verilator
@pytest.mark.parametrize("which", ["tfc_deploy", "w2a2_deploy"])
def test_rtlsim_gives_the_bytes_of_sim(which, request, tmp_path):
    deploy = request.getfixturevalue(which)
    images, _ = Accelerator(deploy).deployment.samples()
    images = images[:6]
    with Accelerator(deploy) as sim:
        sim_in, sim_out = sim.raw(images)
    with Accelerator(deploy, backend="rtlsim", batch_size=4) as rtl:     # two calls: 4 + 2 frames
        rtl_in, rtl_out = rtl.raw(images)
        res = rtl.run(images)
        assert not rtl.backend.reused or rtl.backend.build_seconds == 0.0
    assert np.array_equal(sim_in, rtl_in)
    assert rtl_out.shape == sim_out.shape and np.array_equal(rtl_out, sim_out)
    assert res.batches == 2 and res.device_seconds > 0
    with Accelerator(deploy, backend="rtlsim") as again:                 # unchanged IR: the build is reused
        assert again.backend.reused


@requires_verilator
def test_cli_run_rtlsim(tfc_deploy, tmp_path):
    from bnnc import main

    images, labels = Accelerator(tfc_deploy).deployment.samples()
    np.save(tmp_path / "x.npy", images[:4])
    np.save(tmp_path / "y.npy", labels[:4])
    res = CliRunner().invoke(main, ["run", str(tfc_deploy), "--backend", "rtlsim", "--input", str(tmp_path / "x.npy"),
                                    "--labels", str(tmp_path / "y.npy")])
    assert res.exit_code == 0, res.output
    assert "rtlsim backend" in res.output and "accuracy" in res.output


def test_rtlsim_without_verilator_is_a_clear_error(tfc_deploy, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool, *a, **k: None)
    with pytest.raises(AcceleratorError, match="rtlsim backend: verilator is not on PATH"):
        Accelerator(tfc_deploy, backend="rtlsim")
