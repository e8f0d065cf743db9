# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the target: atomic, mode-exact writes that report whether anything changed."""
from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import time
import typing as t


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def needs_write(path: str, content: str, mode: int) -> bool:
    if read_text(path) != content:
        return True
    return stat.S_IMODE(os.stat(path).st_mode) != mode


def write_atomic(path: str, content: str, mode: int, dir_mode: int = 0o755) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename.

    Readers (a proxy watching the directory, say) see the old file or the new one, never a
    partial one. The temporary name ends in ``.tmp`` so watchers that pick files by
    extension ignore it.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def ensure_file(path: str, content: str, mode: int, check_mode: bool) -> bool:
    """Make ``path`` hold ``content`` with ``mode``; return whether that changed anything."""
    if not needs_write(path, content, mode):
        return False
    if not check_mode:
        write_atomic(path, content, mode)
    return True


def remove_file(path: str, check_mode: bool) -> bool:
    if not os.path.exists(path):
        return False
    if not check_mode:
        os.unlink(path)
    return True


class FileLock:
    """An exclusive lock on this host that a dead process cannot hold (flock on ``path``), waited for up to
    ``wait`` seconds; TimeoutError names ``what`` holds it."""

    def __init__(self, path: str, wait: float, what: str = "another process"):
        self.path = path
        self.wait = wait
        self.what = what
        self.handle: t.Any = None
        self.waited = 0.0

    def __enter__(self) -> "FileLock":
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        self.handle = open(self.path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.waited = round(time.monotonic() - started, 3)
                return self
            except BlockingIOError:
                if time.monotonic() - started >= self.wait:
                    self.handle.close()
                    raise TimeoutError(f"{self.what} is still running on this host ({self.path} held for "
                                       f"{self.wait:g}s)") from None
                time.sleep(0.05)

    def __exit__(self, *exc: t.Any) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
