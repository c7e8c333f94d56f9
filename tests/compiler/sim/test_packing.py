"""Stream packing follows docs/ir.md bit for bit: hand-computed layouts, a Python-int reference, round trips."""
import numpy as np
import pytest

from compiler.ir.graph import IRError, dtype
from compiler.sim.packing import decode, encode, pack, unpack, word_bits, word_bytes

DTYPES = (["BIPOLAR", "BINARY"] + [f"INT{b}" for b in range(2, 9)] + [f"UINT{b}" for b in range(2, 9)]
          + ["INT16", "UINT16", "INT32", "UINT32"])


def _random_values(name: str, shape, rng) -> np.ndarray:
    d = dtype(name)
    if name == "BIPOLAR":
        return rng.choice([-1, 1], size=shape)
    v = rng.integers(int(d.min()), int(d.max()), size=shape, endpoint=True)
    v.flat[:2] = [int(d.min()), int(d.max())]        # always include both ends of the range
    return v


def _reference_pack(values: np.ndarray, name: str, e: int) -> np.ndarray:
    """Independent reading of the spec with Python ints: word = sum(code_i << i*b), bytes little-endian."""
    b = dtype(name).bitwidth()
    nbytes = -(-(b * e) // 8)
    out = []
    for row in values.tolist():
        words = []
        for w in range(len(row) // e):
            word = 0
            for i, v in enumerate(row[w * e : (w + 1) * e]):
                code = (v + 1) // 2 if name == "BIPOLAR" else v % (1 << b)     # % gives two's complement
                word |= code << (i * b)
            words.append(list(word.to_bytes(nbytes, "little")))
        out.append(words)
    return np.array(out, np.uint8)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("e", [1, 3, 8, 13])
def test_round_trip_and_reference_layout(name, e):
    rng = np.random.default_rng(abs(hash((name, e))) % 2**32)
    v = _random_values(name, (4, e * 5), rng)
    data = pack(v, name, e)
    assert data.dtype == np.uint8 and data.shape == (4, 5, word_bytes(name, e))
    assert np.array_equal(data, _reference_pack(v, name, e))
    back = unpack(data, name, e, v.shape[1])
    assert back.dtype == np.int64 and np.array_equal(back, v)
    assert np.array_equal(decode(encode(v, name), name), v)


def test_hand_computed_bytes():
    # BIPOLAR: -1 -> 0, +1 -> 1, element 0 in the least significant bit
    bip = np.array([[1, -1, -1, 1, 1, 1, -1, -1, 1, -1, 1, -1, 1, -1, 1, -1]])
    assert pack(bip, "BIPOLAR", 8).tolist() == [[[0b00111001], [0b01010101]]]
    assert pack(bip, "BIPOLAR", 16).tolist() == [[[0x39, 0x55]]]
    assert pack(np.array([[1, -1, 1]]), "BIPOLAR", 3).tolist() == [[[0b101]]]          # padded to a byte
    assert pack(np.array([[0, 1, 2, 3]]), "UINT2", 4).tolist() == [[[0b11100100]]]
    assert pack(np.array([[-1, 2]]), "INT4", 2).tolist() == [[[0x2F]]]
    # INT3 x 3 = 9 bits: 0b111 | 0b010 << 3 | 0b100 << 6 = 0x117, spread over two bytes
    assert pack(np.array([[-1, 2, -4]]), "INT3", 3).tolist() == [[[0x17, 0x01]]]
    assert pack(np.array([[-2]]), "INT16", 1).tolist() == [[[0xFE, 0xFF]]]
    assert pack(np.array([[0x12345678, -1]]), "INT32", 1).tolist() == [[[0x78, 0x56, 0x34, 0x12], [0xFF] * 4]]
    assert encode([-1, 1], "BIPOLAR").tolist() == [0, 1] and encode([-128, 127], "INT8").tolist() == [0x80, 0x7F]


def test_word_sizes():
    assert word_bits("BIPOLAR", 64) == 64 and word_bytes("BIPOLAR", 64) == 8
    assert word_bits("INT3", 3) == 9 and word_bytes("INT3", 3) == 2
    assert word_bytes("BIPOLAR", 1) == 1 and word_bytes("INT8", 64) == 64 and word_bytes("UINT32", 2) == 8


def test_wide_words_and_flat_bytes():
    v = _random_values("INT8", (3, 128), np.random.default_rng(0))
    data = pack(v, "INT8", 64)                     # 512-bit words: bytes are the int8 two's complement values
    assert data.shape == (3, 2, 64) and np.array_equal(data.reshape(3, -1).view(np.int8), v)
    assert np.array_equal(unpack(data.reshape(3, -1), "INT8", 64, 128), v)      # flat (N, bytes) accepted
    assert np.array_equal(unpack(data, "INT8", 64, 100), v[:, :100])


def test_stream_order_is_c_order():
    v = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 8       # (N, H, W*C)-like tensor
    assert np.array_equal(pack(v, "UINT3", 4), pack(v.reshape(2, -1), "UINT3", 4))


@pytest.mark.parametrize("values,name,match", [
    ([[2]], "INT2", r"value 2 .*INT2 \(allowed \[-2, 1\]\)"),
    ([[1, 0]], "BIPOLAR", r"value 0 .*BIPOLAR"),
    ([[-1]], "UINT4", r"value -1 .*UINT4"),
    ([[256]], "UINT8", r"value 256 .*UINT8"),
    ([[0.5]], "INT4", r"0\.5 .*not an integer.*INT4"),
])
def test_out_of_range_names_value_and_dtype(values, name, match):
    with pytest.raises(IRError, match=match):
        pack(np.array(values), name, 1)


def test_bad_arguments():
    with pytest.raises(IRError, match="not a multiple of 4"):
        pack(np.zeros((1, 6), np.int64), "INT4", 4)
    with pytest.raises(IRError, match="FLOAT32"):
        word_bits("FLOAT32", 1)
    with pytest.raises(IRError, match="unknown datatype"):
        encode([1], "INT99x")
    with pytest.raises(IRError, match="does not fit in the 3 bits"):
        decode(np.array([8]), "UINT3")
    with pytest.raises(IRError, match="batch"):
        pack(np.array([1, 2]), "INT4", 1)
    with pytest.raises(IRError, match="does not fit"):
        unpack(np.zeros((1, 2, 1), np.uint8), "INT4", 2, 5)
