"""The FINN tier: FINN itself (finn-plus in .venv-finn, see `make finn-setup`) checks our exports of TFC-W1A1,
TFC-W2A2, CNV-W1A1 and TFC-W1A1 with a top-2 LabelSelect - datatypes stable under FINN's inference, execute_onnx
== QONNX on the original inputs, ApplyConfig, CreateDataflowPartition, SpecializeLayers and res_estimation
(tests/finn/finn_check.py) - and FINN's folding config comes back through `bnnc compile --folding`."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FINN_PY = Path(os.environ.get("BNNC_FINN_VENV", ROOT / ".venv-finn")) / "bin" / "python"

pytestmark = pytest.mark.skipif(not FINN_PY.exists(), reason=f"no FINN venv at {FINN_PY.parent.parent} "
                                "(create it with `make finn-setup`)")


@pytest.mark.parametrize("name", ["tfc_w1a1", "tfc_w2a2", "cnv_w1a1", "tfc_w1a1_top2"])
def test_finn_accepts_export(tmp_path, name):
    """One model per test (xdist spreads them over workers without building any twice)."""
    subprocess.run([sys.executable, str(HERE / "make_builds.py"), str(tmp_path), "--only", name], check=True,
                   capture_output=True)
    folder = tmp_path / name
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(FINN_PY), str(HERE / "finn_check.py"), str(folder)], capture_output=True, text=True,
                          env=env)
    res = json.loads((folder / "finn_check.json").read_text())
    failed = {k: v for k, v in res.items() if isinstance(v, dict) and not v["ok"]}
    assert not failed and proc.returncode == 0, json.dumps(failed, indent=1)[:3000]
    assert res["execution"]["frames"] == 20 and res["execution"]["mismatches"] == 0
    est = json.loads((folder / "finn_estimate.json").read_text())
    assert est["total"]["LUT"] > 0
    # FINN's estimate lands beside ours in the build's report, every FINN node attributed to one of our layers
    subprocess.run([sys.executable, "-m", "compiler.finn_compare", str(folder)], check=True, cwd=ROOT,
                   capture_output=True)
    rep = json.loads((folder / "report.json").read_text())
    assert rep["finn"]["unmatched_nodes"] == [] and rep["finn"]["total"]["finn"]["lut"] == est["total"]["LUT"]
    assert "FINN's estimate" in (folder / "report.txt").read_text()
    # FINN's own folding config (node names as FINN gives them) comes back through bnnc compile --folding
    hw = json.loads((folder / "finn_hw_config.json").read_text())
    assert not set(hw) & set(json.loads((folder / "finn_folding.json").read_text())) - {"Defaults"}
    bnnc = str(Path(sys.executable).with_name("bnnc"))
    subprocess.run([bnnc, "compile", str(tmp_path / ".src" / f"{name}.onnx"), "-o", str(tmp_path / "back"),
                    "--folding", str(folder / "finn_hw_config.json")], check=True, capture_output=True)
    assert (json.loads((tmp_path / "back" / "finn_folding.json").read_text())
            == json.loads((folder / "finn_folding.json").read_text()))
