"""A precompiled header of the HLS library for C-simulation builds: `bnnc/bnnc.hpp` (with ap_int.h and hls_stream.h)
parsed by g++ once per library version, compiler and flags instead of in both translation units of every build.

A small design's g++ build drops from ~3.4 to ~2.0 CPU-s; the binary is byte-identical (the same code, only the
parse is reused). The header is kept beside the C-sim cache (csim_cache_dir) in `<cache>.pch/<key>/`, under the
same per-key lock, so concurrent builders (two pytest-xdist workers) make it once. Without a cache there is no
precompiled header: making one costs about as much as a build.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from compiler.backends.cache import shared_folder
from compiler.backends.digest import digest_texts

HEADER = "bnnc/bnnc.hpp"


def library_pch(project: Path, ap_types: Path, cxx: str, flags: tuple[str, ...], toolchain: str,
                cache: Path | None) -> Path | None:
    """A folder holding the project's library headers and `bnnc/bnnc.hpp.gch`, to put first on the include path
    with `-include bnnc/bnnc.hpp` (then every later include of the library is a no-op); None when the project has no
    library folder, there is no cache, or g++ cannot make the header (the build then parses the headers itself).
    A .gch that g++ finds unusable is ignored by g++, which reads the header copies beside it instead.
    `toolchain`: the digest of the ap_types headers, compiler and flags the C-sim build keys its binaries by."""
    lib = project / "include" / "bnnc"
    if cache is None or not (lib / "bnnc.hpp").is_file():
        return None
    headers = {f.name: f.read_text(errors="surrogateescape") for f in sorted(lib.glob("*.hpp"))}
    key = hashlib.sha256("\n".join((digest_texts(headers), toolchain)).encode())
    entry = cache.with_name(f"{cache.name}.pch") / key.hexdigest()

    def make(tmp: Path) -> bool:
        out = tmp / "bnnc"
        shutil.copytree(lib, out)
        res = subprocess.run([cxx, *flags, f"-I{ap_types.resolve()}", "-x", "c++-header", str(out / "bnnc.hpp"),
                              "-o", str(out / "bnnc.hpp.gch")], capture_output=True, text=True)
        return res.returncode == 0

    return shared_folder(entry, f"{HEADER}.gch", make)
