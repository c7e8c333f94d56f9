"""Contract of the layer-kind registry: every kind implements the whole protocol, and every backend emits it."""
import inspect
import re
import numpy as np
import pytest

from compiler import kinds
from compiler.backends.hls import emitters as hls
from compiler.backends.rtl import emitters as rtl
from diagnostics.errors import CompileError, IRError
from compiler.kinds.base import PROTOCOL, Kind

import naive_ir

import irgraphs  # the example graphs the HLS library tests use: every kind, folded

EXAMPLES = [irgraphs.conv_int(), irgraphs.conv_bipolar(), irgraphs.ties(), irgraphs.pools_depthwise(), irgraphs.residual(),
            irgraphs.concat()]


def test_registry_lists_the_ir_kinds():
    assert kinds.names() == ("MVTU", "Thresholding", "SlidingWindow", "MaxPool", "LabelSelect", "AvgPool", "VVAU",
                            "DuplicateStreams", "AddStreams", "ConcatStreams")
    assert [k.name for k in kinds.all()] == list(kinds.names())


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(IRError, match="unknown layer kind 'Conv'.*MVTU.*LabelSelect"):
        kinds.get("Conv")


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_kind_implements_the_whole_protocol(kind: Kind):
    assert PROTOCOL, "the protocol has abstract methods"
    for method in PROTOCOL:
        impl = getattr(type(kind), method)
        assert impl is not getattr(Kind, method), f"{kind.name} does not implement {method}"
        assert not getattr(impl, "__isabstractmethod__", False)
    assert kind.attrs, f"{kind.name} declares no attribute schema"
    assert kind.ctrl_lut > 0
    for side in ("in", "out"):
        key = kind.stream_key(side)
        assert key is None or key in ("pe", "simd")


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_every_kind_has_an_hls_emitter(kind: Kind):
    emit = hls.get(kind.name)
    assert list(inspect.signature(emit).parameters) == ["layer", "index", "src", "dst", "in_elems"]


def test_hls_emitters_cover_exactly_the_kinds():
    assert set(hls.kinds()) == set(kinds.names())


def test_every_kind_has_an_rtl_emitter_or_an_explicit_refusal():
    """A new kind must register an RTL emitter (compiler/backends/rtl/<kind>.py, @emitter) or call
    compiler.backends.rtl.emitters.refuse(kind, reason); this lists every kind that does neither."""
    missing = [k for k in kinds.names() if k not in rtl.kinds() and k not in rtl.refused()]
    assert not missing, f"layer kinds with neither an RTL emitter nor an RTL refusal: {', '.join(missing)}"
    assert not set(rtl.kinds()) - set(kinds.names()), "RTL emitters for kinds the registry does not know"
    assert not set(rtl.refused()) & set(rtl.kinds())


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_rtl_emitter_or_refusal_behaves(kind: Kind):
    """An emitter takes (layer, index) and emits a module with its ROM files for every example layer of the kind;
    a refused kind fails generation with a CompileError naming the kind and the reason."""
    from compiler.backends.rtl.project import generate_rtl

    if kind.name in rtl.refused():
        with pytest.raises(CompileError, match=f"{kind.name}.*not supported by the RTL backend yet"):
            rtl.get(kind.name)
        return
    emit = rtl.get(kind.name)
    assert list(inspect.signature(emit).parameters) == ["layer", "index"]
    emitted = 0
    for i, l in enumerate(_layers_of(kind)):
        try:
            em = emit(l, i)
        except CompileError as e:     # a configuration the library lacks (overlapping pooling): refused by name
            assert l.name in str(e) and "RTL" in str(e)
            continue
        emitted += 1
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", em.module)
        assert f"module {em.module} (" in em.text
        assert all(f.startswith("params/") and f.endswith(".hex") for f in em.files)
    assert emitted, f"no example layer of {kind.name} is emitted in RTL"


def test_rtl_refusal_is_a_clear_error(tmp_path, monkeypatch):
    """A model with a refused kind: generate_rtl names the layer, the kind and the reason, and writes nothing."""
    from compiler.backends.rtl import registry
    from compiler.backends.rtl.project import generate_rtl

    g = irgraphs.ties()
    kind = g.layers[-1].kind
    monkeypatch.setattr(registry, "_EMITTERS", {k: v for k, v in registry._EMITTERS.items() if k != kind})
    monkeypatch.setattr(registry, "_REFUSED", {kind: "no library module for it"})
    with pytest.raises(CompileError, match=rf"layer {g.layers[-1].name!r}: layer kind '{kind}' is not supported "
                                           r"by the RTL backend yet: no library module for it"):
        generate_rtl(g, tmp_path / "rtl")
    assert not (tmp_path / "rtl").exists()


