import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """torch's OpenMP threads spin badly on a busy 2-core machine (100x slower); one thread keeps training fast."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
