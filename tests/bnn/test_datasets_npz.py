"""--dataset PATH.npz: the user's arrays, every problem named (file, key, shape, dtype, label range) up front."""
import numpy as np
import pytest

from bnn.datasets import DatasetError, load_any, load_npz


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good(n=20, m=8):
    rng = np.random.default_rng(0)
    return dict(x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 4, n),
                x_test=rng.integers(0, 256, (m, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 4, m))


def test_uint8_images_load_as_nchw(tmp_path):
    a = _good()
    a["y_train"][0] = 3
    p = _save(tmp_path / "d.npz", **a)
    tr, te = load_npz(p, "train"), load_any(str(p), split="test")
    assert tr.images.shape == (20, 1, 28, 28) and tr.images.dtype == np.uint8
    assert np.array_equal(tr.images[:, 0], a["x_train"]) and np.array_equal(te.labels, a["y_test"])
    assert tr.num_classes == te.num_classes == 4


def test_float_features_scale_to_uint8_squares_by_the_training_range(tmp_path):
    x = np.linspace(-1, 1, 20 * 10, dtype=np.float32).reshape(20, 10)
    p = _save(tmp_path / "f.npz", x_train=x, y_train=np.arange(20) % 2, x_test=x[-5:] * 2, y_test=np.arange(5) % 2)
    tr, te = load_npz(p, "train"), load_npz(p, "test")
    assert tr.images.shape == (20, 1, 4, 4)          # 10 features padded to 16 = 4x4
    flat = tr.images.reshape(20, 16)
    assert flat[:, 10:].max() == 0 and flat[:, :10].min() == 0 and flat[:, :10].max() == 255
    assert te.images.reshape(5, 16)[:, :10].max() == 255   # test values outside the train range are clipped


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("y_test"), "missing array"),
    (lambda a: a.update(x_train=a["x_train"].astype(np.int32), x_test=a["x_test"].astype(np.int32)), "dtype int32"),
    (lambda a: a.update(y_train=a["y_train"][:-1]), "has 20 samples but y_train has 19"),
    (lambda a: a.update(y_test=-a["y_test"] - 1), "negative label"),
    (lambda a: a.update(y_train=a["y_train"].astype(np.float32)), "integer class labels"),
    (lambda a: a.update(x_train=a["x_train"][:, :, :20]), "28x20"),
    (lambda a: a.update(x_test=a["x_test"][:, :20, :20]), "differ in dtype or per-sample shape"),
    (lambda a: a.update(x_train=a["x_train"][..., None, None]), "shape"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, change, message):
    a = _good()
    change(a)
    p = _save(tmp_path / "bad.npz", **a)
    with pytest.raises(DatasetError, match=message) as e:
        load_npz(p, "train")
    assert "bad.npz" in str(e.value)


def test_label_range_against_num_classes_and_unreadable_file(tmp_path):
    p = _save(tmp_path / "d.npz", **_good())
    with pytest.raises(DatasetError, match="out of range for 2 classes"):
        load_npz(p, "train", num_classes=2)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="junk.npz: not a readable .npz"):
        load_npz(tmp_path / "junk.npz")
    with pytest.raises(DatasetError, match="no such file"):
        load_npz(tmp_path / "none.npz")
