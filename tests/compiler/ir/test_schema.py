"""graph.json / arrays.npz damaged in the ways users damage them: each is an IRError naming file and field."""
import json

import pytest

from brevitas_models import export, mlp
from compiler.workflow.compile import compile_model
from compiler.ir.graph import DataflowGraph, IRError


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = tmp_path_factory.mktemp("b")
    compile_model(export(mlp(1, 1, seed=8), d / "m.onnx", (20,), dynamo=False), d / "build")
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


# ---- the schema is derived from the kinds (compiler.kinds: Kind.attrs, Kind.optional_attrs) ------------------------
def test_schema_lists_every_kind_and_its_attributes():
    from compiler import kinds
    from compiler.ir.schema import graph_schema

    layer = graph_schema()["properties"]["layers"]["items"]
    assert layer["properties"]["kind"]["enum"] == list(kinds.names())
    per_kind = {b["if"]["properties"]["kind"]["const"]: b["then"]["properties"]["attrs"] for b in layer["allOf"]}
    for kind in kinds.all():
        assert per_kind[kind.name] == {"required": list(kind.attrs), "properties": kind.attrs}
        for key, schema in kind.optional_attrs.items():
            assert layer["properties"]["attrs"]["properties"][key] == schema


def test_attribute_declared_only_on_a_kind_is_checked_on_load(build, tmp_path, monkeypatch):
    """A new required attribute written on the kind alone (nowhere in compiler.ir.schema) is required on load, with
    its type; so is the type of a new optional one."""
    from compiler import kinds
    from compiler.ir.jsontypes import BOOL, POS

    doc = json.loads((build / "graph.json").read_text())
    first = kinds.get(doc["layers"][0]["kind"])
    monkeypatch.setattr(first, "attrs", {**first.attrs, "new_width": POS})
    monkeypatch.setattr(first, "optional_attrs", {**first.optional_attrs, "new_flag": BOOL})
    with pytest.raises(IRError, match=r"graph.json: not a valid graph.json:\n  field layers\[0\]\.attrs: "
                                      r"'new_width' is a required property"):
        DataflowGraph.load(build)
    d = edit(build, tmp_path, _set(("layers", 0, "attrs", "new_width"), "4"))
    with pytest.raises(IRError, match=r"field layers\[0\]\.attrs\.new_width: '4' is not of type 'integer'"):
        DataflowGraph.load(d)
    d = edit(build, tmp_path / "2", _set(("layers", 0, "attrs", "new_flag"), 1))
    with pytest.raises(IRError, match=r"field layers\[0\]\.attrs\.new_flag: 1 is not of type 'boolean'"):
        DataflowGraph.load(d)


def test_one_schema_per_optional_attribute():
    """An optional attribute is checked on every layer, so two kinds declaring it with different schemas (optional
    or required) is a declaration error, named."""
    from compiler import kinds
    from compiler.ir.jsontypes import BOOL, INT
    from compiler.ir.schema import layer_schema

    class A(type(kinds.get("Thresholding"))):
        name = "A"
        optional_attrs = {"scale": INT}

    class B(type(kinds.get("Thresholding"))):
        name = "B"
        optional_attrs = {"scale": BOOL}

    with pytest.raises(ValueError, match=r"kind B: optional attribute 'scale' has the schema .*boolean.* another kind "
                                         r"declares it as .*integer"):
        layer_schema([A(), B()])

    class C(type(kinds.get("Thresholding"))):
        name = "C"
        attrs = {**kinds.get("Thresholding").attrs, "scale": BOOL}

    with pytest.raises(ValueError, match=r"kind C: attribute 'scale' has the schema .*boolean.* another kind "
                                         r"declares it optional as .*integer"):
        layer_schema([A(), C()])
    assert layer_schema([B(), C()])["properties"]["attrs"]["properties"]["scale"] == BOOL
