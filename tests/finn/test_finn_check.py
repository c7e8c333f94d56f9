"""The FINN tier: FINN itself (finn-plus in .venv-finn, see `make finn-setup`) checks our exports of TFC-W1A1,
TFC-W2A2, CNV-W1A1, TFC-W1A1 with a top-2 LabelSelect, a residual block, a MobileNet-style depthwise stack and the
average pools - datatypes stable under FINN's inference, execute_onnx == QONNX on the original inputs, ApplyConfig,
CreateDataflowPartition, SpecializeLayers and res_estimation (tests/finn/finn_check.py) - and FINN's folding config
comes back through `bnnc compile --folding`. Hand-built IR graphs cover what no Brevitas model lowers to (a shifted
residual add, standalone Thresholding), checked against bnnc's simulator."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnnc import main as bnnc_main
from compiler.workflow.finn_report import main as finn_compare

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FINN_PY = Path(os.environ.get("BNNC_FINN_VENV", ROOT / ".venv-finn")) / "bin" / "python"
sys.path.insert(0, str(HERE))
import make_builds  # noqa: E402  (tests/finn/make_builds.py)

pytestmark = pytest.mark.skipif(not FINN_PY.exists(), reason=f"no FINN venv at {FINN_PY.parent.parent} "
                                "(create it with `make finn-setup`)")


# the new-kind models (tests/finn/make_builds.py TEST_MODELS) and the FINN op types each must contain (so a lowering
# change cannot silently drop what the test covers)
FINN_OPS = {"residual": {"DuplicateStreams", "ElementwiseAdd", "Thresholding", "FMPadding"},
            "mobilenet": {"VVAU", "GlobalAccPool", "Thresholding", "FMPadding"},
            "pools": {"Pool", "VVAU", "GlobalAccPool", "Thresholding"},
            "radioml_1d": {"ConvolutionInputGenerator", "FMPadding", "Pool", "MVAU", "Thresholding"},
            "inception": {"DuplicateStreams", "StreamingConcat", "ElementwiseMul", "FMPadding", "MVAU"},
            "densenet": {"DuplicateStreams", "StreamingConcat", "FMPadding", "MVAU"},
            "scaled_inception": {"DuplicateStreams", "StreamingConcat", "ElementwiseMul", "FMPadding", "MVAU"},
            "inception4": {"DuplicateStreams", "StreamingConcat", "ElementwiseMul", "FMPadding", "MVAU"},
            "unequal_residual": {"DuplicateStreams", "ElementwiseMul", "ElementwiseAdd", "Thresholding"},
            "nested_dense": {"DuplicateStreams", "StreamingConcat", "FMPadding", "MVAU"},
            "inception_residual": {"DuplicateStreams", "StreamingConcat", "ElementwiseAdd", "FMPadding", "MVAU"},
            "imagenet_norm": {"ConvolutionInputGenerator", "MVAU"},
            "dense_layers": {"DuplicateStreams", "StreamingConcat", "FMPadding", "MVAU"}}


def _make(out: Path, names: list[str]) -> None:
    """tests/finn/make_builds.py, in this process: a subprocess spent ~7 CPU-s per test importing torch, Brevitas
    and bnnc again (its `bnnc compile` still runs as the CLI, in a subprocess)."""
    make_builds.main([str(out), "--only", ",".join(names)])


class FinnProcess:
    """One FINN interpreter (finn_check.py --serve) for this module's checks on this xdist worker: importing FINN,
    qonnx and torch costs ~3 CPU-s a process, paid once instead of once per test. Each check still loads its
    builds from their files; a crashed server is restarted for the next check."""

    def __init__(self, log: Path):
        self.log, self.proc, self.err = log, None, None

    def check(self, folders) -> tuple[int, str]:
        if self.proc is None or self.proc.poll() is not None:
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            self.err = self.err or self.log.open("a")      # FINN's warnings: a file, so no pipe can fill up
            self.proc = subprocess.Popen([str(FINN_PY), str(HERE / "finn_check.py"), "--serve"], env=env, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.proc.stdin.write(json.dumps([str(f) for f in folders]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            return -1, f"the FINN process exited ({self.proc.returncode}): " + self.log.read_text()[-3000:]
        r = json.loads(line)
        return r["rc"], r["output"] if r["rc"] == 0 else r["output"] + self.log.read_text()[-3000:]

    def close(self) -> None:
        """Stop the server (end of its stdin) and reap it, so its CPU time counts in this worker's children."""
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        if self.err is not None:
            self.err.close()


