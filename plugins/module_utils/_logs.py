# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container logs: Docker's ``--since`` syntax, a bounded tail of (matching) lines, reading one container."""
from __future__ import annotations

import collections
import datetime
import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _docker

DURATION_PATTERN = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|ms|s|m|h))+")
DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)")
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
TIMESTAMP_PATTERN = re.compile(r"[0-9]{9,}(?:\.[0-9]+)?")
SINCE_ALLOWED = ("a duration before now like 10m, 1h30m or 45s; a time like 2026-01-22T05:00:00Z "
                 "or a date like 2026-01-22 (UTC unless it has an offset); or a Unix timestamp")


class SinceError(ValueError):
    """The value is not in Docker's --since syntax."""


def since_epoch(text: str, now: float) -> int:
    """Docker's ``--since``: a duration before ``now``, an RFC 3339 time or date, or a Unix timestamp -> epoch seconds."""
    value = str(text).strip()
    if DURATION_PATTERN.fullmatch(value):
        seconds = sum(float(number) * DURATION_UNITS[unit] for number, unit in DURATION_PART.findall(value))
        return max(1, int(now - seconds))
    if TIMESTAMP_PATTERN.fullmatch(value):
        return max(1, int(float(value)))
    try:
        moment = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise SinceError(f"{value!r} is not {SINCE_ALLOWED}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return max(1, int(moment.timestamp()))


class LineTail:
    """The last ``keep`` lines of a byte stream fed in chunks, optionally only those matching ``pattern``.

    With ``timestamps`` (Docker's ``--timestamps`` prefix on every line), the pattern is matched
    against the message after the timestamp.
    """

    def __init__(self, keep: int, pattern: re.Pattern[str] | None = None, timestamps: bool = False):
        self.lines: collections.deque[str] = collections.deque(maxlen=max(keep, 0))
        self.pattern = pattern
        self.timestamps = timestamps
        self.pending = b""
        self.seen = 0

    def feed(self, chunk: bytes | str | None) -> None:
        if not chunk:
            return
        data = self.pending + (chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        *complete, self.pending = data.split(b"\n")
        for raw in complete:
            self._add(raw)

    def finish(self) -> list[str]:
        if self.pending:
            self._add(self.pending)
            self.pending = b""
        return list(self.lines)

    def _add(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        self.seen += 1
        message = line.split(" ", 1)[-1] if self.timestamps else line
        if self.pattern is None or self.pattern.search(message):
            self.lines.append(line)


def read(container: t.Any, lines: int, since: int | None = None, pattern: re.Pattern[str] | None = None,
         timestamps: bool = False) -> list[str]:
    """The last ``lines`` log lines (stdout and stderr) of ``container``, only those matching ``pattern`` if given.

    Without a pattern Docker cuts the tail; with one every line since ``since`` is read as a
    stream and only the last ``lines`` matches are kept in memory. Never raises: a log driver
    that cannot be read yields one line saying so.
    """
    tail = LineTail(lines, pattern, timestamps)
    try:
        if pattern is None:
            tail.feed(container.logs(stdout=True, stderr=True, tail=lines, since=since, timestamps=timestamps))
        else:
            for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False, since=since,
                                        timestamps=timestamps):
                tail.feed(chunk)
    except Exception as exc:  # the SDK raises several types here (API errors, a driver without reading)
        return [f"<logs unavailable: {_docker.explain(exc)}>"]
    return tail.finish()


def stamp_key(stamp: str) -> tuple[str, int]:
    """A Docker log timestamp (RFC 3339 with up to 9 fraction digits, trailing zeros cut) as a sortable key."""
    whole, _dot, fraction = stamp.rstrip("Z").partition(".")
    return whole, int((fraction + "000000000")[:9] or 0)


def read_after(container: t.Any, cursor: str, lines: int, pattern: re.Pattern[str] | None = None,
               show_timestamps: bool = False) -> tuple[list[str], str]:
    """The lines logged after ``cursor`` (a Docker timestamp; "" for the last ``lines``), and the new cursor: a
    follower calls it again and again (logs.yml -e logs_follow=true), each call printing only what is new."""
    since = since_epoch(cursor, 0) if cursor else None
    found = read(container, lines if not cursor else 100000, since, pattern, timestamps=True)
    fresh = [line for line in found if " " in line and (not cursor or stamp_key(line.split(" ", 1)[0]) > stamp_key(cursor))]
    fresh = fresh[-lines:]
    new_cursor = fresh[-1].split(" ", 1)[0] if fresh else cursor
    return [line if show_timestamps else line.split(" ", 1)[1] for line in fresh], new_cursor
