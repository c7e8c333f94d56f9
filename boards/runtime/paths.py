"""Paths named in deploy.json stay inside the deployment folder.

Why: deploy.json is data (it may come with a folder copied from anywhere); a field such as
`"bitfile": "../../etc/passwd"` or `"hls": "/somewhere/else"` must not make the runtime load, compile or run
files outside the folder the user pointed it at.
"""
from __future__ import annotations

import os
from pathlib import Path

from boards.runtime.errors import AcceleratorError


def confined(root: str | os.PathLike, rel: object, field: str, source: str | os.PathLike) -> Path:
    """root/rel, after checking that `rel` is a relative path that stays inside `root` (symlinks resolved).

    `field` and `source` (the deploy.json file) name the value in the error message."""
    where = f"{source}: '{field}'"
    if not isinstance(rel, str) or not rel:
        raise AcceleratorError(f"{where} must be a non-empty relative path string, got {rel!r}")
    if os.path.isabs(rel) or "\0" in rel:
        raise AcceleratorError(f"{where} = {rel!r} must be relative to the deployment folder")
    base = Path(root).resolve()
    path = (base / rel).resolve()
    if path != base and base not in path.parents:
        raise AcceleratorError(f"{where} = {rel!r} points outside the deployment folder {Path(root)}")
    return path
