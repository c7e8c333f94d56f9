"""One torch thread for training tests: OpenMP threads spin badly on a busy 2-core machine (100x slower)."""
import contextlib


@contextlib.contextmanager
def one_torch_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
