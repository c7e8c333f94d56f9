"""FINN's resource estimate beside ours in a build's report: report.json gains "finn", report.txt shows both.

Usage: python -m compiler.workflow.finn_report BUILD [BUILD ...]   (after tests/finn/finn_check.py wrote
BUILD/finn_estimate.json)
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from compiler.backends.finn.compare import finn_comparison, format_comparison
from compiler.workflow.report import write_report


def attach(build: str | os.PathLike) -> dict[str, Any]:
    """Add FINN's estimate to the build's report (report.json gains "finn"; report.txt shows both)."""
    d = Path(build)
    for f in ("report.json", "finn_estimate.json"):
        if not (d / f).exists():
            raise FileNotFoundError(f"{d / f} missing: compile with --board (report.json) and run "
                                    "tests/finn/finn_check.py (finn_estimate.json) first")
    rep = json.loads((d / "report.json").read_text())
    rep["finn"] = finn_comparison(rep, json.loads((d / "finn_estimate.json").read_text()))
    write_report(rep, d, plot=False)       # the plot has no FINN numbers: the build's report.png stays as drawn
    return rep


def main(argv: list[str] | None = None) -> int:
    for b in argv if argv is not None else sys.argv[1:]:
        try:
            rep = attach(b)
        except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
            print(f"{b}: {e}", file=sys.stderr)
            return 1
        print(f"{b}:\n{format_comparison(rep['finn'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
