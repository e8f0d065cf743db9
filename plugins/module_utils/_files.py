# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the target: atomic, mode-exact writes that report whether anything changed."""
from __future__ import annotations

import os
import stat
import tempfile


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
