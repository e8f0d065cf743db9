# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probing and waiting: interval, per-try timeout, overall deadline; a container's health three ways."""
from __future__ import annotations

import http.client
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BODY_EXCERPT_BYTES = 512
# A container that does not listen yet refuses at once and costs its app nothing: ask again this soon,
# not a whole interval later (a booting app is then seen ready within this much of it).
NOT_LISTENING_RETRY = 0.05


@dataclass
class Probe:
    """The outcome of one try: ``healthy`` decides, ``status``/``detail`` explain."""
    healthy: bool
    status: int | str | None = None
    detail: str = ""
    final: bool = False  # no point trying again (the container exited, say)
    not_listening: bool = False  # refused at once: try again soon (NOT_LISTENING_RETRY), not after an interval


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
        return Probe(False, "unreachable", f"{type(exc).__name__}: {exc}",
                     not_listening=isinstance(exc, ConnectionRefusedError))
    finally:
        connection.close()


def wait_until(probe: t.Callable[[], Probe], interval: float, deadline: float,
               clock: t.Callable[[], float] = time.monotonic,
               sleep: t.Callable[[float], None] = time.sleep) -> WaitResult:
    """Call ``probe`` every ``interval`` seconds until healthy, final, or ``deadline`` seconds passed.

    A probe that found nobody listening is repeated after NOT_LISTENING_RETRY instead; such quick
    repeats are not counted as attempts (only answered or timed-out tries are)."""
    started = clock()
    attempts = 0
    last = Probe(False, None, "not probed")
    while True:
        last = probe()
        attempts += 0 if last.not_listening and attempts else 1
        elapsed = clock() - started
        if last.healthy or last.final:
            return WaitResult(last.healthy, attempts, round(elapsed, 3), last)
        remaining = deadline - elapsed
        if remaining <= 0:
            return WaitResult(False, attempts, round(elapsed, 3), last)
        sleep(min(NOT_LISTENING_RETRY if last.not_listening else interval, remaining))


@dataclass
class ContainerCheck:
    """How to decide that a container is healthy: ``http`` (2xx from its address), ``docker`` (its
    HEALTHCHECK) or ``running`` (still running after ``readiness_delay``)."""
    mode: str = "http"
    port: int | None = None
    path: str = "/up"
    network: str | None = None
    host_header: str | None = None
    interval: float = 1
    timeout: float = 5
    deadline: float = 30
    readiness_delay: float = 0
    url: str | None = None

    def effective_deadline(self) -> float:
        return max(self.deadline, self.readiness_delay + self.interval)


class ContainerProbe:
    """One container's health, probed the way ``check.mode`` says; ``address_of`` reads its address."""

    def __init__(self, container: t.Any, check: ContainerCheck,
                 address_of: t.Callable[[t.Any, str | None], str | None]):
        self.container = container
        self.check = check
        self.address_of = address_of
        self.url: str | None = check.url
        self.started = time.monotonic()

    def __call__(self) -> Probe:
        return getattr(self, self.check.mode)()

    def stopped(self) -> Probe | None:
        self.container.reload()
        state = self.container.attrs.get("State") or {}
        if state.get("Running") and not state.get("Restarting"):
            return None
        return Probe(False, state.get("Status"), f"container is {state.get('Status')} "
                     f"(exit code {state.get('ExitCode')})", final=not state.get("Restarting"))

    def http(self) -> Probe:
        if self.url is None:
            stopped = self.stopped()  # also reloads: a container's address is known once it started
            if stopped:
                return stopped
            address = self.address_of(self.container, self.check.network)
            if address is None:
                return Probe(False, "no address", "container has no address yet", not_listening=True)
            self.url = f"http://{address}:{self.check.port}{self.check.path}"
        probe = http_probe(self.url, self.check.timeout, self.check.host_header)
        return probe if probe.healthy else self.stopped() or probe

    def docker(self) -> Probe:
        stopped = self.stopped()
        if stopped:
            return stopped
        health = (self.container.attrs.get("State") or {}).get("Health")
        if not health:
            return Probe(False, "no healthcheck", "the image defines no HEALTHCHECK: use mode=http or mode=running",
                         final=True)
        log = health.get("Log") or []
        return Probe(health.get("Status") == "healthy", health.get("Status"),
                     (log[-1].get("Output") or "").strip() if log else "")

    def running(self) -> Probe:
        stopped = self.stopped()
        if stopped:
            return stopped
        ready = time.monotonic() - self.started >= self.check.readiness_delay
        return Probe(ready, "running", "" if ready else "within readiness_delay")


def outcome(result: WaitResult, url: str | None) -> dict[str, t.Any]:
    """A wait's result as the healthcheck module and the release report it."""
    found = dict(healthy=result.healthy, attempts=result.attempts, elapsed=result.elapsed,
                 status=result.last.status, body=result.last.detail)
    if url:
        found["url"] = url
    return found


def failure_message(name: str, found: dict[str, t.Any], logs: list[str], deadline: float) -> str:
    where = f"GET {found['url']} " if found.get("url") else ""
    lines = [f"{name} did not become healthy within {deadline:g}s after {found['attempts']} attempts: "
             f"{where}last status {found['status']!r}: {found['body'][:200]!r}"]
    if logs:
        lines.append(f"Last {len(logs)} log lines of {name}:")
        lines.extend(f"  {line}" for line in logs)
    return "\n".join(lines)
