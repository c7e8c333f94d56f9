"""The proof that a restructuring changed no output: digests of everything bnnc generates for the benchmark models.

Each model of the FINN tier (tests/finn/make_builds.py: TFC-W1A1/W2A2, CNV-W1A1, TFC top-2, the residual,
MobileNet-style and pool models, three hand-built IR graphs) is compiled as `bnnc compile --verify --board pynq-z2`
compiles it; then `bnnc hls --no-synth` writes the HLS project and `bnnc bitstream --rtl` writes the Verilog and
its Vivado Tcl (and stops at the missing Vivado: only the generated files are read). Every generated file --
graph.json and arrays.npz, finn_dataflow.onnx and its folding, the cost report (report.json/.txt), build_config.json,
verify.json, hls/ (C++, weights, Tcl), rtl/ (Verilog, ROM files, Tcl) -- is hashed (SHA-256).
Only the command-line interface is used, so the same script runs unchanged on a checkout before and after a move
of modules. Files whose bytes name the build folder (absolute paths) are hashed after the folder is replaced by a
placeholder.

    .venv/bin/python benchmarks/output_digests.py runs/digests                      # this checkout
    .venv/bin/python benchmarks/output_digests.py runs/digests --baseline 06cee99   # and REV's, then compare
    ... --baseline REV --show-diff        # also print the changed lines of each differing text file

With --baseline, REV is checked out in a temporary git worktree and this script runs there against REV's code
(this venv), then both digest tables are compared file by file; the exit code is 1 when any file differs or is
missing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HASHED = ("graph.json", "arrays.npz", "finn_dataflow.onnx", "finn_folding.json", "report.json", "report.txt",
          "build_config.json", "verify.json", "hls", "rtl")
SKIP_DIRS = {"output", "obj_dir", "__pycache__"}            # tool outputs, not generated sources


def bnnc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`bnnc ARGS` from this checkout (PYTHONPATH), in a child so a failing tool step cannot stop the sweep."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    # cwd=REPO: `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH
    r = subprocess.run([sys.executable, "-c", "import bnnc; bnnc.main()", *args], env=env, capture_output=True,
                       text=True, cwd=REPO)
    if check and r.returncode:
        raise SystemExit(f"bnnc {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r


def digest(path: Path, build: Path) -> str:
    data = path.read_bytes()
    for form in (str(build.resolve()), str(build)):
        data = data.replace(form.encode(), b"<BUILD>")
    return hashlib.sha256(data).hexdigest()


def digests(out: Path) -> dict[str, str]:
    """Build every model into out/builds, generate both backends, and hash what was generated."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    builds = out / "builds"
    subprocess.run([sys.executable, str(REPO / "tests" / "finn" / "make_builds.py"), str(builds), "--frames", "4"],
                   env=env, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    table: dict[str, str] = {}
    for b in sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (b / "build_config.json").is_file():          # compiled builds (the IR graphs have no build config)
            bnnc("hls", str(b), "--no-synth")
            bnnc("bitstream", str(b), "--rtl", check=False)  # writes rtl/ and its Tcl, then stops: no Vivado here
        for name in HASHED:
            top = b / name
            files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()
                                                        and not SKIP_DIRS & set(p.relative_to(top).parts))
            for f in files:
                table[f"{b.name}/{f.relative_to(b)}"] = digest(f, b)
        print(f"{b.name}: {sum(k.startswith(b.name + '/') for k in table)} files", flush=True)
    (out / "digests.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    return table


def show_diff(name: str, new_builds: Path, old_builds: Path) -> None:
    """The changed lines of a differing text file (build folders replaced by <BUILD>), so a reader sees what changed."""
    import difflib

    def lines(builds: Path) -> list[str]:
        f, b = builds / name, builds / name.split("/")[0]
        try:
            text = f.read_text()
        except (OSError, UnicodeDecodeError):
            return ["<binary or unreadable>"]
        return text.replace(str(b.resolve()), "<BUILD>").replace(str(b), "<BUILD>").splitlines()

    for line in list(difflib.unified_diff(lines(old_builds), lines(new_builds), lineterm="", n=0))[2:]:
        if not line.startswith("@@"):
            print(f"    {line}")


def compare(new: dict[str, str], old: dict[str, str], new_builds: Path | None = None,
            old_builds: Path | None = None) -> int:
    differ = sorted(k for k in new.keys() & old.keys() if new[k] != old[k])
    only_new, only_old = sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())
    for title, names in (("differ", differ), ("only in this checkout", only_new), ("only in the baseline", only_old)):
        for n in names:
            print(f"{title}: {n}")
            if title == "differ" and new_builds is not None:
                show_diff(n, new_builds, old_builds)
    same = len(new.keys() & old.keys()) - len(differ)
    print(f"{same} files identical, {len(differ)} differ, {len(only_new)} only here, {len(only_old)} only in baseline")
    return 1 if differ or only_new or only_old else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--baseline", help="git revision to compare with (checked out in a temporary worktree)")
    p.add_argument("--show-diff", action="store_true", help="print the changed lines of each differing text file")
    a = p.parse_args(argv)
    a.out = a.out.resolve()         # the tool runs below use cwd=REPO
    a.out.mkdir(parents=True, exist_ok=True)
    new = digests(a.out / "current")
    print(f"{len(new)} generated files hashed -> {a.out / 'current' / 'digests.json'}")
    if not a.baseline:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(wt), a.baseline], check=True,
                       capture_output=True)
        try:
            # this copy of the script runs against REV's tree, so both sides hash the same list of files
            script = wt / "benchmarks" / "output_digests.py"
            script.parent.mkdir(exist_ok=True)
            script.write_text(Path(__file__).read_text())
            subprocess.run([sys.executable, str(script), str(a.out / "baseline-run")], check=True)
            old = json.loads((a.out / "baseline-run" / "current" / "digests.json").read_text())
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(wt)], capture_output=True)
    if a.show_diff:
        return compare(new, old, a.out / "current" / "builds", a.out / "baseline-run" / "current" / "builds")
    return compare(new, old)


if __name__ == "__main__":
    sys.exit(main())