@pytest.fixture(scope="module")
def finn(tmp_path_factory):
    proc = FinnProcess(tmp_path_factory.mktemp("finn") / "finn_check.stderr")
    yield proc
    proc.close()


def _check(finn: FinnProcess, folders) -> dict:
    """finn_check.py on the build folders (in this worker's FINN process): {folder name: finn_check.json}, failures
    named."""
    rc, output = finn.check(folders)
    out = {}
    for f in folders:
        assert (f / "finn_check.json").exists(), output[-5000:]
        out[f.name] = json.loads((f / "finn_check.json").read_text())
    failed = {n: {k: v for k, v in r.items() if isinstance(v, dict) and not v["ok"]} for n, r in out.items()}
    failed = {n: v for n, v in failed.items() if v}
    assert not failed and rc == 0, json.dumps(failed, indent=1)[:3000] + output[-2000:]
    return out


def _folding_round_trip(folder: Path) -> None:
    """FINN's own folding config of the build (finn_hw_config.json: node names as FINN's builder gives them, several
    implementations of one op type) reads back to what finn_folding.json says: the build's folding, except that a
    window generator feeding a VVAU has the VVAU's PE as its SIMD (FINN's depthwise order needs them equal)."""
    from compiler import kinds
    from compiler.backends.finn.folding import from_finn_config
    from compiler.ir.graph import DataflowGraph, stream_edges

    g = DataflowGraph.load(folder)
    hw = json.loads((folder / "finn_hw_config.json").read_text())
    ours = json.loads((folder / "finn_folding.json").read_text())
    assert not set(hw) & set(ours) - {"Defaults"}
    back = from_finn_config(g, hw)
    assert back == from_finn_config(g, ours)
    tied = {src.name: dst.pe for src, dst, _ in stream_edges(g.layers) if dst.kind == "VVAU"}
    for l in g.layers:
        if kinds.get(l.kind).finn_folding(l):
            want = {key: l.folding.get(key, 1) for key in kinds.get(l.kind).folded_dims(l)}
            assert back[l.name] == ({"simd": tied[l.name]} if l.name in tied else want), l.name


def _layers_compared(folder: Path, res: dict) -> None:
    """FINN's tensor of every stream (every layer output) was compared with bnnc's simulated one, none differing."""
    from compiler.ir.graph import DataflowGraph

    n_streams = sum(len(outs) for _, outs in DataflowGraph.load(folder).streams())
    assert res["execution"]["layers_compared"] == n_streams and res["execution"]["layer_mismatches"] == {}


def _compare(folders) -> None:
    """FINN's estimate lands beside ours in each build's report, every FINN node attributed to one of our layers."""
    assert finn_compare([str(f) for f in folders]) == 0      # python -m compiler.workflow.finn_report, in this process
    for folder in folders:
        est = json.loads((folder / "finn_estimate.json").read_text())
        assert est["total"]["LUT"] > 0
        rep = json.loads((folder / "report.json").read_text())
        assert rep["finn"]["unmatched_nodes"] == [] and rep["finn"]["total"]["finn"]["lut"] == est["total"]["LUT"]
        assert "FINN's estimate" in (folder / "report.txt").read_text()


@pytest.mark.parametrize("name", ["tfc_w1a1", "tfc_w2a2", "cnv_w1a1", "tfc_w1a1_top2"])
def test_finn_accepts_export(tmp_path, finn, name):
    """One model per test (xdist spreads them over workers without building any twice)."""
    _make(tmp_path, [name])
    folder = tmp_path / name
    res = _check(finn, [folder])[name]
    assert res["execution"]["frames"] == 20 and res["execution"]["mismatches"] == 0
    _layers_compared(folder, res)
    _compare([folder])
    # FINN's own folding config (node names as FINN gives them) comes back through bnnc compile --folding
    hw = json.loads((folder / "finn_hw_config.json").read_text())
    assert not set(hw) & set(json.loads((folder / "finn_folding.json").read_text())) - {"Defaults"}
    r = CliRunner().invoke(bnnc_main, ["compile", str(tmp_path / ".src" / f"{name}.onnx"), "-o",
                                       str(tmp_path / "back"), "--folding", str(folder / "finn_hw_config.json")])
    assert r.exit_code == 0, r.output
    assert (json.loads((tmp_path / "back" / "finn_folding.json").read_text())
            == json.loads((folder / "finn_folding.json").read_text()))


