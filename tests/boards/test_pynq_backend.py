"""The 'pynq' backend against a fake of the pynq driver objects (fake_pynq.py): exact bytes, call sequence,
buffer reuse, timeouts; and the three backends agreeing bit for bit."""
import json
import os
import shutil
import sys
import time

import numpy as np
import pytest

from boards.runtime import Accelerator, AcceleratorError, AcceleratorTimeout
from compiler.backends.hls.csim import compile_csim, run_csim_bytes
from deployments import with_bitstream
from fake_pynq import make_pynq


def csim_device(deploy):
    """The fake device computes with the generated HLS C++ (compiled with g++): bytes in -> bytes out."""
    project = deploy / "hls"
    exe, _, _ = compile_csim(project)

    def compute(data: np.ndarray, num_frames: int) -> np.ndarray:
        out, _ = run_csim_bytes(project, data.reshape(num_frames, -1), batch=num_frames, exe=exe)
        return out.reshape(-1)

    return compute


def hand_packed_bipolar(x: np.ndarray, elems: int, beat_bytes: int) -> bytes:
    """Pure-Python reference for BIPOLAR streams: +1 -> bit 1, element i of a word at bit i, little-endian
    bytes, each word zero-padded to the AXI beat."""
    out = bytearray()
    for frame in x.reshape(len(x), -1):
        for w in range(0, len(frame), elems):
            word = sum(1 << i for i, v in enumerate(frame[w : w + elems]) if v > 0)
            out += word.to_bytes(beat_bytes, "little")
    return bytes(out)


@pytest.fixture
def board(tfc_deploy, tmp_path):
    return with_bitstream(tfc_deploy, tmp_path / "deploy")


def test_bytes_sent_are_the_hand_packed_stream_and_outputs_match_the_simulator(board):
    fake = make_pynq(csim_device(board))
    acc = Accelerator(board, backend="pynq", pynq_module=fake, batch_size=64)
    images, _ = acc.deployment.samples()
    res = acc.run(images)
    (n, sent), = fake.device.runs
    ints = acc.io.to_ints(images)                    # BIPOLAR layer-0 values from the host pre-processing
    assert set(np.unique(ints)) <= {-1, 1}
    assert n == len(images) and sent.tobytes() == hand_packed_bipolar(ints, elems=49, beat_bytes=8)
    sim = Accelerator(board, backend="sim").run(images)
    np.testing.assert_array_equal(res.outputs, sim.outputs)
    np.testing.assert_array_equal(res.labels, sim.labels)


def test_call_sequence_buffer_reuse_and_batching(board):
    fake = make_pynq(csim_device(board))
    acc = Accelerator(board, backend="pynq", pynq_module=fake, batch_size=5)
    images, _ = acc.deployment.samples()
    fin, fout = acc.deployment.frame_bytes("input"), acc.deployment.frame_bytes("output")
    acc.run(images[:12])
    acc.run(images[:3])
    log = fake.log
    assert log[0] == ("Overlay", "accel.bit")
    assert [e for e in log if e[0] == "allocate"] == [("allocate", (5 * fin,), "uint8"), ("allocate", (5 * fout,), "uint8")]
    assert [r[0] for r in fake.device.runs] == [5, 5, 2, 3]
    ibuf, obuf = log[1:3]
    calls = [e for e in log[3:]]
    one = lambda n: [("flush", None, n * fin), ("accel.write", 0x10, n), ("recvchannel.transfer", None, n * fout),
                     ("sendchannel.transfer", None, n * fin), ("accel.write", 0x00, 1), ("sendchannel.wait",),
                     ("recvchannel.wait",), ("invalidate", None, n * fout)]
    strip = [tuple(None if (isinstance(v, int) and v >= 0x1000_0000) else v for v in e) for e in calls]
    assert strip == one(5) + one(5) + one(2) + one(3)
    addrs = {e[1] for e in calls if e[0] in ("flush", "sendchannel.transfer")}
    assert len(addrs) == 1, "input buffer must be reused across batches"
    acc.close()
    assert [e[0] for e in log[-2:]] == ["free", "free"]


