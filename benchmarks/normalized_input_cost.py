"""What a per-channel input std costs in hardware: the ImageNet-normalized test model of
tests/compiler/normalized_models.py (a 4-bit first conv on 3x10x10 float pixels) compiled with `--input-bits 8`,
ImageNet's per-channel mean, and either one std (0.226, as FINN's ImageNet models use) or ImageNet's per-channel
stds (0.229, 0.224, 0.225: integer multipliers 37856, 38701, 38529 of one unit in the first layer's weights,
docs/ir.md "Raw-pixel input"). Both are verified against QONNX, folded for Pynq-Z1 at the maximum frame rate of
the one-std design (the per-channel design gets the same folding, so only the weight widths differ), and
synthesized by Yosys 0.23 (synth_xilinx xc7); the RTL cost model's estimate is printed beside it.

usage: python benchmarks/normalized_input_cost.py [WORK_DIR]
Figures are Yosys synthesis and the RTL estimate (compiler.estimate.cost.estimate(target="rtl")), not a board.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "compiler"))


def main(argv: list[str] | None = None) -> int:
    from boards.catalog import get_board
    from compiler.backends.rtl.project import generate_rtl
    from compiler.backends.rtl.yosys import synthesize
    from compiler.workflow.compile import load, lower, run_steps, verify, write
    from compiler.workflow.config import BuildConfig
    from compiler.estimate.cost import estimate
    from compiler.estimate.folding import apply_folding, current_folding, fold_graph
    from normalized_models import IMAGENET_MEAN, IMAGENET_STD, per_channel_cnn
    from user_models import export_raw

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work", nargs="?", type=Path, default=Path("runs/normalized_input_cost"))
    a = p.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    path = export_raw(per_channel_cnn(), a.work / "m.onnx", (3, 10, 10), False)
    folding: dict = {}
    rows = {}
    for tag, std in (("one std 0.226", [0.226]), ("per-channel stds", IMAGENET_STD)):
        def fold(state, cfg):      # a step of its own between verify and write: one folding for both models
            if not folding:
                fold_graph(state.graph, get_board("Pynq-Z1"), target_fps="max")
                folding.update(current_folding(state.graph))
            else:
                apply_folding(state.graph, folding)

        g = run_steps(path, BuildConfig(verify=True, num_random=48), a.work / tag.replace(" ", "_"), force=True,
                      raw_input={"bits": 8, "mean": IMAGENET_MEAN, "std": std},
                      steps=(load, lower, verify, fold, write), save_config=False).graph
        first = g.layers[1]
        est = estimate(g, target="rtl")
        syn = synthesize(generate_rtl(g, a.work / f"rtl_{tag.replace(' ', '_')}"), "xc7")
        total = syn["total"]
        rows[tag] = {"first_layer": {"weight_dtype": first.attrs["weight_dtype"], "acc_dtype": first.attrs["acc_dtype"],
                                     "pe": first.pe, "simd": first.simd},
                     "estimated_cycles_per_frame": max(l.cycles for l in est.layers if l.kind != "dma"),
                     "rtl_estimate": {"LUT": est.total.lut, "FF": est.total.ff, "DSP": est.total.dsp},
                     "yosys": total}
        print(f"{tag}: first layer {first.attrs['weight_dtype']} weights, {first.attrs['acc_dtype']} accumulator, "
              f"pe {first.pe} simd {first.simd}; {rows[tag]['estimated_cycles_per_frame']} cycles/frame (estimate); "
              f"Yosys LUT {total['LUT']} FF {total['FF']} DSP {total['DSP']}; RTL estimate LUT {est.total.lut} "
              f"FF {est.total.ff} DSP {est.total.dsp}", flush=True)
    (a.work / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"results: {a.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
