"""The content digest of a generated project's sources (HLS and RTL alike): what decides whether a tool output
still belongs to them."""
from __future__ import annotations

import hashlib


def digest_texts(files: dict[str, str]) -> str:
    """sha256 over (relative path, text) pairs in path order; the generator's `source_digest`."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    return h.hexdigest()
