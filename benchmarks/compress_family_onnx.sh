#!/bin/sh
# A PyTorch-trained float LFC exported to ONNX as the teacher; the family built from it on full Fashion-MNIST.
set -e
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
[ -f runs/teacher_lfc/last.pt ] || .venv/bin/bnnc train --model lfc --bits float --dataset fashion-mnist --epochs 3 --out runs/teacher_lfc --no-progress --threads 1
.venv/bin/python - <<'PY'
import torch
from bnn.train import model_from_checkpoint
m = model_from_checkpoint("runs/teacher_lfc/last.pt").eval()
torch.onnx.export(m, torch.rand(1, 1, 28, 28), "runs/teacher_lfc.onnx", input_names=["x"], output_names=["logits"],
                  dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, dynamo=False)
print("exported runs/teacher_lfc.onnx")
PY
.venv/bin/bnnc compress --teacher runs/teacher_lfc.onnx --dataset fashion-mnist --board pynq-z2 --target-fps 100000 \
    --student sfc --bits w1a1 --input-bits 8 --widths 0.25,0.5,0.75,1.0 --epochs 5 --joint split --threads 1 --no-progress \
    -o runs/family_fmnist --rtl --synth
