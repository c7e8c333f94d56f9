"""tfc_deploy (shared with tests/bnnc) is in tests/conftest.py."""
import pytest

from deployments import fold_w2a2, make_deployment


@pytest.fixture(scope="session")
def w2a2_deploy(tmp_path_factory):
    """TFC-W2A2 with an 8-bit input layer: multi-bit words on both DMA streams."""
    return make_deployment(tmp_path_factory.mktemp("w2a2"), "tfc", 2, 2, input_bits=8, folding=fold_w2a2)
