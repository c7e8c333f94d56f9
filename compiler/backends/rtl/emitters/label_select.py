"""LabelSelect -> bnnc_label_select (hwlib/verilog/bnnc_label_select.v)."""
from __future__ import annotations

from compiler.backends.rtl.common import Emitted, instance, kind_code, module_name, word_bits
from compiler.ir.datatypes import element_bits as bits
from compiler.backends.rtl.registry import emitter
from compiler.ir.graph import Layer


@emitter("LabelSelect")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    params = {"N": a["num_labels"], "K": a["k"], "IB": bits(layer.in_dtype), "KIND": kind_code(layer.in_dtype),
              "OB": bits(layer.out_dtype)}
    text = instance("bnnc_label_select", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: LabelSelect top-{a['k']} of {a['num_labels']}")
    return Emitted(name, text)
