# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probing and waiting: interval, per-try timeout, overall deadline."""
from __future__ import annotations

import http.client
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BODY_EXCERPT_BYTES = 512


@dataclass
class Probe:
    """The outcome of one try: ``healthy`` decides, ``status``/``detail`` explain."""
    healthy: bool
    status: int | str | None = None
    detail: str = ""
    final: bool = False  # no point trying again (the container exited, say)


@dataclass
class WaitResult:
    healthy: bool
    attempts: int
    elapsed: float
    last: Probe = field(default_factory=lambda: Probe(False))


def http_probe(url: str, timeout: float, host_header: str | None = None) -> Probe:
    """GET ``url`` once, without following redirects: 2xx is healthy."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Host": host_header or parts.netloc, "User-Agent": "berth-healthcheck",
                                                 "Connection": "close"})
        response = connection.getresponse()
        body = response.read(BODY_EXCERPT_BYTES).decode("utf-8", errors="replace")
        return Probe(200 <= response.status < 300, response.status, body.strip())
    except (OSError, http.client.HTTPException) as exc:
        return Probe(False, "unreachable", f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def wait_until(probe: t.Callable[[], Probe], interval: float, deadline: float,
               clock: t.Callable[[], float] = time.monotonic,
               sleep: t.Callable[[float], None] = time.sleep) -> WaitResult:
    """Call ``probe`` every ``interval`` seconds until healthy, final, or ``deadline`` seconds passed."""
    started = clock()
    attempts = 0
    last = Probe(False, None, "not probed")
    while True:
        attempts += 1
        last = probe()
        elapsed = clock() - started
        if last.healthy or last.final:
            return WaitResult(last.healthy, attempts, round(elapsed, 3), last)
        remaining = deadline - elapsed
        if remaining <= 0:
            return WaitResult(False, attempts, round(elapsed, 3), last)
        sleep(min(interval, remaining))
