"""Tests of bnn/compress (the folder is not named `compress`: a namespace package tests/bnn/compress would shadow
the real bnn.compress when tests/ is on sys.path)."""
import pytest

from bnn.datasets import synthetic
from bnn.loader import ImageDataset


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here trains: one torch thread (tests/bnn/conftest.py)."""


@pytest.fixture(scope="package")
def tiny_data():
    """256 train / 64 test synthetic 28x28 images (10 classes of noisy binary patterns)."""
    return ImageDataset(synthetic(256, seed=1, split="train")), ImageDataset(synthetic(64, seed=1, split="test"))
