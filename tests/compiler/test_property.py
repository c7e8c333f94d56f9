"""Property: any small random Brevitas MLP/CNN in our supported family compiles to an IR that equals QONNX."""
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brevitas_models import cnn, compile_and_verify, export, mlp

bits = st.sampled_from([(1, 1), (1, 2), (2, 2), (2, 1)])


@st.composite
def models(draw):
    w, a = draw(bits)
    seed = draw(st.integers(0, 10_000))
    common = dict(bias=draw(st.booleans()), in_bits=draw(st.sampled_from([None, 8])), seed=seed,
                  negative=draw(st.booleans()))
    if draw(st.booleans()):
        sizes = tuple(draw(st.lists(st.integers(1, 24), min_size=1, max_size=3)))
        n_in = draw(st.integers(1, 40))
        return mlp(w, a, sizes=sizes, n_in=n_in, n_out=draw(st.integers(1, 6)), bn=draw(st.booleans()), **common), (n_in,)
    chans = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=2)))
    pool = draw(st.booleans())
    pool_first = pool and not common["negative"] and draw(st.booleans())
    in_ch = draw(st.integers(1, 3))
    return cnn(w, a, chans=chans, in_ch=in_ch, size=8, pad=draw(st.sampled_from([0, 1])), pool=pool,
               pool_before_act=pool_first, **common), (in_ch, 8, 8)


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(models())
def test_random_models_are_exact(spec):
    model, shape = spec
    with tempfile.TemporaryDirectory() as d:
        path = export(model, Path(d) / "m.onnx", shape)
        g, rep = compile_and_verify(path, Path(d) / "build", num_random=24)
        assert rep.ok, (rep.describe(), model)
