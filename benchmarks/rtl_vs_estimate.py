"""RTL backend vs the cost model (untrained exports; exactness does not need training): `bnnc rtlsim`
(Verilator, cycles per frame, latency, bit-exactness) and `bnnc synth` (Yosys synth_xilinx xc7) beside
compiler.estimate.cost's RTL-target estimates, as ratios measured / estimated.

usage: python benchmarks/rtl_vs_estimate.py [WORK_DIR] [--models tfc-w1a1,tfc-w2a2,lfc-w1a1] [--frames 50]
       python benchmarks/rtl_vs_estimate.py [WORK_DIR] --table --models ...   (print the saved results only)
Foldings: TFC as FINN's end-to-end TFC-W1A1 example, LFC as tests/compiler/backends/hls/test_csim_lfc.py; CNV as
finn-examples' cnv-w1a1 folding config (benchmarks/board_reports.py CNV_FINN_FOLDING, the order below).
`lfc-demo` is `bnnc demo`'s model (LFC-W1A1, 8-bit input, calibrated BatchNorm; _rtl_runs.DEMO) at the folding
the optimiser picks for Pynq-Z2, as `bnnc demo` compiles it (`bnnc compile --board pynq-z2`).
"""
from __future__ import annotations

from pathlib import Path

from _rtl_runs import DEMO, build_model, mvtu_folding, parse_model, rtlsim_and_synth, sweep_rows

FOLDINGS = {"tfc": [(16, 49), (8, 8), (8, 8), (10, 8)], "lfc": [(32, 49), (32, 64), (16, 32), (10, 8)],
            "cnv": [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (5, 1)]}
KEYS = ("LUT", "FF", "BRAM18", "DSP")


def measure(work: Path, model: str, frames: int) -> tuple[dict, dict]:
    if model in DEMO:
        out = build_model(work, model, None, ("--board", "pynq-z2"))
    else:
        net = parse_model(model)[0]
        out = build_model(work, model, lambda g: mvtu_folding(g, FOLDINGS[net], model), ("--board", "Pynq-Z2"))
    return rtlsim_and_synth(out, frames)


def make_row(model: str, sim: dict, syn: dict) -> dict:
    return {"model": model, "sim": sim, "synth": syn}


def main() -> None:
    _, rows = sweep_rows("runs/rtl_vs_estimate", "tfc-w1a1,tfc-w2a2,lfc-w1a1", measure, make_row)
    print(f"\n{'model':9} {'frames':>6} {'mism.':>6} {'cycles/frame meas/est':>22} {'latency meas/est':>18} "
          + " ".join(f"{k + ' synth/est':>21}" for k in KEYS) + f" {'Yosys s':>7}")
    for r in rows:
        sim, syn = r["sim"], r["synth"]
        ii = f"{sim['cycles_per_frame']}/{sim['estimated_cycles_per_frame']}"
        lat = f"{sim['latency_cycles']}/{sim['estimated_latency_cycles']}"
        res = []
        for k in KEYS:
            s, e = syn["total"][k], syn["estimated_total"][k]
            res.append(f"{s}/{e}" + (f" ({s / e:.2f})" if e else ""))
        print(f"{r['model']:9} {sim['frames']:>6} {sim['mismatches']:>6} {ii:>22} {lat:>18} "
              + " ".join(f"{x:>21}" for x in res) + f" {syn['seconds']:>7.0f}")
    print("\nper layer kind, all layers of these models (Yosys synth / estimate; what recalibration works from):")
    kinds: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        for l in r["synth"]["layers"]:
            k = kinds.setdefault(l["kind"], {key: [0, 0] for key in KEYS})
            for key in KEYS:
                k[key][0] += l["synth"][key]
                k[key][1] += l["estimated"][key]
    for kind, k in kinds.items():
        print(f"{kind:14} " + " ".join(f"{key} {s:,}/{e:,}" + (f" ({s / e:.2f})" if e else "") + "  "
                                       for key, (s, e) in k.items()))
    print(f"\nmeasured: rtlsim ({rows[0]['sim'].get('tool', 'Verilator')}) and {rows[0]['synth']['tool']} "
          f"post-synthesis counts, part {rows[0]['synth']['part']} (no place and route); "
          "estimated: compiler.estimate.cost, RTL target")


if __name__ == "__main__":
    main()
