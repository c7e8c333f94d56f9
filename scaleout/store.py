"""The output folder of a sweep: one <key>.json per finished item, written atomically (temporary file + rename), so
a killed run leaves whole items or none, and a rerun skips what is already there."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from scaleout.task import TaskResult


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and os.replace: readers see the old file or
    the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class ResultStore:
    """out_dir/<key>.json holds a finished (successful) item; out_dir/<key>.error.txt the traceback of the last
    failed attempt (removed when the item later succeeds). Failed items are not stored as done: a rerun retries
    them."""

    def __init__(self, out_dir: Path):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def load(self, key: str) -> TaskResult | None:
        """The stored result of `key`, or None when it is absent or unreadable (then it runs again)."""
        try:
            d = json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(d, dict) or d.get("key") != key or not d.get("ok"):
            return None
        return TaskResult.from_json(d, skipped=True)

    def save(self, r: TaskResult) -> None:
        err = self.dir / f"{r.key}.error.txt"
        if r.ok:
            write_atomic(self.path(r.key), json.dumps(r.to_json(), indent=1) + "\n")
            err.unlink(missing_ok=True)
        else:
            write_atomic(err, f"{r.error}\n\n{r.traceback or ''}")
