"""HLS code generation without a C++ compiler: ROM contents in docs/ir.md's weight-memory order, XNOR
thresholds in the popcount domain, stream plan and packing metadata, errors, atomic writes, the generated
Tcl (parsed and dry-run by tclsh against a mock Vivado), deploy folders and the CLI when tools are missing."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import irgraphs  # noqa: E402
from mock_vivado import requires_tclsh, tcl_complete, tclsh, write_mock  # noqa: E402

from bnnc import main  # noqa: E402
from compiler.backends.hls.project import generate_project  # noqa: E402
from compiler.backends.plan import make_plan  # noqa: E402
from compiler.workflow.deploy import assemble_deploy  # noqa: E402
from compiler.ir.graph import IRError  # noqa: E402
from compiler.sim.packing import unpack  # noqa: E402


def _rom_words(header: str, var: str) -> list[int]:
    """Integer value of every word of `var` in a generated params header (either literal form)."""
    body = header.split(f" {var}[", 1)[1].split(";", 1)[0].split("=", 1)[1]
    words = []
    for m in re.finditer(r'BNNC_WIDE\(\d+, "([0-9a-f]+)"[^)]*\)|0x([0-9a-f]+)ULL', body):
        words.append(int(m.group(1) or m.group(2), 16))
    return words


def test_weight_memory_order_and_encoding(tmp_path):
    g = irgraphs.conv_int()
    layer = g.layer("mvtu1")                                # INT3 weights, MH=6 pe=3, MW=24 simd=8
    proj = generate_project(g, tmp_path / "p")
    header = (proj.path / "src" / "params" / "l01_mvtu1.hpp").read_text()
    words = _rom_words(header, "l01_mvtu1_weights")
    pe, simd, mh, mw = layer.pe, layer.simd, 6, 24
    nf, sf = mh // pe, mw // simd
    assert len(words) == pe * nf * sf
    w = layer.arrays["weights"]
    for p in range(pe):
        for f in range(nf):
            for s in range(sf):
                word = words[p * nf * sf + f * sf + s]
                raw = np.frombuffer(word.to_bytes(3, "little"), np.uint8)[None]       # 8 x 3 bits = 3 bytes
                assert list(unpack(raw, "INT3", simd, simd)[0]) == list(w[f * pe + p, s * simd:(s + 1) * simd])


def test_wide_words_spell_the_same_value_in_both_forms(tmp_path):
    g = irgraphs.conv_int()
    proj = generate_project(g, tmp_path / "p")
    header = (proj.path / "src" / "params" / "l04_mvtu4.hpp").read_text()
    for m in re.finditer(r'BNNC_WIDE\((\d+), "([0-9a-f]+)", ([^)]*)\)', header):
        chunks = [int(c.strip()[2:-3], 16) for c in m.group(3).split(",")]
        assert int(m.group(1)) == 96 and len(chunks) == 2
        assert int(m.group(2), 16) == sum(c << (64 * i) for i, c in enumerate(chunks))


def test_xnor_thresholds_in_popcount_domain(tmp_path):
    g = irgraphs.conv_bipolar()
    layer = g.layer("mvtu4")                                # XNOR, MW=64, MH=32, pe=8
    proj = generate_project(g, tmp_path / "p")
    header = (proj.path / "src" / "params" / "l04_mvtu4.hpp").read_text()
    body = header.split("l04_mvtu4_thresholds[", 1)[1].split("=", 1)[1].split(";")[0]
    got = [int(v) for v in re.findall(r"(-?\d+)LL", body)]
    t = layer.arrays["thresholds"][:, 0]
    pe, nf = 8, 4
    want = [math.ceil((int(t[f * pe + p]) + 64) / 2) for p in range(pe) for f in range(nf)]
    assert got == want


def test_plan_converters_and_boundary_words():
    g = irgraphs.conv_int()
    plan = make_plan(g)
    conv = [(s.in_elems, s.out_elems, s.total) for s in plan.stages if s.kind == "convert"]
    assert conv == [(2, 8, 4 * 6 * 24), (3, 2, 4 * 6 * 6), (2, 3, 3 * 2 * 6), (3, 24, 3 * 2 * 24)]
    i, o = plan.input, plan.output
    assert (i.elems_per_word, i.word_bits, i.word_bytes, i.axi_bytes, i.words_per_frame) == (2, 8, 1, 1, 7 * 6 * 2)
    assert (o.dtype, o.elems_per_word, o.word_bytes, o.words_per_frame) == ("INT9", 5, 6, 6)
    assert o.axi_bytes == 8                               # 45 bits -> 6 bytes -> 64-bit AXI beat


def test_bad_graphs_name_the_layer(tmp_path):
    g = irgraphs.conv_int()
    g.layer("mvtu1").out_dtype = "UINT3"                    # next layer reads UINT2
    with pytest.raises(IRError, match="'pool2' reads UINT2 but 'mvtu1' produces UINT3"):
        make_plan(g)
    g = irgraphs.conv_int()
    g.layer("swg3").attrs["ofm_dim"] = [3, 3]
    with pytest.raises(IRError, match="swg3.*ofm_dim"):
        make_plan(g)
    g = irgraphs.conv_int()
    g.layer("mvtu1").folding["pe"] = 4                      # does not divide MH=6
    with pytest.raises(IRError, match="mvtu1.*pe=4"):
        make_plan(g)


def test_failed_generation_leaves_the_old_project(tmp_path):
    proj = generate_project(irgraphs.ties(), tmp_path / "p")
    before = {p: p.read_bytes() for p in proj.path.rglob("*") if p.is_file()}
    bad = irgraphs.ties()
    bad.layers[0].arrays["thresholds"] = bad.layers[0].arrays["thresholds"].astype(float)
    with pytest.raises(IRError, match="thr0"):
        generate_project(bad, tmp_path / "p")
    assert {p: p.read_bytes() for p in proj.path.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["p"]    # no temporary folders left behind


# ---- Tcl -------------------------------------------------------------------------------------------------
@requires_tclsh
@pytest.mark.parametrize("board,ps,port", [("pynq-z2", "processing_system7", "S_AXI_HP0"),
                                           ("ultra96", "zynq_ultra_ps_e", "S_AXI_HP0_FPD")])
def test_generated_tcl_parses_and_runs_against_a_mock_vivado(tmp_path, board, ps, port):
    proj = generate_project(irgraphs.conv_bipolar(), tmp_path / "p", board=board).path
    assert tcl_complete(tmp_path, proj / "hls.tcl", proj / "vivado.tcl") == ["1", "1"]

    write_mock(tmp_path)
    res = tclsh(tmp_path / "mock.tcl", proj / "hls.tcl", tmp_path / "hls.log")
    assert res.returncode == 0, res.stderr
    hls = (tmp_path / "hls.log").read_text()
    assert "set_top bnnc_top" in hls and "csynth_design" in hls and "export_design -format ip_catalog" in hls

    res = tclsh(tmp_path / "mock.tcl", proj / "vivado.tcl", tmp_path / "v.log")
    assert res.returncode != 0 and "run `vitis_hls -f hls.tcl`" in res.stderr      # refuses without the HLS IP
    (proj / "hls_prj/sol1/impl/ip").mkdir(parents=True)
    for f in ("bnnc_bd.gen/sources_1/bd/bnnc/hdl/bnnc_wrapper.v", "bnnc_bd.runs/impl_1/bnnc_wrapper.bit",
              "bnnc_bd.gen/sources_1/bd/bnnc/hw_handoff/bnnc.hwh"):       # what Vivado would have produced
        (proj / "vivado" / f).parent.mkdir(parents=True, exist_ok=True)
        (proj / "vivado" / f).write_text(f)
    res = tclsh(tmp_path / "mock.tcl", proj / "vivado.tcl", tmp_path / "v.log")
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "v.log").read_text()
    part = json.loads((proj / "project.json").read_text())["part"]
    assert f"-part {part}" in log and f"xilinx.com:ip:{ps}:2.0 ps" in log
    assert "CONFIG.c_m_axis_mm2s_tdata_width 8" in log and "CONFIG.c_s_axis_s2mm_tdata_width 8" in log
    assert f"Slave /ps/{port}" in log and "launch_runs impl_1 -to_step write_bitstream" in log
    assert (proj / "output" / "conv_bipolar.bit").read_text().endswith("bnnc_wrapper.bit")
    assert (proj / "output" / "conv_bipolar.hwh").read_text().endswith("bnnc.hwh")


# ---- deploy and CLI --------------------------------------------------------------------------------------
@pytest.fixture
def build_dir(tmp_path):
    d = tmp_path / "build" / "ties"
    irgraphs.ties().save(d)
    return d


def test_deploy_folder_and_stale_bitstreams(build_dir, tmp_path):
    meta = assemble_deploy(build_dir, tmp_path / "deploy" / "ties")
    d = tmp_path / "deploy" / "ties"
    assert sorted(p.name for p in d.iterdir()) == ["arrays.npz", "deploy.json", "graph.json", "hls"]
    assert sorted(p.name for p in (d / "hls").iterdir()) == ["include", "project.json", "src", "tb"]
    assert "samples" not in meta and meta["preprocess"] is None   # a hand-made graph: no bnnc export metadata
    assert meta["bitfile"] is None and "bnnc bitstream" in meta["notes"][0]
    saved = json.loads((d / "deploy.json").read_text())
    assert saved["input"] == {"shape": [3, 12], "dtype": "INT8", "elems_per_word": 4, "word_bits": 32,
                              "word_bytes": 4, "axi_bytes": 4, "words_per_frame": 9}
    assert saved["output"]["dtype"] == "UINT6" and saved["output"]["words_per_frame"] == 5

    out = build_dir / "hls" / "output"                   # pretend Vivado ran on these sources
    out.mkdir()
    (out / "ties.bit").write_text("bit")
    (out / "ties.hwh").write_text("hwh")
    meta = assemble_deploy(build_dir, tmp_path / "deploy" / "ties")
    assert meta["bitfile"] == "ties.bit" and (d / "ties.hwh").read_text() == "hwh"

    from compiler.ir.graph import DataflowGraph

    g = DataflowGraph.load(build_dir)
    g.layers[0].folding["pe"] = 2                          # new sources: the old bitstream must not ship
    g.save(build_dir)
    meta = assemble_deploy(build_dir, tmp_path / "deploy" / "ties")
    assert meta["bitfile"] is None and not (d / "ties.bit").exists()


def test_cli_hls_and_bitstream_without_xilinx_tools(build_dir, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    r = CliRunner().invoke(main, ["hls", str(build_dir), "--board", "pynq-z2"])
    assert r.exit_code == 0, r.output
    assert "vitis_hls is not on PATH" in r.output and "hls.tcl" in r.output
    assert (build_dir / "hls" / "src" / "top.cpp").is_file()
    r = CliRunner().invoke(main, ["hls", str(build_dir), "--require-tools"])
    assert r.exit_code == 1 and "vitis_hls is not on PATH" in r.output
    r = CliRunner().invoke(main, ["bitstream", str(build_dir)])
    assert r.exit_code == 1 and "vitis_hls is not on PATH" in r.output and "Generated so far" in r.output
    r = CliRunner().invoke(main, ["hls", str(build_dir.parent)])
    assert r.exit_code == 1 and "not a bnnc build folder" in r.output
    r = CliRunner().invoke(main, ["hls", str(build_dir), "--board", "nope"])
    assert r.exit_code == 1 and "unknown board 'nope'" in r.output


def test_words_wider_than_ap_int_max_are_refused_and_wide_ones_accepted():
    """1040-bit words (ap_int's default limit is 1024) must generate; > MAX_WORD_BITS is a clear error."""
    from compiler.backends.plan import MAX_WORD_BITS

    rng = np.random.default_rng(0)
    ok = irgraphs.graph("wide", [irgraphs.thresholding("t", rng, (), 130, "INT8", "INT8", 255, out_bias=-128),
                                 irgraphs.mvtu("fc", rng, (), 130, 4, "INT8", "BIPOLAR", "BIPOLAR", simd=130)])
    make_plan(ok)
    types = (Path(__file__).resolve().parents[4] / "hwlib" / "include" / "bnnc" / "types.hpp").read_text()
    assert f"#define AP_INT_MAX_W {MAX_WORD_BITS}" in types
    bad = irgraphs.graph("too_wide", [irgraphs.thresholding("t", rng, (), 520, "INT8", "INT8", 255, out_bias=-128),
                                      irgraphs.mvtu("fc", rng, (), 520, 4, "INT8", "BIPOLAR", "BIPOLAR", simd=520)])
    with pytest.raises(IRError, match=r"'fc'.*4160 bits\) exceeds 4096"):
        make_plan(bad)


def test_source_digest_is_computed_in_memory(tmp_path, monkeypatch):
    """project_files generates the project without writing it; regenerate_if_changed (the runtime's csim check)
    writes nothing when the folder's sources match, and rewrites them when one was edited."""
    import compiler.backends.hls.project as project
    from compiler.backends.hls.sources import sources_digest

    g = irgraphs.ties()
    generated = project.project_files(g, "Pynq-Z2")
    assert not any(tmp_path.iterdir())
    proj = generate_project(g, tmp_path / "p", "Pynq-Z2")
    assert generated.source_digest == proj.meta["source_digest"] == sources_digest(proj.path)

    def no_writes(*a, **k):
        raise AssertionError("a project folder was written")

    with monkeypatch.context() as m:
        m.setattr(project, "write_generated", no_writes)
        assert project.regenerate_if_changed(g, proj.path, "Pynq-Z2", proj.clock_mhz) is False
    top = proj.path / "src" / "top.cpp"
    text = top.read_text()
    top.write_text(text + "// edited\n")
    assert project.regenerate_if_changed(g, proj.path, "Pynq-Z2", proj.clock_mhz) is True
    assert top.read_text() == text
