"""compiler.sim.quant (NumPy only, for the board runtime) computes exactly what qonnx's int_quant computes."""
import numpy as np
import pytest
from qonnx.custom_op.general.intquant import int_quant

from diagnostics.errors import IRError
from compiler.sim.quant import ROUNDING_MODES, int_levels, levels_of_op


@pytest.mark.parametrize("mode", sorted(ROUNDING_MODES))
@pytest.mark.parametrize("signed,narrow,bits", [(1, 0, 8), (1, 1, 4), (0, 0, 2), (0, 1, 3), (1, 0, 1), (0, 0, 1)])
def test_levels_times_scale_equal_qonnx(mode, signed, narrow, bits):
    rng = np.random.default_rng(bits * 7 + signed)
    x = np.concatenate([rng.normal(0, 3, 4000), np.arange(-40, 40) / 4]).astype(np.float32).reshape(-1, 4)
    scale = np.asarray([0.5, 0.25, 0.37, 1.0], np.float32)
    zeropt = np.float32(0.0)
    bw = np.float32(bits)
    ours = int_levels(x, scale, zeropt, bw, signed, narrow, mode) * scale
    ref = int_quant(x, scale, zeropt, bw, signed, narrow, mode)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)


def test_host_op_form_and_bad_mode():
    x = np.linspace(-3, 3, 97, dtype=np.float32)
    op = {"op": "quant", "scale": np.float32(0.5), "zeropt": np.float32(0), "bitwidth": 3, "signed": 1, "narrow": 0,
          "rounding_mode": "ROUND"}
    np.testing.assert_array_equal(levels_of_op(op, x) * np.float32(0.5),
                                  int_quant(x, np.float32(0.5), np.float32(0), np.float32(3), 1, 0, "ROUND"))
    np.testing.assert_array_equal(levels_of_op({"op": "bipolar_quant"}, x), np.where(x >= 0, 1, -1))
    with pytest.raises(IRError, match="rounding mode 'NEAREST'"):
        levels_of_op({**op, "rounding_mode": "NEAREST"}, x)
