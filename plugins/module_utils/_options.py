# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container run options: what users may set under ``options`` and how each maps onto the engine.

Both the config validator (controller) and the container module (target) use this table,
so an option is accepted, checked and applied in exactly one way.
"""
from __future__ import annotations

import re
import typing as t

SIZE_PATTERN = re.compile(r"^[0-9]+([bkmg]b?)?$", re.IGNORECASE)
PUBLISH_PATTERN = re.compile(
    r"^(?:(?P<address>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>[0-9]*):)?"
    r"(?P<port>[0-9]+)(?:/(?P<proto>tcp|udp))?$")


class OptionError(ValueError):
    """A bad option value; the message names what is allowed."""


def _size(value: t.Any) -> t.Any:
    if isinstance(value, bool) or not (isinstance(value, int) or SIZE_PATTERN.match(str(value))):
        raise OptionError("is not a size (bytes as a number, or a number with b, k, m or g, e.g. 512m or 1g)")
    return value if isinstance(value, int) else str(value).lower()


def _cpus(value: t.Any) -> int:
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise OptionError("is not a number of CPUs (e.g. 0.5 or 2)") from None
    if isinstance(value, bool) or not 0 < cpus <= 1024:
        raise OptionError("is not a number of CPUs (e.g. 0.5 or 2)")
    return int(cpus * 1_000_000_000)


def _positive_int(value: t.Any) -> int:
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise OptionError("is not a positive whole number")
    return int(value)


def _string(value: t.Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise OptionError("is not a non-empty string")
    return str(value)


def _boolean(value: t.Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError("is not true or false")
    return value


def _string_list(value: t.Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise OptionError("is not a list of strings")
    return list(value)


def _string_map(value: t.Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise OptionError("is not a mapping of names to values")
    return {key: str(item) for key, item in value.items()}


def _labels(value: t.Any) -> dict[str, str]:
    labels = _string_map(value)
    reserved = sorted(key for key in labels if key.startswith("berth."))
    if reserved:
        raise OptionError(f"uses the reserved label prefix 'berth.' ({', '.join(reserved)})")
    return labels


def _ulimits(value: t.Any) -> list[dict[str, t.Any]]:
    if not isinstance(value, dict):
        raise OptionError("is not a mapping like {nofile: 65536} or {nofile: {soft: 1024, hard: 65536}}")
    limits = []
    for name, limit in value.items():
        if isinstance(limit, dict):
            soft, hard = limit.get("soft"), limit.get("hard")
        else:
            soft = hard = limit
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (soft, hard)):
            raise OptionError(f"has a non-numeric limit for {name}")
        limits.append({"name": str(name), "soft": soft, "hard": hard})
    return sorted(limits, key=lambda item: item["name"])


def parse_publish(value: str) -> tuple[str, tuple[str, int | None]]:
    """``[address:][host_port:]port[/proto]`` -> (``port/proto``, (address, host_port))."""
    match = PUBLISH_PATTERN.match(value)
    if not match:
        raise OptionError(f"entry {value!r} is not [address:][host_port:]container_port[/tcp|udp]")
    address = (match.group("address") or "").strip("[]")
    host_port = int(match.group("host")) if match.group("host") else None
    for port in filter(None, (host_port, int(match.group("port")))):
        if not 1 <= port <= 65535:
            raise OptionError(f"entry {value!r} has a port out of range (1-65535)")
    container_port = f"{match.group('port')}/{match.group('proto') or 'tcp'}"
    return container_port, (address, host_port)


def parse_volume(value: str) -> tuple[str, str, str]:
    """``SOURCE:/container/path[:ro|rw]`` -> (source, container path, mode)."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/") or (
            len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise OptionError(f"{value!r} is not SOURCE:/container/path[:ro|rw]")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else "rw"


HEALTHCHECK_KEYS = ("cmd", "interval", "timeout", "retries", "start_period")
NANOSECONDS = 1_000_000_000


def _seconds(value: t.Any, what: str) -> int:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"has {what} {value!r}, not a number of seconds") from None
    if isinstance(value, bool) or not 0.001 <= seconds <= 86400:
        raise OptionError(f"has {what} {value!r}, not a number of seconds (0.001-86400)")
    return int(seconds * NANOSECONDS)