def test_sim_csim_and_fake_pynq_agree_bit_for_bit(w2a2_deploy, tmp_path, mnist_small):
    board = with_bitstream(w2a2_deploy, tmp_path / "deploy")
    rng = np.random.default_rng(0)
    images = np.concatenate([mnist_small(48), rng.random((16, 1, 28, 28), dtype=np.float32)])
    results = {}
    for backend, opts in (("sim", {}), ("csim", {}), ("pynq", {"pynq_module": make_pynq(csim_device(board))})):
        acc = Accelerator(board, backend=backend, batch_size=20, **opts)
        results[backend] = (acc.raw(images), acc.run(images))
    (sim_in, sim_out), sim = results["sim"]
    assert acc.deployment.meta["input"]["dtype"] == "INT8" and sim_out.any()
    for other in ("csim", "pynq"):
        (i, o), r = results[other]
        assert i.tobytes() == sim_in.tobytes() and o.tobytes() == sim_out.tobytes(), other
        np.testing.assert_array_equal(r.outputs, sim.outputs)


def test_a_device_that_never_finishes_times_out_with_a_clear_error(board):
    fake = make_pynq(lambda data, n: None)           # the S2MM channel never sees its last word
    acc = Accelerator(board, backend="pynq", pynq_module=fake, timeout_s=0.2)
    images, _ = acc.deployment.samples()
    t0 = time.perf_counter()
    with pytest.raises(AcceleratorTimeout, match=r"receive \(S2MM, output\) channel not done after 0.2 s for 16 frames"):
        acc.run(images)
    assert time.perf_counter() - t0 < 5


def test_wrong_output_length_is_a_timeout_not_garbage(board):
    short = lambda data, n: np.zeros(3, np.uint8)
    acc = Accelerator(board, backend="pynq", pynq_module=make_pynq(short), timeout_s=0.1)
    with pytest.raises(AcceleratorTimeout, match="does not match|stalled"):
        acc.predict(acc.deployment.samples()[0][:2])


