"""`bnnc run` on inputs a careless user passes: clear one-line errors, no "Aborted!", no dropped images."""
import numpy as np
import pytest
from click.testing import CliRunner

from bnnc import main


def run(*args):
    return CliRunner().invoke(main, ["run", *map(str, args)])


def test_empty_file(tfc_deploy, tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    r = run(tfc_deploy, "--input", tmp_path / "empty.npy")
    assert r.exit_code == 1 and "empty.npy: cannot read as .npy/.npz (EOFError" in r.output, r.output
    assert "Aborted" not in r.output


@pytest.mark.parametrize("array,message", [
    (np.zeros((0, 1, 28, 28), np.uint8), "empty batch"),
    (np.float32(3), "got a single number"),
    (np.full((2, 1, 28, 28), np.nan, np.float32), "image value nan at index (0, 0, 0, 0) is not finite"),
])
def test_bad_arrays(tfc_deploy, tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    r = run(tfc_deploy, "--input", tmp_path / "x.npy")
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output, r.output


@pytest.mark.parametrize("limit", ["-2", "0"])
def test_limit_must_be_positive(tfc_deploy, limit):
    r = run(tfc_deploy, "--input", tfc_deploy / "samples.npz", "--limit", limit)
    assert r.exit_code == 2 and "--limit" in r.output and ">=1" in r.output, r.output