def _healthcheck(value: t.Any) -> dict[str, t.Any]:
    """Docker's HEALTHCHECK: ``{cmd, interval, timeout, retries, start_period}`` (seconds) -> the engine's form."""
    if not isinstance(value, dict) or not value.get("cmd"):
        raise OptionError("is not a mapping with cmd (e.g. {cmd: pg_isready, interval: 2})")
    unknown = sorted(set(value) - set(HEALTHCHECK_KEYS))
    if unknown:
        raise OptionError(f"has unknown keys {', '.join(unknown)} (allowed: {', '.join(HEALTHCHECK_KEYS)})")
    cmd = value["cmd"]
    if isinstance(cmd, str):
        test = ["CMD-SHELL", cmd]
    elif isinstance(cmd, list) and cmd and all(isinstance(arg, str) and arg for arg in cmd):
        test = ["CMD", *cmd]
    else:
        raise OptionError("has a cmd that is not a command (a string run by /bin/sh, or a list)")
    retries = value.get("retries", 3)
    if isinstance(retries, bool) or not str(retries).isdigit() or not 1 <= int(retries) <= 1000:
        raise OptionError(f"has retries {retries!r}, not a whole number (1-1000)")
    return {
        "test": test,
        "interval": _seconds(value.get("interval", 2), "interval"),
        "timeout": _seconds(value.get("timeout", 5), "timeout"),
        "retries": int(retries),
        "start_period": _seconds(value["start_period"], "start_period") if value.get("start_period") else 0,
    }


def _publish(value: t.Any) -> list[str]:
    entries = _string_list(value)
    for entry in entries:
        parse_publish(entry)
    return entries


# option name -> (normalizer, Docker SDK create() keyword)
RUN_OPTIONS: dict[str, tuple[t.Callable[[t.Any], t.Any], str]] = {
    "memory": (_size, "mem_limit"),
    "memory_reservation": (_size, "mem_reservation"),
    "memory_swap": (_size, "memswap_limit"),
    "shm_size": (_size, "shm_size"),
    "cpus": (_cpus, "nano_cpus"),
    "cpu_shares": (_positive_int, "cpu_shares"),
    "pids_limit": (_positive_int, "pids_limit"),
    "user": (_string, "user"),
    "workdir": (_string, "working_dir"),
    "hostname": (_string, "hostname"),
    "stop_signal": (_string, "stop_signal"),
    "init": (_boolean, "init"),
    "read_only": (_boolean, "read_only"),
    "cap_add": (_string_list, "cap_add"),
    "cap_drop": (_string_list, "cap_drop"),
    "security_opt": (_string_list, "security_opt"),
    "extra_hosts": (_string_map, "extra_hosts"),
    "tmpfs": (_string_map, "tmpfs"),
    "sysctls": (_string_map, "sysctls"),
    "labels": (_labels, "labels"),
    "ulimits": (_ulimits, "ulimits"),
    "publish": (_publish, "ports"),
    "healthcheck": (_healthcheck, "healthcheck"),
}


def normalize_options(options: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[tuple[str, str]]]:
    """Return (normalized options, [(option, problem)]) for a user's ``options`` mapping."""
    normalized: dict[str, t.Any] = {}
    problems: list[tuple[str, str]] = []
    for name, value in (options or {}).items():
        if name not in RUN_OPTIONS:
            problems.append((name, f"is not a known option (known: {', '.join(sorted(RUN_OPTIONS))})"))
            continue
        try:
            normalized[name] = RUN_OPTIONS[name][0](value)
        except OptionError as exc:
            problems.append((name, f"{value!r} {exc}"))
    return normalized, problems