def _layers_of(kind: Kind):
    return [l for g in EXAMPLES for l in g.layers if l.kind == kind.name]


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_kind_behaves_on_its_examples(kind: Kind):
    """Every kind has an example; on it the kind's shapes, folding, golden model, cost and export agree."""
    from compiler.estimate.cost import LayerCost

    layers = _layers_of(kind)
    assert layers, f"no example graph in tests/compiler/irgraphs.py uses {kind.name}: add one"
    rng = np.random.default_rng(0)
    exported = 0
    for l in layers:
        kind.check_attrs(l)
        kind.check(l)
        assert kind.shapes_ok(l)
        shape = kind.out_shape(l.attrs)
        assert shape is None or tuple(shape) == tuple(l.out_shape)
        for key, (_, size) in kind.folded_dims(l).items():
            assert size % l.folding.get(key, 1) == 0
        for side in ("in", "out"):
            n = int(np.prod(l.in_shape if side == "in" else l.out_shape))
            assert n % kind.stream_elems(l, side) == 0
        lo, hi = (-1, 1) if l.in_dtype == "BIPOLAR" else (int(irgraphs.dtype(l.in_dtype).min()),
                                                          int(irgraphs.dtype(l.in_dtype).max()))
        xs = []
        for j in range(kind.n_inputs):
            dt = irgraphs.dtype(kind.input_dtype(l, j))
            xj = rng.integers(int(dt.min()), int(dt.max()) + 1, size=(5, *kind.input_shape(l, j)))
            xs.append(np.where(xj >= 0, 1, -1) if kind.input_dtype(l, j) == "BIPOLAR" else xj)
        x = xs[0] if len(xs) == 1 else xs
        y = kind.sim_run(l, kind.sim_prepare(l, l.name), x)
        np.testing.assert_array_equal(y.reshape(5, -1), naive_ir.layer(l, x).reshape(5, -1))
        c = kind.cost(l)
        assert isinstance(c, LayerCost) and c.cycles > 0 and c.resources.lut > 0
        try:
            x = "x" if kind.n_inputs == 1 else [f"x{j}" for j in range(kind.n_inputs)]
            nodes, _ = kind.export_finn(l, x, "y" if kind.n_outputs == 1 else ["y0", "y1"], {})
        except IRError as e:           # FINN cannot express every IR layer (e.g. a non-zero pad value)
            assert l.name in str(e)
            continue
        assert nodes and nodes[-1].name == l.name
        _finn_folding_matches_export(kind, l, nodes)
        exported += 1
    assert exported, f"no {kind.name} example exports to FINN"


def _finn_folding_matches_export(kind: Kind, l, nodes) -> None:
    """finn_folding.json both ways (compiler.backends.finn.folding): the kind names each exported node carrying PE/SIMD, with
    its op type and the folding key whose value the export wrote there."""
    from onnx import helper

    folded = kind.finn_folding(l)
    assert set(folded) <= {n.name for n in nodes}
    if not kind.folded_dims(l):      # not folded by bnnc: its nodes keep FINN's default PE/SIMD
        assert folded == {}
        return
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        carried = {k for k in ("PE", "SIMD") if k in attrs}
        if not carried:
            assert n.name not in folded
            continue
        op, keys = folded[n.name]
        # every PE/SIMD the export writes is a bnnc folding key, or a dimension bnnc never folds (then 1)
        assert op == n.op_type and set(keys) <= carried
        assert all(attrs[attr] == 1 for attr in carried - set(keys))
        for attr, key in keys.items():
            assert key in kind.folded_dims(l) and attrs[attr] == l.folding.get(key, 1)


def test_bad_attribute_schema_is_named():
    l = _layers_of(kinds.get("MaxPool"))[0]
    bad = type(l)(**{**l.__dict__, "attrs": {k: v for k, v in l.attrs.items() if k != "kernel"}})
    with pytest.raises(IRError, match=f"{l.name}.*missing attribute 'kernel'"):
        kinds.get("MaxPool").check_attrs(bad)


