"""torch wrappers for training: preprocessed datasets fetched a whole batch per call, seeded batch order and
augmentation."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from bnn.datasets import ImageData
from bnn.preprocess import Preprocess



class ImageDataset(Dataset):
    """Preprocessed float images and int64 labels; indexing with a list of indices returns a whole batch at once."""

    def __init__(self, data: ImageData, preprocess: Preprocess | None = None):
        self.data = data
        self.preprocess = preprocess or Preprocess()
        self.sample_shape = self.preprocess.out_shape(data.shape)
        self._x = torch.from_numpy(np.ascontiguousarray(data.images))
        self._y = torch.from_numpy(np.ascontiguousarray(data.labels))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx):
        if isinstance(idx, (int, np.integer)):
            x, y = self.__getitem__([int(idx)])
            return x[0], y[0]
        idx = torch.as_tensor(idx, dtype=torch.long)
        return self.preprocess.apply_torch(self._x[idx]), self._y[idx]


class EpochBatches(Sampler):
    """Index batches for one pass; shuffled with its own generator (its state goes into checkpoints).

    A trailing batch of a single sample is dropped, since BatchNorm cannot train on it.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool, generator: torch.Generator | None = None):
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.shuffle, self.generator = n, batch_size, shuffle, generator

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        for i in range(0, self.n, self.batch_size):
            chunk = order[i : i + self.batch_size]
            if len(chunk) == 1 and self.n > 1 and self.shuffle:
                return
            yield chunk.tolist()

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest > 1 or (rest == 1 and (self.n == 1 or not self.shuffle)) else 0)


def make_loader(dataset: ImageDataset, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None, num_workers: int = 0) -> DataLoader:
    """A DataLoader that fetches whole batches by index list (fast: one preprocessing call per batch)."""
    sampler = EpochBatches(len(dataset), batch_size, shuffle, generator)
    return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=num_workers)


def augment_batch(x: torch.Tensor, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding by `pad` pixels, and a random horizontal flip when `flip`, per sample.

    Works on a preprocessed float batch (N, C, H, W); the padding value 0 is black in the [0, 1] range the bnnc
    topologies take (the background of Fashion-MNIST / MNIST). Draws only from `generator`, so a run's
    augmentation follows its seed and resumes exactly. Shapes and labels are unchanged."""
    if x.ndim != 4:
        raise ValueError(f"augment_batch expects images (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    if pad > 0:
        padded = nn.functional.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        rows = (oy[:, None] + torch.arange(h))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w))[:, None, None, :]
        x = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    if flip:
        mirror = torch.rand(n, generator=generator) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    return x
