"""diagnostics.progress: silent unless turned on; with it on, the library's long steps report themselves."""
import io
import re

import pytest

from brevitas_models import export, mlp
from diagnostics import progress
from compiler.workflow.compile import compile_model


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_unless_turned_on_and_only_on_a_terminal_without_verbose():
    assert not progress.active()
    with progress.step("nothing shown", total=3) as s:      # library default: a no-op
        s.update(3)
    buf = io.StringIO()
    with progress.reporting(stream=buf) as on:                # not a terminal, not verbose: quiet
        assert not on and not progress.active()
        list(progress.batches(10, 4, "quiet"))
    assert buf.getvalue() == ""
    tty = Tty()
    with progress.reporting(stream=tty) as on:
        assert on
        assert list(progress.batches(10, 4, "counted")) == [0, 4, 8]
    assert "counted" in tty.getvalue() and "10/10" in tty.getvalue()
    assert not progress.active()                              # restored on exit


def test_state_is_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with progress.reporting(verbose=True, stream=io.StringIO()):
            with progress.step("failing"):
                raise RuntimeError("boom")
    assert not progress.active()


def test_compile_reports_lowering_and_verification(tmp_path):
    onnx = export(mlp(2, 2, seed=3), tmp_path / "m.onnx", (20,), dynamo=False)
    buf = io.StringIO()
    with progress.reporting(verbose=True, stream=buf):
        compile_model(onnx, tmp_path / "b", verify=True, num_random=70)
    text = buf.getvalue()
    assert "lowering to the dataflow IR" in text and "loading m.onnx" in text
    done = re.search(r"verifying against QONNX execution: 100%.*? (\d+)/(\d+) ", text)
    assert done and done.group(1) == done.group(2) and int(done.group(1)) >= 70     # every frame counted
