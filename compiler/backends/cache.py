"""Build outputs shared by content between projects, test workers and runs: C-sim binaries (compiler.backends.hls.csim) and
Verilator models (compiler.backends.rtl.verilator). An entry is one executable named by the sha256 of everything
it depends on; a per-key lock makes concurrent builders of the same key (e.g. two pytest-xdist workers) build it
once: the second waits, then reuses the first one's binary. Precompiled headers (`shared_folder`) are kept the same
way, one folder per key."""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator

OFF = ("", "0", "off", "none")


def cache_dir(env: str, name: str) -> Path | None:
    """$env if set ('' or 'off' disables the cache), else $XDG_CACHE_HOME/bnnc/<name> (~/.cache/bnnc/<name>)."""
    v = os.environ.get(env)
    if v is not None:
        return None if v.strip().lower() in OFF else Path(v).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bnnc" / name


@functools.cache
def compiler_id(cxx: str) -> str:
    """The compiler's resolved path and version banner: a different g++ builds a different binary."""
    path = shutil.which(cxx) or cxx
    try:
        ver = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        ver = ""
    return f"{Path(path).resolve()}\n{ver}"


@contextlib.contextmanager
def entry_lock(entry: Path) -> Iterator[None]:
    """Hold an exclusive lock on cache entry `entry` while it is looked up and built (a file in the sibling folder
    <cache>.locks, so the cache folder holds binaries only). An unusable folder is not an error: the build then
    runs unlocked (and the install will warn)."""
    locks = entry.parent.with_name(f"{entry.parent.name}.locks")
    try:
        locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks / entry.name, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                     # closing releases the lock


def install(src: Path, dst: Path) -> None:
    """Copy src to dst atomically (readers never see a half-written executable)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def reuse_or_build(entry: Path | None, exe: Path, stamp: Path, digest: str, build: Callable[[], float],
                   warn: Callable[[str], None]) -> tuple[float, bool]:
    """Put the executable for `digest` at `exe` (its stamp file records the digest): copied from cache entry
    `entry` if there, else `build()` (returns seconds) and then stored as `entry`. Returns (seconds, reused).
    With entry None (cache off) it always builds. Concurrent callers with one entry build it once."""
    with entry_lock(entry) if entry is not None else contextlib.nullcontext():
        stamp.unlink(missing_ok=True)
        if entry is not None and entry.is_file():
            install(entry, exe)
            stamp.write_text(digest)
            return 0.0, True
        seconds = build()
        stamp.write_text(digest)
        if entry is not None:
            try:
                install(exe, entry)
            except OSError as e:                  # an unwritable cache costs a rebuild later, nothing else
                warn(f"build cache {entry.parent} not written: {e}")
    return seconds, False


def shared_folder(entry: Path, marker: str, make: Callable[[Path], bool]) -> Path | None:
    """The folder `entry`, made once under its lock: `make(tmp)` fills a temporary folder beside it and returns
    whether it succeeded (it must then hold `marker`), and the folder is renamed into place whole, so readers see it
    complete or not at all. None when `make` fails or the folder cannot be written (the caller then does without)."""
    with entry_lock(entry):
        if (entry / marker).is_file():
            return entry
        tmp = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=entry.parent))
            if not make(tmp) or not (tmp / marker).is_file():
                return None
            shutil.rmtree(entry, ignore_errors=True)       # a half-made entry of an interrupted run
            tmp.rename(entry)
            tmp = None
        except OSError:
            return None
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
    return entry
