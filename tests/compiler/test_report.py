"""Report: verdict against the budget, table rows, JSON/PNG files."""
import json

import test_cost as tc
from boards.catalog import get_board
from compiler.cost import estimate
from compiler.report import CONV_NOTE, build_report, format_table, write_report


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

    code = ("import sys, test_cost as tc\n"
            "from compiler.cost import estimate\n"
            "from compiler.report import build_report, write_report\n"
            "g = tc.graph(tc.swg(), tc.mvtu('m', mw=36, mh=8, nv=9, simd=4))\n"
            f"files = write_report(build_report('s', estimate(g, 100.0, 64)), {str(tmp_path)!r})\n"
            "assert files[2].read_bytes()[:4] == b'\\x89PNG'\n"
            "print('matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=__import__("pathlib").Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
