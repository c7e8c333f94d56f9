"""compiler.ir.datatypes (numpy/qonnx-free) agrees with qonnx's DataType on every name the IR uses."""
import pytest
from qonnx.core.datatype import DataType as QDataType

from compiler.ir.datatypes import datatype
from diagnostics.errors import IRError

NAMES = (["BIPOLAR", "BINARY", "TERNARY", "UINT1", "FLOAT32", "FLOAT16"]
         + [f"INT{b}" for b in range(1, 65)] + [f"UINT{b}" for b in range(2, 65)])


@pytest.mark.parametrize("name", NAMES)
def test_matches_qonnx(name):
    ours, ref = datatype(name), QDataType[name]
    assert ours.name == ref.name
    assert ours.bitwidth() == ref.bitwidth()
    assert ours.min() == ref.min() and ours.max() == ref.max()
    assert ours.signed() == ref.signed() and ours.is_integer() == ref.is_integer()
    for v in (ref.min(), ref.max(), 0, -1, 1, 2, 0.5):
        assert ours.allowed(v) == ref.allowed(v), v


@pytest.mark.parametrize("name", ["INT3x", "uint8", "INT0", "", "FIXED<8,4>"])
def test_unknown_names_are_named(name):
    with pytest.raises(IRError, match="unknown datatype"):
        datatype(name)
