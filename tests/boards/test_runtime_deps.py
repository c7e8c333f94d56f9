"""The board runtime needs NumPy only: a deployment runs on the sim backend with the training/ONNX stack absent.

A Pynq-Z2 (armv7) has no onnxruntime wheel and no room for torch, so `boards.runtime` must not import torch,
brevitas, onnx, onnxruntime, qonnx (or yaml). The check runs in a fresh interpreter whose import system refuses
those packages, on a real deployment (TFC-W1A1 with preprocessing metadata and samples). Besides NumPy the runtime
may load only jsonschema (and its pure-Python/armv7-wheel dependencies) to validate the deployment's files.
"""
import json
import subprocess
import sys


# the runtime itself, numpy, and jsonschema with its dependencies (all with armv7 wheels)
# idna: jsonschema's format checker imports it when it is installed (it comes with Ray's requests, `bnnc[ray]`)
ALLOWED = {"boards", "compiler", "diagnostics", "numpy", "jsonschema", "jsonschema_specifications", "referencing", "rpds", "attrs",
           "attr", "typing_extensions", "idna"}
BLOCKED = ("torch", "brevitas", "onnx", "onnxruntime", "qonnx", "onnxoptimizer", "yaml", "bnn", "click")

SCRIPT = r"""
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the board runtime must not need it")
        return None

sys.meta_path.insert(0, Blocker())
import json
import numpy as np
from boards.runtime import Accelerator

acc = Accelerator(DEPLOY, backend="sim", batch_size=8)
images, labels = acc.deployment.samples()
res = acc.run(images)
print(json.dumps({"n": int(len(images)), "correct": int((res.labels == labels).sum()),
                  "labels": [int(v) for v in res.labels],
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _run(deploy) -> dict:
    code = f"BLOCKED = {BLOCKED!r}\nDEPLOY = {str(deploy)!r}\n" + SCRIPT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sim_backend_runs_without_torch_onnx_qonnx(tfc_deploy):
    from boards.runtime import Accelerator

    got = _run(tfc_deploy)
    assert not set(BLOCKED) & set(got["loaded"])
    third_party = {m for m in got["loaded"] if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert third_party <= ALLOWED, sorted(third_party - ALLOWED)
    ref = Accelerator(tfc_deploy, backend="sim", batch_size=8)
    images, _ = ref.deployment.samples()
    assert got["n"] == len(images) > 0
    assert got["labels"] == [int(v) for v in ref.run(images).labels]


def test_the_blocker_blocks():
    code = f"BLOCKED = {BLOCKED!r}\nDEPLOY = ''\n" + SCRIPT.replace("from boards.runtime import Accelerator",
                                                                     "import qonnx")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "qonnx is blocked" in out.stderr
