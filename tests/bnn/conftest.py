import pytest

from torch_threads import one_torch_thread


@pytest.fixture(scope="module")
def one_thread():
    """torch's OpenMP threads spin badly on a busy 2-core machine (100x slower); one thread keeps training fast."""
    with one_torch_thread():
        yield