def _check_models(tmp_path, finn, names: list[str]) -> None:
    """Build `names` in one make_builds run and check them in one FINN process (the FINN tier's time): every FINN
    check passes, FINN's execution equals QONNX's on 20 inputs layer by layer, the expected FINN ops are there, and
    the folding comes back from FINN's own config."""
    _make(tmp_path, names)
    folders = [tmp_path / n for n in names]
    res = _check(finn, folders)
    for n, folder in zip(names, folders):
        assert res[n]["execution"]["frames"] == 20 and res[n]["execution"]["mismatches"] == 0
        assert res[n]["execution"]["reference"] == "QONNX"
        _layers_compared(folder, res[n])
        ops = set(res[n]["partition"]["ops"])
        assert FINN_OPS[n] <= ops, f"{n}: FINN ops {sorted(ops)}"
        _folding_round_trip(folder)
    _compare(folders)


def test_finn_accepts_branch_depthwise_and_pool_exports(tmp_path, finn):
    """The residual block, the MobileNet-style stack and the average pools of tests/compiler."""
    _check_models(tmp_path, finn, ["residual", "mobilenet", "pools"])


def test_finn_accepts_signal_and_concat_exports(tmp_path, finn):
    """The RadioML-style 1-D CNN (windows of one row: FINN's (1, L) view of a signal), the Inception block
    (StreamingConcat after an ElementwiseMul shift), the Inception block with towers in the scale ratio 4 : 5
    (StreamingConcat after ElementwiseMul by the integer multipliers), a four-tower Inception block (three
    StreamingConcat; FINN's SortGraph numbers its nodes in another order, which the folding round trip must follow),
    the DenseNet-style skip concatenation and the
    residual add of branches whose scales are not a power of two apart (ElementwiseMul by the integer multipliers)
    of tests/compiler."""
    _check_models(tmp_path, finn, ["radioml_1d", "inception", "scaled_inception", "inception4", "densenet", "unequal_residual"])


def test_finn_accepts_nested_joins_and_a_normalized_input(tmp_path, finn):
    """Joins nested in another join's branch (tests/compiler/branch_models.py): an Inception split inside a
    DenseNet path (two StreamingConcat) and x + cat(towers of x) (StreamingConcat, then ElementwiseAdd); a DenseNet
    block of three layers (branches that cross: six StreamingConcat); and a first layer on ImageNet-normalized
    pixels (tests/compiler/normalized_models.py, `--input-bits 8` with per-channel --input-mean/--input-std: UINT8
    pixels into the first MVAU, whose weights hold the per-channel multipliers)."""
    _check_models(tmp_path, finn, ["nested_dense", "inception_residual", "dense_layers", "imagenet_norm"])


def test_finn_runs_ir_graphs(tmp_path, finn):
    """Hand-built IR graphs (tests/compiler/irgraphs.py) in one FINN process: a residual add with shifts [1, 0]
    (ElementwiseMul) and a Thresholding skip branch, standalone Thresholding layers feeding a LabelSelect over ties,
    noact VVAU and pools; FINN's execution == bnnc's simulator exactly, one partition, SpecializeLayers runs, and
    their hand-set folding (PE/SIMD up to 8 on every new kind) comes back from FINN's own config."""
    names = ["ir_residual", "ir_ties", "ir_pools", "ir_concat"]
    _make(tmp_path, names)
    res = _check(finn, [tmp_path / n for n in names])
    for n in names:
        assert res[n]["execution"]["mismatches"] == 0 and res[n]["execution"]["reference"] == "bnnc simulator"
        _layers_compared(tmp_path / n, res[n])
        _folding_round_trip(tmp_path / n)
    assert {"ElementwiseMul", "ElementwiseAdd", "DuplicateStreams"} <= set(res["ir_residual"]["partition"]["ops"])
    assert res["ir_ties"]["partition"]["ops"].count("Thresholding") == 2
    assert {"VVAU", "Pool", "GlobalAccPool"} <= set(res["ir_pools"]["partition"]["ops"])
    assert {"StreamingConcat", "ElementwiseMul", "DuplicateStreams"} <= set(res["ir_concat"]["partition"]["ops"])
