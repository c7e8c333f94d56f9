"""Build folders for the FINN tier: export TFC-W1A1, CNV-W1A1 and TFC-W2A2 (untrained, BatchNorm statistics
randomised so thresholds are spread) and compile each with `bnnc compile --verify --board pynq-z2` (folded by the optimiser), saving the inputs FINN replays.

Runs in the project's own venv (torch/Brevitas/bnnc); tests/finn/finn_check.py then runs in the FINN venv.
Usage: python tests/finn/make_builds.py OUT_DIR [--frames 20] [--only tfc_w1a1,...]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from bnn.export import export_qonnx
from bnn.topologies import build

# name -> (topology, weight bits, act bits, in_channels, per-frame input shape, top-k LabelSelect or None)
MODELS = {
    "tfc_w1a1": ("tfc", 1, 1, 1, (1, 28, 28), None),
    "tfc_w2a2": ("tfc", 2, 2, 1, (1, 28, 28), None),
    "cnv_w1a1": ("cnv", 1, 1, 3, (3, 32, 32), None),
    "tfc_w1a1_top2": ("tfc", 1, 1, 1, (1, 28, 28), 2),
}


def randomize_bn(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial BatchNorm (some negative gammas) so an untrained model's thresholds are not all equal."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_((torch.rand(n, generator=g) + 0.2) * torch.where(torch.arange(n) % 3 == 0, -1.0, 1.0))
                m.bias.copy_(torch.randn(n, generator=g) * 0.3)
    return model.eval()


def make(name: str, out: Path, frames: int, bnnc: str, board: str) -> Path:
    topo, wb, ab, ch, shape, topk = MODELS[name]
    folder = out / name
    src = out / ".src"   # hidden, so `OUT/*/` globs only the build folders
    src.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = randomize_bn(build(topo, wb, ab, in_channels=ch), seed=1)
    onnx_path = export_qonnx(model, src / f"{name}.onnx", shape, dynamo=False)
    x = np.random.default_rng(2).random((frames, *shape), dtype=np.float32)
    np.save(src / f"{name}_inputs.npy", x)
    subprocess.run([bnnc, "compile", str(onnx_path), "-o", str(folder), "--verify-inputs",
                    str(src / f"{name}_inputs.npy"), "--num-random", "4", "--board", board, *(["--topk", str(topk)] if topk else [])], check=True)
    np.save(folder / "finn_inputs.npy", x)   # written after the atomic build: the inputs FINN replays
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--board", default="pynq-z2", help="folded for this board by the optimiser (non-trivial PE/SIMD)")
    p.add_argument("--only", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    a = p.parse_args(argv)
    bnnc = str(Path(sys.executable).with_name("bnnc"))
    for name in a.only.split(","):
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
        print(f"built {make(name, a.out, a.frames, bnnc, a.board)}", flush=True)


if __name__ == "__main__":
    main()
