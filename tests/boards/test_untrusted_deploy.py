"""A deployment folder is data: paths in deploy.json stay inside it, IP names cannot reach private attributes,
and the csim backend only ever compiles the C++ the deployed IR generates."""
import json
import os
import shutil

import numpy as np
import pytest

from boards.runtime import Accelerator, AcceleratorError
from boards.runtime.deployment import Deployment
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import compile_csim, run_csim
from deployments import with_bitstream
from fake_pynq import make_pynq


def tamper(d, **fields):
    meta = json.loads((d / "deploy.json").read_text())
    meta.update(fields)
    (d / "deploy.json").write_text(json.dumps(meta))
    return d


@pytest.mark.parametrize("field,value", [("bitfile", "../../../../etc/passwd"), ("hwh", "/etc/passwd"),
                                         ("samples", "../samples.npz"), ("hls", "/tmp")])
def test_paths_outside_the_deploy_folder_are_refused(tfc_deploy, tmp_path, field, value):
    d = tamper(with_bitstream(tfc_deploy, tmp_path / "d"), **{field: value})
    dep = Deployment.load(d)
    call = {"bitfile": dep.bitstream, "hwh": dep.bitstream, "samples": dep.samples, "hls": dep.hls_project}[field]
    with pytest.raises(AcceleratorError, match=rf"'{field}' = .* (outside the deployment folder|must be relative)"):
        call()


def test_symlink_out_of_the_folder_is_refused(tfc_deploy, tmp_path):
    d = with_bitstream(tfc_deploy, tmp_path / "d")
    os.symlink("/etc/passwd", d / "evil.bit")
    dep = Deployment.load(tamper(d, bitfile="evil.bit"))
    with pytest.raises(AcceleratorError, match="outside the deployment folder"):
        dep.bitstream()


@pytest.mark.parametrize("name", ["__class__", "_ip", "__init__", "dma.x"])
def test_ip_names_cannot_reach_private_attributes(tfc_deploy, tmp_path, name):
    d = tamper(with_bitstream(tfc_deploy, tmp_path / "d"), ip={"dma": name, "accel": "accel"})
    # refused when deploy.json is loaded (schema: field ip.dma) or, past the schema, before getattr ('ip')
    with pytest.raises(AcceleratorError, match=r"'ip'|field ip\.dma"):
        Accelerator(d, backend="pynq", pynq_module=make_pynq(lambda data, n: data))


def test_csim_never_compiles_edited_sources(tfc_deploy, tmp_path, mnist_small):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    top = d / "hls" / "src" / "top.cpp"
    top.write_text('#include <cstdlib>\nstatic int pwn = std::system("touch PWNED");\n' + top.read_text())
    x = mnist_small(12)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with Accelerator(d, backend="csim") as acc:
            assert acc.backend.regenerated
            got = acc.run(x).labels
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "PWNED").exists() and "PWNED" not in top.read_text()
    with Accelerator(d, backend="sim") as acc:
        assert np.array_equal(got, acc.run(x).labels)
    with Accelerator(d, backend="csim") as acc:        # now unchanged: nothing regenerated, binary reused
        assert not acc.backend.regenerated and acc.backend.reused


def test_stale_binary_is_rebuilt_when_a_source_changes(tfc_deploy, tmp_path, monkeypatch):
    monkeypatch.setenv("BNNC_CSIM_CACHE", "off")        # the project's own binary only, not the shared cache
    g = Deployment.load(tfc_deploy).graph
    proj = generate_project(g, tmp_path / "-p", "Pynq-Z2").path
    os.chdir(tmp_path)                                  # a relative project path starting with '-'
    try:
        rel = proj.relative_to(tmp_path)
        _, _, reused = compile_csim(rel)
        assert not reused and compile_csim(rel)[2]
        ints = np.ones((2, *g.layers[0].in_shape), np.int64)
        before, _ = run_csim(rel, ints)
        hdr = next((proj / "src" / "params").glob("*.hpp"))
        hdr.write_text(hdr.read_text() + "\n// edited\n")  # project.json (its claimed digest) unchanged
        assert not compile_csim(rel)[2]
        assert np.array_equal(before, run_csim(rel, ints)[0])
    finally:
        os.chdir("/")
