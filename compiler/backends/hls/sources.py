"""Content digest of a generated HLS project's sources: what decides whether a tool output (C-sim binary, HLS
IP, bitstream) still belongs to them.

Why a content digest: project.json's `source_digest` is only what the generator claimed; sources edited (or
replaced) afterwards must not be paired with a binary or bitstream built from the originals.
"""
from __future__ import annotations

import os
from pathlib import Path

from compiler.backends.digest import digest_texts

SOURCE_DIRS = ("src", "include", "tb")
SOURCE_FILES = ("hls.tcl", "vivado.tcl")


def project_sources(project: str | os.PathLike) -> dict[str, str]:
    """Every source file of `project` as it is on disk (relative path -> text); extra files count too."""
    project = Path(project)
    files = {}
    for d in SOURCE_DIRS:
        for f in sorted((project / d).rglob("*")):
            if f.is_file():
                files[f.relative_to(project).as_posix()] = f.read_text(errors="surrogateescape")
    for name in SOURCE_FILES:
        if (project / name).is_file():
            files[name] = (project / name).read_text(errors="surrogateescape")
    return files


def sources_digest(project: str | os.PathLike) -> str | None:
    """Content digest of the project's sources on disk; None when it has none (or cannot be read)."""
    try:
        files = project_sources(project)
    except OSError:
        return None
    return digest_texts(files) if files else None
