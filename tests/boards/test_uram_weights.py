"""Issue 13: weights in UltraScale+ URAM, which the bitstream cannot initialise, loaded at run time.

One small MLP compiled through the CLI for ZCU104 with `--weights-in uram`, deployed, then run by the csim backend
(the generated top receives the weight image through its weight-load mode before any frame) and by the pynq backend
against the fake driver whose device is that same C simulation fed with the bytes the runtime streamed in load mode.
Both must equal the simulator byte for byte. One g++ build for the module.
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bnnc import main as cli
from boards.runtime import Accelerator, AcceleratorError
from compiler.backends.hls.csim import compile_csim, run_csim_bytes
from compiler.sim.packing import pack_stream
from fake_pynq import make_pynq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))
from brevitas_models import export, mlp  # noqa: E402


@pytest.fixture(scope="module")
def dep(tmp_path_factory):
    root = tmp_path_factory.mktemp("uram")
    onnx = export(mlp(2, 2, sizes=(24,), n_in=20, n_out=5, in_bits=8, seed=3), root / "m.onnx", (20,), dynamo=False)
    r = CliRunner().invoke(cli, ["compile", str(onnx), "-o", str(root / "build"), "--board", "ZCU104",
                                 "--weights-in", "uram"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["deploy", str(root / "build"), "-o", str(root / "deploy")])
    assert r.exit_code == 0 and "bytes of URAM weights, loaded when the runtime opens the device" in r.output, r.output
    Accelerator(root / "deploy", backend="csim").close()     # the csim backend's own (re)generation and g++ build
    return root


def test_build_places_weights_in_uram_and_deploy_ships_the_image(dep):
    cfg = json.loads((dep / "build" / "build_config.json").read_text())
    graph = json.loads((dep / "build" / "graph.json").read_text())
    report = json.loads((dep / "build" / "report.json").read_text())
    meta = json.loads((dep / "deploy" / "deploy.json").read_text())
    mvtu = [l for l in graph["layers"] if l["kind"] == "MVTU"]
    assert cfg["weights_in"] == "uram" and all(l["attrs"]["weight_ram"] == "uram" for l in mvtu)
    assert report["total"]["uram"] > 0 and any("in URAM" in n for n in report["notes"])
    w = meta["weights"]
    image = (dep / "deploy" / w["file"]).read_bytes()
    assert len(image) == w["bytes"] == w["beats"] * meta["input"]["axi_bytes"]
    assert [m["layer"] for m in w["memories"]] == [l["name"] for l in mvtu]
    hls = dep / "deploy" / "hls" / "src"
    top = (hls / "top.cpp").read_text()
    for m in w["memories"]:       # Vitis HLS spelling (UG1399 bind_storage), in the function defining the array
        assert f"#pragma HLS bind_storage variable={m['memory']} type=ram_2p impl=uram" in top
        assert not any(m["memory"] in f.read_text() for f in (hls / "params").iterdir())   # no initialiser
    assert "#pragma HLS INTERFACE s_axilite port=mode offset=0x18 bundle=control" in top


def test_csim_backend_loads_the_weights_and_is_bit_exact(dep):
    x = np.random.default_rng(0).normal(0, 2, (40, 20)).astype(np.float32)
    with Accelerator(dep / "deploy", backend="sim") as sim, Accelerator(dep / "deploy", backend="csim") as cs:
        ref_in, ref_out = sim.raw(x)
        got_in, got_out = cs.raw(x)
    assert np.array_equal(ref_in, got_in)
    assert np.array_equal(ref_out, got_out), f"{int((ref_out != got_out).sum())} bytes differ"


def test_frames_use_the_weights_streamed_in_load_mode(dep, tmp_path):
    """The weights come through the load interface: one flipped bit in the image changes the outputs, and an image
    of the wrong size is refused by the testbench."""
    project = dep / "deploy" / "hls"
    exe, _, _ = compile_csim(project)
    meta = json.loads((project / "project.json").read_text())
    data = pack_stream(np.random.default_rng(1).integers(-128, 128, (30, 20)), meta["input"])
    good, _ = run_csim_bytes(project, data, exe=exe, weights=dep / "deploy" / "weights.bin")
    bad = bytearray((dep / "deploy" / "weights.bin").read_bytes())
    bad[3] ^= 0x10
    (tmp_path / "bad.bin").write_bytes(bytes(bad))
    flipped, _ = run_csim_bytes(project, data, exe=exe, weights=tmp_path / "bad.bin")
    assert not np.array_equal(good, flipped)
    (tmp_path / "short.bin").write_bytes(bytes(bad[:-1]))
    with pytest.raises(Exception, match="weight image of"):
        run_csim_bytes(project, data, exe=exe, weights=tmp_path / "short.bin")


def test_pynq_backend_loads_the_image_on_open_then_runs(dep, tmp_path):
    """On open: mode register = load, the image over the input DMA channel, ap_start, back to run mode; the fake
    device (the C simulation) then computes every frame with exactly the bytes it was sent in load mode."""
    deploy = tmp_path / "deploy"
    shutil.copytree(dep / "deploy", deploy)
    (deploy / "n.bit").write_bytes(b"bit")
    (deploy / "n.hwh").write_text("hwh")
    meta = json.loads((deploy / "deploy.json").read_text())
    meta.update(bitfile="n.bit", hwh="n.hwh")
    (deploy / "deploy.json").write_text(json.dumps(meta))
    project = deploy / "hls"
    exe, _, _ = compile_csim(project)
    fake = None

    def compute(data, n):
        (tmp_path / "loaded.bin").write_bytes(fake.device.loads[-1])
        out, _ = run_csim_bytes(project, data.reshape(n, -1), batch=n, exe=exe, weights=tmp_path / "loaded.bin")
        return out.reshape(-1)

    fake = make_pynq(compute)
    x = np.random.default_rng(2).normal(0, 2, (24, 20)).astype(np.float32)
    with Accelerator(deploy, backend="pynq", pynq_module=fake, batch_size=8) as acc:
        _, out = acc.raw(x)
    with Accelerator(deploy, backend="sim") as sim:
        _, ref = sim.raw(x)
    assert np.array_equal(out, ref)
    assert fake.device.loads == [(deploy / "weights.bin").read_bytes()]
    writes = [e for e in fake.log if e[0] in ("accel.write", "sendchannel.transfer")]
    w = meta["weights"]
    assert writes[:4] == [("accel.write", w["mode_offset"], w["mode_load"]), writes[1],
                          ("accel.write", 0x00, 1), ("accel.write", w["mode_offset"], w["mode_run"])]
    assert writes[1][0] == "sendchannel.transfer" and writes[1][2] == w["bytes"]


def test_tampered_weight_image_or_field_is_refused(dep, tmp_path):
    deploy = tmp_path / "deploy"
    shutil.copytree(dep / "deploy", deploy, ignore=shutil.ignore_patterns("csim"))
    img = bytearray((deploy / "weights.bin").read_bytes())
    img[0] ^= 1
    (deploy / "weights.bin").write_bytes(bytes(img))
    with pytest.raises(AcceleratorError, match="weights.bin: weight image does not match graph.json"):
        Accelerator(deploy, backend="sim")
    meta = json.loads((deploy / "deploy.json").read_text())
    meta["weights"]["beats"] += 1
    (deploy / "deploy.json").write_text(json.dumps(meta))
    with pytest.raises(AcceleratorError, match="weights.beats"):
        Accelerator(deploy, backend="sim")
    meta["weights"]["file"] = "../../etc/passwd"
    meta["weights"]["beats"] -= 1
    (deploy / "deploy.json").write_text(json.dumps(meta))
    with pytest.raises(AcceleratorError, match="outside the deployment folder"):
        Accelerator(deploy, backend="sim")


def test_rtl_backend_and_boards_without_uram_refuse_uram_weights(dep, tmp_path):
    from compiler.backends.rtl.project import generate_rtl
    from compiler.backends.hls.project import generate_project
    from diagnostics.errors import CompileError
    from compiler.ir.graph import DataflowGraph

    g = DataflowGraph.load(dep / "build")
    with pytest.raises(CompileError, match="(?s)RTL backend .* no run-time weight loader.*--weights-in bram"):
        generate_rtl(g, tmp_path / "rtl")
    with pytest.raises(CompileError, match="Pynq-Z2 has no URAM"):
        generate_project(g, tmp_path / "hls", "Pynq-Z2")
    assert not (tmp_path / "rtl").exists() and not (tmp_path / "hls").exists()


def test_graph_json_weight_ram_is_validated(dep, tmp_path):
    from compiler.ir.graph import DataflowGraph, IRError

    build = tmp_path / "build"
    shutil.copytree(dep / "build", build, ignore=shutil.ignore_patterns("hls"))
    doc = json.loads((build / "graph.json").read_text())
    doc["layers"][0]["attrs"]["weight_ram"] = "ultra"
    (build / "graph.json").write_text(json.dumps(doc))
    with pytest.raises(IRError, match=r"layers\[0\]\.attrs\.weight_ram"):
        DataflowGraph.load(build)
    from compiler.ir.graph import Layer

    t = Layer("t", "Thresholding", (4,), (4,), "INT4", "UINT2", {"num_channels": 4, "num_vectors": 1,
                                                               "weight_ram": "uram"}, {})
    with pytest.raises(IRError, match="'t' .Thresholding.: attribute weight_ram='uram' is not supported"):
        t.validate()
