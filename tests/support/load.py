"""Bounded keep-alive HTTP load: N clients, no retries, every failure counted.

Each client holds one HTTP/1.1 keep-alive connection (http.client reconnects only when the
server itself announced ``Connection: close``). A request fails when it gets a non-2xx status
or any transport error; nothing is retried. The run stops at ``stop()``, after
``max_seconds`` or after ``max_requests`` in total, whichever comes first.
"""
from __future__ import annotations

import collections
import http.client
import threading
import time
import typing as t
from dataclasses import dataclass, field


@dataclass
class LoadReport:
    requests: int = 0
    ok: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)
    bodies: collections.Counter = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f}s, {self.failed} failed "
                f"(statuses {dict(self.statuses)}, errors {dict(self.errors)}), "
                f"p50 {self.percentile(0.5) * 1000:.1f} ms, p99 {self.percentile(0.99) * 1000:.1f} ms, "
                f"bodies {dict(self.bodies)}")


class KeepAliveLoad:
    def __init__(self, address: str, port: int, host_header: str, path: str = "/", clients: int = 8,
                 max_seconds: float = 120.0, max_requests: int = 200_000, timeout: float = 10.0,
                 body_key: t.Callable[[str], str] | None = None):
        self.address, self.port, self.host_header, self.path = address, port, host_header, path
        self.clients, self.max_seconds, self.max_requests, self.timeout = clients, max_seconds, max_requests, timeout
        self.body_key = body_key or (lambda body: body.split(" ", 1)[0])
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> "KeepAliveLoad":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _client in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> LoadReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.report.seconds = time.monotonic() - self._started
        return self.report

    def _should_stop(self) -> bool:
        return (self._stop.is_set() or time.monotonic() - self._started > self.max_seconds
                or self.report.requests >= self.max_requests)

    def _client(self) -> None:
        connection = http.client.HTTPConnection(self.address, self.port, timeout=self.timeout)
        headers = {"Host": self.host_header, "Connection": "keep-alive"}
        while not self._should_stop():
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            body = ""
            try:
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read().decode("utf-8", errors="replace").strip()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
                connection.close()  # the next request opens a new connection; this one is counted as failed
            self._record(status, error, body, time.monotonic() - started)
        connection.close()

    def _record(self, status: int | None, error: str | None, body: str, latency: float) -> None:
        with self._lock:
            self.report.requests += 1
            self.report.latencies.append(latency)
            if error:
                self.report.errors[error] += 1
                return
            self.report.statuses[status] += 1
            if status is not None and 200 <= status < 300:
                self.report.ok += 1
                self.report.bodies[self.body_key(body)] += 1


def main(argv: list[str] | None = None) -> int:
    """``python3 -m tests.support.load ADDRESS[,ADDRESS...] HOST_HEADER [options] -- COMMAND...``

    Load on every address while COMMAND runs; prints one summary per address and, last, a JSON line
    ``{"requests": N, "failed": N, "commandrc": N}``. Exits non-zero if COMMAND failed or any request failed.
    """
    import argparse
    import json
    import subprocess
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("addresses", help="comma-separated addresses, one load per address")
    parser.add_argument("host_header")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--path", default="/")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive clients per address")
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        loads = {}
        for address in args.addresses.split(","):
            load = KeepAliveLoad(address, args.port, args.host_header, args.path,
                                 clients=args.clients, max_seconds=args.max_seconds)
            loads[address] = stack.enter_context(load)
        returncode = subprocess.call(args.command)
    for address, load in loads.items():
        print(f"load on {address} during `{' '.join(args.command)}`: {load.report.summary()}")
    failed = sum(load.report.failed for load in loads.values())
    print(json.dumps({"requests": sum(load.report.requests for load in loads.values()), "failed": failed,
                      "commandrc": returncode}))
    return returncode or (1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(main())
