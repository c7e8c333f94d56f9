"""The protocol every layer kind implements (docs/ir.md, "Layer kinds"): one object per kind, registered by name.

A kind owns everything that depends on what the layer computes: its attribute schema and checks (graph.json's schema,
compiler.ir.schema, is built from `attrs` / `optional_attrs`), output shape, folding keys, stream words, the NumPy
golden model, the cost model and the FINN export. Backends (HLS C++, RTL) emit code per kind from their own
registries (compiler.backends.hls). Central code (IR, simulator, cost, folding, codegen, export) looks a kind up with
`compiler.kinds.get(name)` and never branches on its name: what differs by kind is a method or attribute here, with a
default, that the kinds override (tests/compiler/kinds/test_central_code.py checks the source).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from compiler.ir.datatypes import ValueRange
from compiler.ir.jsontypes import JsonSchema
from diagnostics.errors import IRError

if TYPE_CHECKING:
    from compiler.estimate.resources import LayerCost


#: optional layer attribute placing a kind's weight memory (docs/ir.md "Weight memories"); absent: a constant
#: ROM initialised by the bitstream (LUTRAM or BRAM by size); "uram": URAM written at run time by the weight loader
WEIGHT_RAM = "weight_ram"
WEIGHT_RAMS = ("uram",)
#: optional attributes any layer may carry, with their JSON Schema (compiler.ir.schema; Kind.check_weight_ram tells
#: which kinds take them)
COMMON_OPTIONAL_ATTRS: dict[str, JsonSchema] = {WEIGHT_RAM: {"enum": list(WEIGHT_RAMS)}}


def in_uram(layer: "LayerData") -> bool:
    """Whether the layer's weights live in run-time-loaded URAM."""
    return layer.attrs.get(WEIGHT_RAM) == "uram"


