"""graph.json / arrays.npz damaged in the ways users damage them: each is an IRError naming file and field."""
import json

import pytest

from brevitas_models import export, mlp
from compiler.workflow.compile import compile_model
from compiler.ir.graph import DataflowGraph, IRError


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = tmp_path_factory.mktemp("b")
    compile_model(export(mlp(1, 1, seed=8), d / "m.onnx", (20,)), d / "build")
    return d / "build"


def edit(build, tmp_path, change):
    import shutil

    d = shutil.copytree(build, tmp_path / "b")
    doc = json.loads((d / "graph.json").read_text())
    doc = change(doc)
    (d / "graph.json").write_text(json.dumps(doc))
    return d


def _set(path, value):
    def change(doc):
        obj = doc
        for p in path[:-1]:
            obj = obj[p]
        if value is KeyError:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value
        return doc
    return change


@pytest.mark.parametrize("path,value,expect", [
    (("layers", 0, "attrs", "MH"), KeyError, r"field layers\[0\]\.attrs: 'MH' is a required property"),
    (("layers", 0, "folding"), {"pe": "4"}, r"field layers\[0\]\.folding\.pe: '4' is not of type 'integer'"),
    (("layers", 0, "folding"), {"pe": -2}, r"field layers\[0\]\.folding\.pe: -2 is less than the minimum of 1"),
    (("layers",), None, r"field layers: None is not of type 'array'"),
    (("name",), None, r"field name: None is not of type 'string'"),
    (("layers", 1, "kind"), "Conv", r"field layers\[1\]\.kind: 'Conv' is not one of"),
    (("layers", 0, "in_shape"), [20, "x"], r"field layers\[0\]\.in_shape\[1\]: 'x' is not of type 'integer'"),
    (("input", "pre"), {}, r"field input\.pre: \{\} is not of type 'array'"),
    (("output",), KeyError, r"field <top level>: 'output' is a required property"),
])
def test_malformed_graph_json(build, tmp_path, path, value, expect):
    d = edit(build, tmp_path, _set(path, value))
    with pytest.raises(IRError, match=expect) as e:
        DataflowGraph.load(d)
    assert "graph.json" in str(e.value)


def test_graph_json_as_a_list(build, tmp_path):
    d = edit(build, tmp_path, lambda doc: [doc])
    with pytest.raises(IRError, match="graph.json: expected a JSON object, got list"):
        DataflowGraph.load(d)


def test_truncated_arrays_npz(build, tmp_path):
    d = edit(build, tmp_path, lambda doc: doc)
    data = (d / "arrays.npz").read_bytes()
    (d / "arrays.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(IRError, match=r"arrays.npz: unreadable arrays file \(BadZipFile"):
        DataflowGraph.load(d)


def test_missing_array(build, tmp_path):
    d = edit(build, tmp_path, _set(("layers", 0, "arrays", "weights"), "nope/weights"))
    with pytest.raises(IRError, match=r"array 'nope/weights' is referenced but missing from arrays.npz"):
        DataflowGraph.load(d)
