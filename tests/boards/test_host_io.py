"""Input validation and the shared packing path (boards.runtime.host_io)."""
import json
import shutil

import numpy as np
import pytest

from boards.runtime import Accelerator, AcceleratorError
from compiler.sim.simulate import simulate


@pytest.fixture(scope="module")
def acc(tfc_deploy):
    return Accelerator(tfc_deploy)


def test_raw_uint8_images_are_preprocessed_like_training(acc):
    images, _ = acc.deployment.samples()
    assert images.dtype == np.uint8 and images.shape[1:] == (1, 28, 28)
    as_floats = images.astype(np.float32) / np.float32(255.0)          # the 'unit' recipe in deploy.json
    np.testing.assert_array_equal(acc.run(images).outputs, acc.run(as_floats).outputs)


def test_outputs_equal_the_simulator_on_the_same_inputs(acc, mnist_small):
    x = mnist_small(40)
    res = acc.run(x)
    np.testing.assert_array_equal(res.outputs, simulate(acc.deployment.graph, x))
    np.testing.assert_array_equal(res.labels, res.outputs.argmax(axis=1))


@pytest.mark.parametrize("bad, message", [
    (np.zeros((1, 28, 28), np.float32), "got one image of shape .* add a batch dimension"),
    (np.zeros((2, 1, 27, 28), np.float32), r"per-frame shape \(1, 27, 28\), the model takes \(1, 28, 28\)"),
    (np.zeros((0, 1, 28, 28), np.float32), "empty batch"),
    (np.zeros((2, 1, 28, 28), np.int32), "integer images must be uint8"),
    (np.array([["a"]]), "numeric array"),
    (np.full((2, 1, 28, 28), 0.5, np.float32) + np.eye(28, dtype=np.float32) * np.nan, "not finite"),
    (np.full((2, 1, 28, 28), 1.5, np.float32), r"value 1.5 at index \(0, 0, 0, 0\) is outside \[0, 1\].*'unit'"),
    (np.zeros((2, 28, 28), np.uint8), r"uint8 images must be \(N, C, H, W\)"),
    (np.zeros((2, 3, 28, 28), np.uint8), r"become \(3, 28, 28\) after preprocessing, the model takes \(1, 28, 28\)"),
])
def test_bad_inputs_get_clear_errors(acc, bad, message):
    with pytest.raises(AcceleratorError, match=message):
        acc.run(bad)


def test_uint8_without_recorded_preprocessing_is_refused(tfc_deploy, tmp_path):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    meta = json.loads((d / "deploy.json").read_text())
    meta["preprocess"] = None
    (d / "deploy.json").write_text(json.dumps(meta))
    acc = Accelerator(d)
    with pytest.raises(AcceleratorError, match="records no preprocessing"):
        acc.run(np.zeros((2, 1, 28, 28), np.uint8))
    assert acc.run(np.zeros((2, 1, 28, 28), np.float32)).frames == 2     # floats have no range to check


def test_packed_input_bytes_follow_the_beat_layout(acc):
    ints = np.where(np.arange(784) % 3 == 0, 1, -1)[None]
    data = acc.io.pack(ints)
    s = acc.deployment.meta["input"]
    assert data.shape == (1, s["words_per_frame"] * s["axi_bytes"]) == (1, 16 * 8)
    beats = data.reshape(16, 8)
    assert not beats[:, 7].any()                                        # 49 bits in 7 bytes, 1 byte of padding
    first = int.from_bytes(beats[0, :7].tobytes(), "little")
    assert first == sum(1 << i for i in range(49) if i % 3 == 0)
    np.testing.assert_array_equal(acc.io.unpack(acc.backend.run(data)[0]).shape, (1, 10))


def test_nonzero_padding_in_output_beats_is_refused(w2a2_deploy):
    acc = Accelerator(w2a2_deploy)
    o = acc.deployment.meta["output"]
    if o["axi_bytes"] == o["word_bytes"]:
        pytest.skip("no padding in this output stream")
    out = np.zeros((1, acc.deployment.frame_bytes("output")), np.uint8)
    out[0, o["axi_bytes"] - 1] = 1
    with pytest.raises(AcceleratorError, match="padding bytes beyond"):
        acc.io.unpack(out)