class LayerData(Protocol):
    """What a kind reads of an IR layer (compiler.ir.graph.Layer has it): kinds do not depend on the IR module."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    in_dtype: str
    out_dtype: str
    attrs: dict[str, Any]
    arrays: dict[str, np.ndarray]
    folding: dict[str, int]

    @property
    def pe(self) -> int: ...

    @property
    def simd(self) -> int: ...


class Kind(ABC):
    """One layer kind. Subclasses set `name`, `attrs` (schema) and `ctrl_lut`, and implement every method."""

    name: str = ""
    #: required attributes and the JSON Schema of their values (compiler.ir.jsontypes; docs/ir.md "Layer kinds"):
    #: graph.json's schema (compiler.ir.schema) takes them from here
    attrs: dict[str, JsonSchema] = {}
    #: attributes the kind reads when present (with a default otherwise), and their JSON Schema; graph.json's schema
    #: checks them on every layer, so compiler.ir.schema refuses an attribute name declared with two schemas
    optional_attrs: dict[str, JsonSchema] = {}
    #: control-logic LUTs of one stage, independent of folding (docs/cost_model.md calibration)
    ctrl_lut: int = 0
    #: notes the cost report adds when a graph contains this kind
    report_notes: tuple[str, ...] = ()
    #: the graph's output are class indices when it ends in this kind (the runtime's `labels`)
    produces_labels: bool = False
    #: streams read and written (docs/ir.md "Streams"): sim_run gets a list of n_inputs arrays when > 1, and its
    #: result goes to every output stream
    n_inputs: int = 1
    n_outputs: int = 1
    #: the kind can keep its weight memory in URAM loaded at run time (attr weight_ram="uram", docs/ir.md): its cost
    #: model honours the attribute and its HLS emitter binds the array to URAM and emits a loader
    uram_weights: bool = False

    def first_output_lead(self, layer: LayerData) -> int:
        """Input elements the layer consumes before it emits its first output element (compiler.estimate.fifo sizes
        branch FIFOs with it); the default, a whole input frame, is always safe."""
        import math

        return math.prod(layer.in_shape)

    def drain_cycles(self, layer: LayerData, cycles: int) -> int:
        """Cycles from the arrival of the layer's last input element to its last output element, at `cycles`
        per frame (compiler.estimate.latency); the default, one output word at the layer's average pace, fits layers
        that emit each output word soon after the inputs it depends on."""
        import math

        return math.ceil(cycles * self.stream_elems(layer, "out") / math.prod(layer.out_shape))

    def read_ahead_words(self, layer: LayerData) -> int:
        """Input words the layer's producer must be able to write ahead of it, so the two do not serialise: the FIFO
        in front of the layer holds at least this many (compiler.backends.rtl.project.input_fifo_depth). Default 0:
        the layer reads its input at its own steady pace (an MVTU with several neuron folds does not)."""
        return 0

    def float_tail(self, layer: LayerData) -> bool:
        """Whether the layer can be the last integer layer before a float tail (docs/ir.md "Float tail"): it outputs
        the raw accumulator of its input times integer `weights` (H, MW), over attribute `MW` inputs, which the host
        scales to floats. compiler.sim.verify bounds QONNX's float32 rounding of it instead of requiring equality.
        Default False."""
        return False

    def input_dtype(self, layer: LayerData, j: int) -> str:
        """Datatype of input stream j (kinds with several inputs keep the others in attrs)."""
        return layer.in_dtype

    def input_shape(self, layer: LayerData, j: int) -> tuple[int, ...]:
        """Per-frame shape of input stream j (in_shape is input 0's; a concatenation's inputs differ)."""
        return tuple(layer.in_shape)

    def where(self, layer: LayerData) -> str:
        return f"layer {layer.name!r} ({layer.kind})"

    def check_attrs(self, layer: LayerData) -> None:
        """Every attribute of the schema is present (IRError naming the first missing one)."""
        for key in self.attrs:
            if key not in layer.attrs:
                raise IRError(f"{self.where(layer)}: missing attribute {key!r}")

    def check_weight_ram(self, layer: LayerData) -> None:
        """The optional weight_ram placement is one this kind supports (IRError naming layer and value)."""
        ram = layer.attrs.get(WEIGHT_RAM)
        if ram is not None and (ram not in WEIGHT_RAMS or not self.uram_weights):
            can = f"only {', '.join(map(repr, WEIGHT_RAMS))}" if self.uram_weights else "none (it keeps no weights there)"
            raise IRError(f"{self.where(layer)}: attribute {WEIGHT_RAM}={ram!r} is not supported; it takes {can}")

    def check_noact(self, layer: LayerData, output: str) -> None:
        """A `noact` layer emits its `output` (sum, accumulator) itself, so its out_dtype must be acc_dtype."""
        if layer.attrs["noact"] and layer.out_dtype != layer.attrs["acc_dtype"]:
            raise IRError(f"{self.where(layer)}: a noact {layer.kind} outputs its {output}, so out_dtype must be "
                          f"acc_dtype {layer.attrs['acc_dtype']}, got {layer.out_dtype}")

    # ---- shapes and folding -----------------------------------------------------------------------------
    @abstractmethod
    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...] | None:
        """Per-frame output shape the attributes imply (None when only its size is fixed, see shapes_ok)."""

    @abstractmethod
    def shapes_ok(self, layer: LayerData) -> bool:
        """in_shape/out_shape agree with the attributes."""

    @abstractmethod
    def check(self, layer: LayerData) -> None:
        """Attribute-level checks beyond the shapes (IRError naming layer and field)."""

    @abstractmethod
    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        """{folding key: (name of the dimension it must divide, its size)}."""

    @abstractmethod
    def stream_key(self, side: str) -> str | None:
        """The folding key that sets the element count of the input ('in') or output ('out') word."""

    def stream_elems(self, layer: LayerData, side: str) -> int:
        """Elements per stream word entering (side='in') or leaving (side='out') the layer."""
        key = self.stream_key(side)
        return int(layer.folding.get(key, 1)) if key else 1

    # ---- golden model ---------------------------------------------------------------------------------
    @abstractmethod
    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        """Per-layer preparation of the NumPy model (packed weights, checked thresholds), once per graph."""

    @abstractmethod
    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        """A batch (N, *in_shape) of integers -> (N, *out_shape), bit-exact with the hardware."""

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: "ValueRange") -> "ValueRange | None":
        """Bounds of the outputs given bounds of the inputs, when the kind can tell without running (optional).

        The simulator checks only the graph input at run time, plus the input of every layer whose predecessor
        returns None here (or whose bound does not fit the layer's in_dtype); the default None is always safe.
        """
        return None

    # ---- cost and export ------------------------------------------------------------------------------
    @abstractmethod
    def cost(self, layer: LayerData) -> "LayerCost":
        """Cycles per frame and resources at the layer's current folding (docs/cost_model.md)."""

    @abstractmethod
    def export_finn(self, layer: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """FINN fpgadataflow node(s) computing the layer from tensor x to y: (nodes, {tensor: datatype name}).
        x (y) is the list of tensor names for a kind reading (writing) several streams.

        Tensors carry FINN's datatypes (compiler.backends.finn.nodes.finn_dtype: BIPOLAR activations as BINARY bits)."""

    def finn_folding(self, layer: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        """FINN node name -> (its op type, {its folding attribute, PE or SIMD: the bnnc folding key it carries}) for
        the nodes export_finn writes (finn_folding.json both ways, compiler.backends.finn.folding). A kind whose FINN nodes
        carry PE/SIMD overrides this (tests/compiler/kinds/test_kinds.py checks it against the export)."""
        return {}

    def finn_output(self, layer: LayerData) -> tuple[int, int]:
        """(a, b) with IR output value = a * FINN output value + b: the host-side fix-up behind a last layer
        (compiler.backends.finn.host). BIPOLAR outputs travel as BINARY bits."""
        return (2, -1) if layer.out_dtype == "BIPOLAR" else (1, 0)


PROTOCOL = tuple(n for n, v in vars(Kind).items() if getattr(v, "__isabstractmethod__", False))


class ChannelLanes:
    """Mixin (before Kind in the bases) for kinds that fold only PE over one channel attribute and carry PE channels
    per stream word in and out (pools, VVAU, Thresholding, the stream kinds)."""

    #: the attribute PE must divide
    lanes: str = "channels"

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        return {"pe": (self.lanes, int(layer.attrs[self.lanes]))}

    def stream_key(self, side: str) -> str:
        return "pe"
