"""Fixtures of the CLI tests: model builders (tests/compiler), deployments (tests/boards; tfc_deploy is in
tests/conftest.py), torch threads (tests/bnn)."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "compiler"), str(TESTS / "boards"), str(TESTS / "bnn")]

from torch_threads import one_torch_thread  # noqa: E402


@pytest.fixture(scope="module")
def one_thread():
    """Training tests run with one torch thread (tests/bnn/torch_threads.py)."""
    with one_torch_thread():
        yield
