# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's audit log (``/var/log/berth/<service>-deploys[-<destination>].log``): one line per deploy,
rollback, exec, maintenance switch or removal, written only here.

Every value is escaped before it is written: control characters (a newline in ``berth_message``, a
maintenance message or an exec command) become their backslash escapes, so no value can end its
line or write a second one that looks like a real entry.
"""
from __future__ import annotations

import os
import re
import shlex
import time
import typing as t

KEY = re.compile(r"[a-z][a-z0-9_]*")


def escape(text: t.Any) -> str:
    """``text`` on one line: every character that is not printable (newline, carriage return, escape,
    Unicode line and paragraph separators, ...) becomes its backslash escape."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(text))


def quoted(text: t.Any) -> str:
    """``text`` escaped, then shell-quoted when it has spaces or quotes: one word of the line."""
    return shlex.quote(escape(text))


def stamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def line(when: float, fields: t.Iterable[tuple[str, t.Any]]) -> str:
    """``<UTC time> key=value ...``; a None value leaves its field out. Keys are lower-case words."""
    words = [stamp(when)]
    for key, value in fields:
        if not KEY.fullmatch(key):
            raise ValueError(f"audit field {key!r} is not a lower-case word")
        if value is not None:
            words.append(f"{key}={quoted(value)}")
    return " ".join(words)


def append(path: str, text: str) -> None:
    """Append one line (``text`` must be one, as ``line`` makes it) to the log at ``path`` (0640)."""
    if "\n" in text or "\r" in text:
        raise ValueError("an audit line must not contain a line break")
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(text + "\n")
