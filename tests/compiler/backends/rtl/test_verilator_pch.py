"""Verilator builds read verilated.h through a precompiled header made once per Verilator version, compiler and
make flags beside the model cache (compiler/backends/rtl/pch.py): g++ accepts it, and the model built with it is
the same binary as the one built without."""
from __future__ import annotations

import subprocess

import pytest

import irgraphs
from rtl_check import requires_verilator, rtl_project
from compiler.backends.cache import compiler_id
from compiler.backends.rtl.pch import HEADER, verilated_pch
from compiler.backends.rtl.verilator import VERILATOR, build, make_flags, tool_version

pytestmark = requires_verilator


def _pch(cache):
    return verilated_pch(VERILATOR, make_flags(1), f"{tool_version(VERILATOR)}\n{compiler_id('g++')}", cache)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A model cache of this module's own, so that its precompiled header is made here (once)."""
    return tmp_path_factory.mktemp("pch") / "vl"


def test_made_once_beside_the_cache_and_accepted_by_gxx(cache, tmp_path):
    folder = _pch(cache)
    assert folder is not None and folder.parent == cache.with_name("vl.pch")
    assert sorted(p.name for p in folder.iterdir()) == [HEADER, f"{HEADER}.gch"]
    stamp = (folder / f"{HEADER}.gch").stat().st_mtime_ns
    assert _pch(cache) == folder and (folder / f"{HEADER}.gch").stat().st_mtime_ns == stamp   # not made again
    assert _pch(None) is None
    # a model file compiled the way make compiles it, told to warn about a header it cannot use: no warning
    (tmp_path / "m.v").write_text("module m(input clk, input [7:0] a, output reg [7:0] q);\n"
                                  "always @(posedge clk) q <= a + 8'd1;\nendmodule\n")
    assert subprocess.run([VERILATOR, "--cc", "m.v", "--Mdir", "obj"], cwd=tmp_path, capture_output=True).returncode == 0
    flags = [f + " -Winvalid-pch" if f.startswith("OPT_FAST=") else f for f in make_flags(1, folder)]
    res = subprocess.run(["make", "-f", "Vm.mk", "OBJCACHE=", *flags, "Vm.o"], cwd=tmp_path / "obj",
                         capture_output=True, text=True)
    assert res.returncode == 0 and (tmp_path / "obj" / "Vm.o").is_file(), res.stderr
    assert f"-include {HEADER}" in res.stdout and "not used because" not in res.stdout + res.stderr


def test_the_model_built_with_it_is_the_binary_built_without(cache, tmp_path, monkeypatch):
    g = irgraphs.conv_bipolar()
    monkeypatch.setenv("BNNC_VERILATOR_CACHE", "off")           # no cache: no precompiled header
    plain = build(rtl_project(g, tmp_path / "plain"))[0].read_bytes()
    monkeypatch.setenv("BNNC_VERILATOR_CACHE", str(cache))
    exe, _, reused = build(rtl_project(g, tmp_path / "pch"))
    assert not reused and _pch(cache) is not None
    assert exe.read_bytes() == plain