def test_pynq_missing_gives_a_clear_error(board, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynq", None)
    with pytest.raises(AcceleratorError, match="needs the pynq package.*backend='sim'"):
        Accelerator(board, backend="pynq")


def test_no_bitstream_in_the_deployment(tfc_deploy):
    with pytest.raises(AcceleratorError, match="has no bitstream: build one with `bnnc bitstream"):
        Accelerator(tfc_deploy, backend="pynq", pynq_module=make_pynq(None))


def test_overlay_without_the_expected_ips(board):
    fake = make_pynq(None)
    real_overlay = fake.Overlay

    class NoAccel(real_overlay):
        def __init__(self, bitfile):
            super().__init__(bitfile)
            del self.accel

    fake.Overlay = NoAccel
    with pytest.raises(AcceleratorError, match="no IP named 'accel'"):
        Accelerator(board, backend="pynq", pynq_module=fake)


# ---- an RTL bitstream (`bnnc bitstream --rtl`, `bnnc deploy --rtl`): num_frames from an AXI GPIO, no ap_start

FAKE_VIVADO = """#!/bin/sh
# stands for Vivado in the RTL project folder: writes the files vivado.tcl says it produces
stem=$(sed -n 's|^# Produces output/\\(.*\\)\\.bit and .*|\\1|p' vivado.tcl)
mkdir -p output && echo bit > "output/$stem.bit" && echo '<hwh/>' > "output/$stem.hwh"
"""


@pytest.fixture(scope="module")
def rtl_deploy(tfc_deploy, tmp_path_factory):
    """tfc_deploy's build, its RTL bitstream 'built' by a fake vivado, deployed with --rtl (CLI)."""
    from click.testing import CliRunner

    from bnnc import main

    root = tmp_path_factory.mktemp("rtl_deploy")
    build = shutil.copytree(tfc_deploy.parent / "build", root / "build")
    (root / "bin").mkdir()
    (root / "bin" / "vivado").write_text(FAKE_VIVADO)
    (root / "bin" / "vivado").chmod(0o755)
    env = {"PATH": f"{root / 'bin'}:{os.environ['PATH']}"}
    res = CliRunner(env=env).invoke(main, ["bitstream", str(build), "--rtl"])
    assert res.exit_code == 0 and "bitstream:" in res.output, res.output
    res = CliRunner(env=env).invoke(main, ["deploy", str(build), "-o", str(root / "deploy"), "--rtl", "--samples", "0"])
    assert res.exit_code == 0 and "RTL bitstream layout" in res.output, res.output
    return root / "deploy"


def sim_device(deploy):
    """The fake device computes with the NumPy simulator behind the DMA bytes (the RTL's equality with it is
    tests/boards/test_rtlsim_backend.py's)."""
    sim = Accelerator(deploy, backend="sim").backend

    def compute(data: np.ndarray, num_frames: int) -> np.ndarray:
        return sim.run(data.reshape(num_frames, -1))[0].reshape(-1)

    return compute


def test_rtl_deployment_drives_the_gpio_and_matches_the_simulator(rtl_deploy, tfc_deploy):
    meta = json.loads((rtl_deploy / "deploy.json").read_text())
    assert meta["hardware"] == "rtl" and meta["control"]["interface"] == "axi_gpio"
    assert meta["ip"] == {"dma": "dma", "ctrl": "accel_ctrl"} and (rtl_deploy / meta["bitfile"]).is_file()
    fake = make_pynq(sim_device(rtl_deploy), control="axi_gpio")
    acc = Accelerator(rtl_deploy, backend="pynq", pynq_module=fake, batch_size=5)
    images, _ = Accelerator(tfc_deploy).deployment.samples()
    res = acc.run(images[:7])
    np.testing.assert_array_equal(res.outputs, Accelerator(tfc_deploy, backend="sim").run(images[:7]).outputs)
    fin, fout = acc.deployment.frame_bytes("input"), acc.deployment.frame_bytes("output")
    one = lambda n: [("flush", None, n * fin), ("accel_ctrl.write", 0x0, n), ("recvchannel.transfer", None, n * fout),
                     ("sendchannel.transfer", None, n * fin), ("sendchannel.wait",), ("recvchannel.wait",),
                     ("invalidate", None, n * fout)]
    calls = [tuple(None if (isinstance(v, int) and v >= 0x1000_0000) else v for v in e) for e in fake.log[3:]]
    assert calls == one(5) + one(2) and [r[0] for r in fake.device.runs] == [5, 2]


def test_bitstream_and_deploy_json_layouts_must_agree(rtl_deploy, board):
    with pytest.raises(AcceleratorError, match="no IP named 'accel_ctrl'"):     # RTL deploy.json, HLS bitstream
        Accelerator(rtl_deploy, backend="pynq", pynq_module=make_pynq(None))
    with pytest.raises(AcceleratorError, match="no IP named 'accel'"):          # HLS deploy.json, RTL bitstream
        Accelerator(board, backend="pynq", pynq_module=make_pynq(None, control="axi_gpio"))


def test_rtl_bitstream_of_other_settings_is_not_deployed(rtl_deploy, tmp_path):
    from compiler.workflow.deploy import assemble_deploy
    from compiler.ir.graph import DataflowGraph

    build = shutil.copytree(rtl_deploy.parent / "build", tmp_path / "build")
    assert assemble_deploy(build, tmp_path / "d", samples=0, rtl=True)["bitfile"]     # as built
    meta = assemble_deploy(build, tmp_path / "d", clock_mhz=50.0, samples=0, rtl=True)  # another clock
    assert meta["bitfile"] is None and any("no RTL bitstream of these sources" in n for n in meta["notes"])
    g = DataflowGraph.load(build)
    g.layers[-1].folding["pe"] = 1                         # other sources
    g.save(build)
    assert assemble_deploy(build, tmp_path / "e", samples=0, rtl=True)["bitfile"] is None
    with pytest.raises(AcceleratorError, match=r"has no bitstream: build one with `bnnc bitstream BUILD_DIR --rtl`"):
        Accelerator(tmp_path / "d", backend="pynq", pynq_module=make_pynq(None, control="axi_gpio"))