@pytest.mark.parametrize("name", ["AvgPool", "VVAU", "AddStreams"])
def test_noact_layer_must_output_its_accumulator_type(name: str):
    """A noact layer emits its sum unchanged: any other out_dtype is refused, naming the layer and both types."""
    kind = kinds.get(name)
    l = _layers_of(kind)[0]
    acc = l.attrs["acc_dtype"]
    kind.check(type(l)(**{**l.__dict__, "attrs": {**l.attrs, "noact": True}, "out_dtype": acc}))
    other = "INT32" if acc != "INT32" else "INT31"
    bad = type(l)(**{**l.__dict__, "attrs": {**l.attrs, "noact": True}, "out_dtype": other})
    with pytest.raises(IRError, match=f"{l.name}.*noact {name}.*acc_dtype {l.attrs['acc_dtype']}, got {other}"):
        kind.check(bad)


def test_concat_mult_semantics_and_checks():
    """ConcatStreams' optional integer multipliers: input j's values * mult[j] << shift[j] (the simulator), the output
    datatype must hold the scaled ranges, and BIPOLAR inputs or multipliers outside 1..65536 are refused."""
    g = irgraphs.concat()
    cat = next(l for l in g.layers if l.kind == "ConcatStreams")
    k = kinds.get("ConcatStreams")
    cat.attrs.update({"mult": [3, 5], "shift": [1, 0]})
    assert k.value_bounds(cat) == (-20, 18)                   # UINT2 * 3 << 1 in 0..18, INT3 * 5 in -20..15
    with pytest.raises(IRError, match="does not hold"):
        k.check(cat)                                          # INT4 is too narrow now
    cat.out_dtype = "INT6"
    k.check(cat)
    plan = k.sim_prepare(cat, cat.name)
    a = np.tile([0, 1, 2, 3, 1, 0], 25).reshape(1, -1)       # 25 pixels of 6 and 4 channels
    b = np.tile([-4, 3, 0, -1], 25).reshape(1, -1)
    y = k.sim_run(cat, plan, [a, b])
    assert y.shape == (1, 5, 5, 10) and y[0, 2, 3].tolist() == [0, 6, 12, 18, 6, 0, -20, 15, 0, -5]
    for bad in ([0, 1], [1, 1 << 17]):
        cat.attrs["mult"] = bad
        with pytest.raises(IRError, match="mult must be two integers in 1..65536"):
            k.check(cat)
    cat.attrs.update({"mult": [1, 3], "shift": [0, 0], "in1_dtype": "BIPOLAR"})
    with pytest.raises(IRError, match="BIPOLAR input cannot be shifted or multiplied"):
        k.check(cat)


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_kind_declares_its_attributes_as_json_schema(kind: Kind):
    """Kind.attrs / optional_attrs are the only declaration of the attributes (graph.json's schema is built from
    them, compiler.ir.schema): valid JSON Schemas, disjoint, and the kind's example layers satisfy them."""
    import json

    import jsonschema

    declared = {**kind.attrs, **kind.optional_attrs}
    assert not set(kind.attrs) & set(kind.optional_attrs)
    for key, schema in declared.items():
        jsonschema.Draft202012Validator.check_schema(schema)
    schema = {"type": "object", "required": list(kind.attrs), "properties": declared}
    for l in _layers_of(kind):
        attrs = json.loads(json.dumps(l.attrs))          # as graph.json carries them (tuples become lists)
        assert not list(jsonschema.Draft202012Validator(schema).iter_errors(attrs)), l.name


def test_example_graphs_satisfy_the_graph_json_schema():
    from compiler.ir.schema import graph_schema, schema_problems

    for g in EXAMPLES:
        assert schema_problems(g.to_json(), graph_schema()) == [], g.name


@pytest.mark.parametrize("kind", kinds.all(), ids=lambda k: k.name)
def test_kind_answers_every_protocol_question(kind: Kind):
    """The methods and attributes with defaults in Kind (central code asks every kind, never its name) answer with the
    right types on every example layer; a float tail carries what compiler.sim.verify bounds (MW, weights (H, MW))."""
    assert isinstance(kind.produces_labels, bool) and isinstance(kind.uram_weights, bool)
    assert kind.n_inputs >= 1 and kind.n_outputs >= 1
    for l in _layers_of(kind):
        words = kind.read_ahead_words(l)
        assert isinstance(words, int) and words >= 0
        tail = kind.float_tail(l)
        assert isinstance(tail, bool)
        if tail:
            assert l.arrays["weights"].shape[-1] == l.attrs["MW"]
        assert isinstance(kind.first_output_lead(l), int) and kind.first_output_lead(l) > 0
        assert kind.drain_cycles(l, kind.cost(l).cycles) >= 0
        a, b = kind.finn_output(l)
        assert isinstance(a, int) and isinstance(b, int)
