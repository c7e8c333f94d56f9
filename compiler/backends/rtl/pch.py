"""A precompiled verilated.h for Verilator builds: every model file and every harness parses Verilator's headers
again (~0.35 CPU-s of a small file's ~0.5 s); g++ parses them once per Verilator version, compiler and flags instead.

The header is compiled with exactly the command make would run for a model file (a dry run of make on a probe
model), so g++ accepts it; a header g++ finds unusable is ignored (it reads verilated.h itself), so a mismatch costs
speed, never correctness. The objects are byte-identical with and without it. Kept beside the Verilator model cache
(`<cache>.pch/<key>/`), made once under the cache's per-key lock; without a cache there is none.
"""
from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
from pathlib import Path

from compiler.backends.cache import shared_folder

HEADER = "bnnc_verilated.h"
PROBE = "Vbnnc_probe"


def verilated_pch(verilator: str, make_flags: tuple[str, ...], toolchain: str, cache: Path | None) -> Path | None:
    """A folder holding HEADER and HEADER.gch, to compile with `-include HEADER -I<folder>`; None without a cache,
    when the folder's path would need quoting on make's command line, or when the header cannot be made.
    `toolchain`: the Verilator version and the C++ compiler's identity."""
    if cache is None:
        return None
    entry = cache.with_name(f"{cache.name}.pch") / hashlib.sha256(
        "\n".join((toolchain, *make_flags)).encode()).hexdigest()
    if shlex.quote(str(entry)) != str(entry):
        return None

    def make(tmp: Path) -> bool:
        (tmp / HEADER).write_text('#include "verilated.h"\n')
        probe = tmp / "probe"
        probe.mkdir()
        (probe / "probe.v").write_text("module bnnc_probe(input clk);\nendmodule\n")
        res = subprocess.run([verilator, "--cc", "probe.v", "--prefix", PROBE, "--Mdir", "obj"], cwd=probe,
                             capture_output=True, text=True)
        if res.returncode:
            return False
        dry = subprocess.run(["make", "-n", "--no-print-directory", "-f", f"{PROBE}.mk", "OBJCACHE=", *make_flags,
                              f"{PROBE}.o"], cwd=probe / "obj", capture_output=True, text=True)
        line = next((ln for ln in dry.stdout.splitlines() if f" -o {PROBE}.o " in f"{ln} "), None)
        if dry.returncode or line is None:
            return False
        drop = {"-c", "-MMD", f"{PROBE}.o", f"{PROBE}.cpp"}
        args = [a for a in shlex.split(line) if a not in drop and a != "-o"]
        res = subprocess.run([*args, "-x", "c++-header", str(tmp / HEADER), "-o", str(tmp / f"{HEADER}.gch")],
                             cwd=probe / "obj", capture_output=True, text=True)
        shutil.rmtree(probe)
        return res.returncode == 0

    return shared_folder(entry, f"{HEADER}.gch", make)


def pch_flags(folder: Path | None) -> str:
    """The options (for OPT_FAST) that make g++ use the precompiled header in `folder` ('' for none)."""
    return f" -include {HEADER} -I{folder}" if folder is not None else ""
