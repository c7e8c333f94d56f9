"""The exact, serialisable recipe that turns uint8 dataset images into the float input a model is trained on.

The spec travels inside every checkpoint so the compiler and the board runtime can repeat it bit for bit on the
host. NumPy only; torch is imported only by `apply_torch`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np



RANGES = {"unit": "x / 255 -> [0, 1]", "bipolar": "(x / 255) * 2 - 1 -> [-1, 1]"}


@dataclass(frozen=True)
class Preprocess:
    """uint8 NCHW images -> float32 model input, in this exact order:

    1. `channels`: replicate a single channel to this many (None: keep);
    2. `pad_to`: zero-pad (raw pixel value 0) H and W symmetrically to this size, extra pixel after (None: keep);
    3. `range`: 'unit' = float32(x) / 255; 'bipolar' = that * 2 - 1 (each step rounded to float32);
    4. `mean`/`std` (unit range only; None: none): (x - mean) / std per channel in float32, torchvision's
       Normalize after ToTensor (a model compiled with `--input-bits 8 --input-mean/--input-std`).

    The bnnc topologies take 'unit' inputs (they map to [-1, 1] inside the model, so the exported graph has it).
    """

    range: str = "unit"
    pad_to: int | None = None
    channels: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.range not in RANGES:
            raise ValueError(f"preprocess range must be one of {sorted(RANGES)}, got {self.range!r}")
        for what in ("mean", "std"):
            v = getattr(self, what)
            if v is not None:
                v = tuple(float(x) for x in np.atleast_1d(np.asarray(v, np.float64)))
                if not v or not all(np.isfinite(v)) or (what == "std" and any(x == 0 for x in v)):
                    raise ValueError(f"preprocess {what} must be finite numbers (std non-zero), got {list(v)}")
                object.__setattr__(self, what, v)
        if (self.mean is not None or self.std is not None) and self.range != "unit":
            raise ValueError(f"preprocess mean/std apply to the 'unit' range, not {self.range!r}")
        if self.pad_to is not None and self.pad_to < 1:
            raise ValueError(f"pad_to must be positive, got {self.pad_to}")
        if self.channels is not None and self.channels < 1:
            raise ValueError(f"channels must be positive, got {self.channels}")

    def to_dict(self) -> dict:
        d = asdict(self)
        for what in ("mean", "std"):            # absent unless set: the recipes written before them read the same
            if d[what] is None:
                del d[what]
            else:
                d[what] = list(d[what])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        unknown = set(d) - {"range", "pad_to", "channels", "mean", "std"}
        if unknown:
            raise ValueError(f"unknown preprocess fields {sorted(unknown)}")
        return cls(**d)

    def out_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """Per-image (C, H, W) after preprocessing of an input of per-image shape `shape`."""
        c, h, w = shape
        self._check(c, h, w)
        if self.channels is not None:
            c = self.channels
        if self.pad_to is not None:
            h = w = self.pad_to
        return c, h, w

    def _check(self, c: int, h: int, w: int) -> None:
        if self.channels is not None and c not in (1, self.channels):
            raise ValueError(f"cannot replicate {c} channels to {self.channels}; only 1-channel images can be")
        if self.pad_to is not None and (h > self.pad_to or w > self.pad_to):
            raise ValueError(f"cannot pad {h}x{w} images to {self.pad_to}x{self.pad_to}")

    def _geometry(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 3 and self.pad_to is None and self.channels is None:
            return x                      # 1-D signals (N, C, L): steps 3 and 4 only
        if x.ndim != 4:
            raise ValueError(f"expected images (N, C, H, W){' or signals (N, C, L)' if self.pad_to is None else ''}"
                             f", got shape {x.shape}")
        self._check(*x.shape[1:])
        if self.channels is not None and x.shape[1] != self.channels:
            x = np.repeat(x, self.channels, axis=1)
        if self.pad_to is not None:
            ph, pw = self.pad_to - x.shape[2], self.pad_to - x.shape[3]
            x = np.pad(x, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
        return x

    def apply(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, C, H, W) (or signals (N, C, L) without pad_to/channels) -> float32 model input (NumPy; the
        reference the host side must match)."""
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise ValueError(f"preprocess expects uint8 images, got {images.dtype}")
        x = self._geometry(images).astype(np.float32) / np.float32(255.0)
        if self.range == "bipolar":
            x = x * np.float32(2.0) - np.float32(1.0)
        return self.normalized(x)

    def normalized(self, x):
        """Step 4 alone: (x - mean) / std per channel (float32, numpy or torch x of (N, C, ...))."""
        if self.mean is None and self.std is None:
            return x
        c = x.shape[1]
        out = x
        for what, v, op in (("mean", self.mean, "sub"), ("std", self.std, "div")):
            if v is None:
                continue
            if len(v) not in (1, c):
                raise ValueError(f"preprocess {what} has {len(v)} values for {c}-channel images")
            a = np.asarray(v, np.float32).reshape((-1,) + (1,) * (x.ndim - 2))
            if not isinstance(x, np.ndarray):
                import torch

                a = torch.from_numpy(a)
            out = out - a if op == "sub" else out / a
        return out

    def apply_torch(self, images):
        """The same computation in torch (bit-identical to `apply`), for the training data path."""
        import torch

        if images.dtype != torch.uint8:
            raise ValueError(f"preprocess expects uint8 images, got {images.dtype}")
        if images.ndim != 4:
            raise ValueError(f"expected images (N, C, H, W), got shape {tuple(images.shape)}")
        self._check(*images.shape[1:])
        x = images
        if self.channels is not None and x.shape[1] != self.channels:
            x = x.repeat(1, self.channels, 1, 1)
        if self.pad_to is not None:
            ph, pw = self.pad_to - x.shape[2], self.pad_to - x.shape[3]
            x = torch.nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        x = x.to(torch.float32) / 255.0
        if self.range == "bipolar":
            x = x * 2.0 - 1.0
        return self.normalized(x)


PAD_TO_32 = ("cnv", "mobilenet")   # topologies built for 32x32 inputs (CIFAR-10 size): smaller images are padded


def preprocess_for(model_name: str, shape: tuple[int, int, int], channels: int | None = None) -> Preprocess:
    """The preprocessing bnnc uses for a topology on images of per-image `shape`: CNV and MobileNet take 32x32, so
    28x28 (Fashion-MNIST) is zero-padded."""
    pad = 32 if model_name.lower() in PAD_TO_32 and max(shape[1:]) < 32 else None
    return Preprocess(range="unit", pad_to=pad, channels=channels)
