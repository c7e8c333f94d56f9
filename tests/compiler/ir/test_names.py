"""Hostile graph/layer names never become code: refused at the IR boundary, quoted in every emitter."""
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from boards.catalog import get_board
from brevitas_models import export, mlp
from bnnc.compile import compile_cmd
from compiler.workflow.compile import compile_model
from compiler.backends.hls.tcl import hls_tcl
from compiler.ir.graph import DataflowGraph, IRError
from compiler.ir.names import check_name, comment_text, safe_name, tcl_quote

HOSTILE = ["net} ; exec touch PWNED ;#", "a\nexec touch PWNED", "x[exec touch PWNED]", "$env(HOME)", "a b",
           ".hidden", "-rf", "", "\\", "a\"b", "é"]


@pytest.mark.parametrize("name", HOSTILE)
def test_unsafe_names_are_refused(name):
    assert check_name(name, "graph name") is not None
    assert check_name(safe_name(name), "graph name") is None


@pytest.mark.parametrize("name", ["tfc_w1a1", "MatMul_0", "/features/0/Conv", "cnv-w2a2.v1", "a:b+c"])
def test_ordinary_names_pass(name):
    assert check_name(name, "layer name") is None


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return export(mlp(1, 1, seed=8), tmp_path_factory.mktemp("m") / "m.onnx", (20,), dynamo=False)


def test_hostile_name_option_is_refused(tmp_path, onnx):
    r = CliRunner().invoke(compile_cmd, [onnx, "-o", str(tmp_path / "b"), "--name", HOSTILE[0]])
    assert r.exit_code != 0 and "--name" in r.output and "safe set" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "b").exists()


def test_hostile_folder_name_gives_a_safe_graph_name(tmp_path, onnx):
    out = tmp_path / "net} ; exec touch PWNED ;#"
    g = compile_model(onnx, out)
    assert check_name(g.name, "graph name") is None and "exec" in g.name


@pytest.mark.parametrize("field", ["name", "layer"])
def test_graph_json_with_hostile_name_is_refused_on_load(tmp_path, onnx, field):
    compile_model(onnx, tmp_path / "b")
    f = tmp_path / "b" / "graph.json"
    doc = json.loads(f.read_text())
    if field == "name":
        doc["name"] = HOSTILE[0]
    else:
        doc["layers"][0]["name"] = HOSTILE[0]
    f.write_text(json.dumps(doc))
    field_path = "name" if field == "name" else r"layers\[0\]\.name"
    with pytest.raises(IRError, match=rf"graph.json: not a valid graph.json:\n  field {field_path}: .* does not match"):
        DataflowGraph.load(tmp_path / "b")


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")
@pytest.mark.parametrize("name", HOSTILE)
def test_tcl_quoting_holds_even_without_validation(tmp_path, name):
    """hls_tcl run by a real Tcl interpreter (tool commands stubbed) with a name the IR would refuse: the
    display name arrives verbatim and nothing is executed."""
    script = hls_tcl(name, get_board("Pynq-Z2"), 100.0)
    stubs = "".join(f"proc {c} args {{}}\n" for c in ("open_project", "set_top", "add_files", "open_solution",
                                                     "set_part", "create_clock", "csynth_design"))
    stubs += "proc export_design args { puts -nonewline [lindex $args end] }\nproc exit args {}\n"
    body = script.replace("cd [file dirname [file normalize [info script]]]\n", "")
    (tmp_path / "t.tcl").write_text(stubs + body)
    res = subprocess.run(["tclsh", "t.tcl"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "bnnc " + name
    assert not (tmp_path / "PWNED").exists()


def test_quoting_helpers():
    assert tcl_quote("a b") == '"a b"' and tcl_quote("$x[y]") == '"\\$x\\[y\\]"'
    c = comment_text("a\nb\\ */ é")
    assert "\n" not in c and "\\" not in c and "*/" not in c and c.isascii()
