"""Report: verdict against the budget, table rows, JSON/PNG files."""
import json

import layer_builders as tc
from boards.catalog import get_board
from compiler.estimate.cost import estimate
from compiler.workflow.report import CONV_NOTE, build_report, format_table, write_report


def test_report_verdicts_table_and_files(tmp_path):
    g = tc.graph(tc.mvtu("fc0", mw=784, mh=1024, pe=1024, simd=784, acc="INT11"))     # fully unfolded: huge
    rep = build_report("big", estimate(g, 100.0, 64), get_board("Pynq-Z1"))
    assert not rep["fits"] and "lut" in rep["over_budget"] and rep["bottleneck"] == "dma"
    table = format_table(rep)
    assert "DOES NOT FIT (over budget: lut" in table and "budget (85% of Pynq-Z1)" in table
    assert table.splitlines()[2].split()[:2] == ["fc0", "MVTU"]
    small = tc.graph(tc.swg(), tc.mvtu("m", mw=36, mh=8, nv=9, simd=4))
    rep2 = build_report("small", estimate(small, 100.0, 64), get_board("ZCU104"), notes=["hello"])
    assert rep2["fits"] and rep2["notes"] == ["hello", CONV_NOTE] and rep2["utilization"]["uram"] == 0
    files = write_report(rep2, tmp_path / "r")
    assert [f.name for f in files] == ["report.json", "report.txt", "report.png"]
    assert json.loads(files[0].read_text())["fps"] == rep2["fps"] and files[2].read_bytes()[:4] == b"\x89PNG"
    assert build_report("x", estimate(small, 100.0, 64))["board"] is None      # no board: no budget columns


def test_report_plot_never_imports_pyplot(tmp_path):
    """The PNG is drawn on an Agg canvas without pyplot (slow to import, and it would switch the caller's
    process-wide backend); a fresh interpreter shows which modules writing a report loaded."""
    import subprocess
    import sys

    code = ("import sys, layer_builders as tc\n"
            "from compiler.estimate.cost import estimate\n"
            "from compiler.workflow.report import build_report, write_report\n"
            "g = tc.graph(tc.swg(), tc.mvtu('m', mw=36, mh=8, nv=9, simd=4))\n"
            f"files = write_report(build_report('s', estimate(g, 100.0, 64)), {str(tmp_path)!r})\n"
            "assert files[2].read_bytes()[:4] == b'\\x89PNG'\n"
            "print('matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=__import__("pathlib").Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

def test_synth_counts_shown_beside_the_estimate_only_for_the_same_folding(tmp_path):
    """write_report picks up a synth.json of the same design (layer names and foldings) and shows it in the
    table, JSON and plot; one from another folding is left out."""
    g = tc.graph(tc.swg(), tc.mvtu("m", mw=36, mh=8, nv=9, simd=4))
    rep = build_report("small", estimate(g, 100.0, 64), get_board("Pynq-Z2"))
    est = {l["name"]: l for l in rep["layers"]}
    layers = [{"name": n, "folding": {"pe": est[n]["pe"], "simd": est[n]["simd"]},
               "synth": {"LUT": 100 + i, "FF": 50, "LUTRAM": 0, "BRAM18": 1, "DSP": 0},
               "estimated": {"LUT": 90, "FF": 40, "LUTRAM": 0, "BRAM18": 1, "DSP": 0}}
              for i, n in enumerate(l.name for l in g.layers)]
    synth = {"tool": "Yosys 0.23", "part": "xc7z020clg400-1", "layers": layers,
             "total": {"LUT": 300, "FF": 120, "LUTRAM": 0, "BRAM18": 2, "DSP": 0},
             "estimated_total": {"LUT": 250, "FF": 100, "LUTRAM": 0, "BRAM18": 2, "DSP": 0}}
    d = tmp_path / "b"
    d.mkdir()
    (d / "synth.json").write_text(json.dumps(synth))
    files = write_report(rep, d)
    got = json.loads(files[0].read_text())["synth"]
    assert got["layers"]["m"]["synth"]["LUT"] == 101 and got["total"]["LUT"] == 300
    assert got["layers"]["m"]["estimated"]["LUT"] == 90
    txt = files[1].read_text()
    assert "synthesized (Yosys 0.23, xc7z020clg400-1) beside estimated; total LUT synth/est = 1.20" in txt
    assert "300/250" in txt and "101/90" in txt and files[2].read_bytes()[:4] == b"\x89PNG"
    layers[1]["folding"]["simd"] = 2                               # synthesized at another folding: stale
    (d / "synth.json").write_text(json.dumps(synth))
    files = write_report(rep, d)
    assert "synth" not in json.loads(files[0].read_text()) and "synthesized" not in files[1].read_text()
