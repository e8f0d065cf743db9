# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container run options: what users may set under ``options`` and how each maps onto the engine.

Both the config validator (controller) and the container module (target) use this table,
so an option is accepted, checked and applied in exactly one way.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._values import (CONTROL_CHARACTERS, as_float, as_int,
                                                                           scalar_text, show)

SIZE_PATTERN = re.compile(r"(?P<number>[0-9]{1,19})(?P<unit>[bkmg]?)b?", re.IGNORECASE)
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
MAX_BYTES = 2 ** 63 - 1  # the engine's int64
PUBLISH_PATTERN = re.compile(
    r"(?:(?P<address>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>[0-9]{0,5}):)?"
    r"(?P<port>[0-9]{1,5})(?:/(?P<proto>tcp|udp))?")


class OptionError(ValueError):
    """A bad option value; the message names what is allowed."""


def size_bytes(value: t.Any) -> int | None:
    """Bytes of a size: a number, or a number with b, k, m or g (and an optional b: 512mb); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = SIZE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    return int(match.group("number")) * SIZE_UNITS[match.group("unit").lower()] if match else None


def _size(value: t.Any) -> t.Any:
    if not 1 <= (size_bytes(value) or 0) <= MAX_BYTES:
        raise OptionError("is not a size (bytes as a number, or a number with b, k, m or g, e.g. 512m or 1g)")
    return value if isinstance(value, int) else str(value).lower()


def _swap_size(value: t.Any) -> t.Any:
    """memory_swap: a size, or -1 for unlimited swap."""
    return -1 if as_int(value) == -1 else _size(value)


def _cpus(value: t.Any) -> int:
    cpus = as_float(value)
    if cpus is None or not 0 < cpus <= 1024:
        raise OptionError("is not a number of CPUs (e.g. 0.5 or 2)")
    return int(cpus * 1_000_000_000)


def _whole(low: int, high: int) -> t.Callable[[t.Any], int]:
    def whole(value: t.Any) -> int:
        number = as_int(value)
        if number is None or not low <= number <= high:
            raise OptionError(f"is not a whole number ({low}-{high})")
        return number
    return whole


def _line(value: t.Any) -> str:
    """A non-empty string or number on one line."""
    text = scalar_text(value)
    if not text:
        raise OptionError("is not a non-empty string")
    if CONTROL_CHARACTERS.search(text):
        raise OptionError("holds a line break or another control character")
    return text


def _string(value: t.Any) -> str:
    if isinstance(value, float):
        raise OptionError("is not a non-empty string")
    return _line(value)


def _boolean(value: t.Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError("is not true or false")
    return value


def _string_list(value: t.Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise OptionError("is not a list of strings")
    return [_line(item) for item in value]


def _string_map(value: t.Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise OptionError("is not a mapping of names to values")
    mapped = {}
    for key, item in value.items():
        text = "" if item is None else scalar_text(item)
        if text is None or CONTROL_CHARACTERS.search(key + text):
            raise OptionError(f"has {key!r}: {show(item)}, not a string or number on one line")
        mapped[_line(key)] = text
    return mapped


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
        if not all(isinstance(v, int) and not isinstance(v, bool) and -1 <= v <= MAX_BYTES for v in (soft, hard)):
            raise OptionError(f"has a limit for {show(name)} that is not a whole number (-1 for unlimited)")
        if hard != -1 and (soft == -1 or soft > hard):
            raise OptionError(f"has a soft limit above the hard limit for {show(name)}")
        limits.append({"name": _line(name), "soft": soft, "hard": hard})
    return sorted(limits, key=lambda item: item["name"])


def parse_publish(value: str) -> tuple[str, tuple[str, int | None]]:
    """``[address:][host_port:]port[/proto]`` -> (``port/proto``, (address, host_port))."""
    match = PUBLISH_PATTERN.fullmatch(value)
    if not match:
        raise OptionError(f"entry {show(value)} is not [address:][host_port:]container_port[/tcp|udp]")
    address = (match.group("address") or "").strip("[]")
    host_port = int(match.group("host")) if match.group("host") else None
    for port in (host_port, int(match.group("port"))):
        if port is not None and not 1 <= port <= 65535:
            raise OptionError(f"entry {show(value)} has a port out of range (1-65535)")
    container_port = f"{match.group('port')}/{match.group('proto') or 'tcp'}"
    return container_port, (address, host_port)


def parse_volume(value: str) -> tuple[str, str, str]:
    """``SOURCE:/container/path[:ro|rw]`` -> (source, container path, mode)."""
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/") or (
            len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise OptionError(f"{show(value)} is not SOURCE:/container/path[:ro|rw]")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else "rw"


HEALTHCHECK_KEYS = ("cmd", "interval", "timeout", "retries", "start_period")
NANOSECONDS = 1_000_000_000


def _seconds(value: t.Any, what: str) -> int:
    seconds = as_float(value)
    if seconds is None or not 0.001 <= seconds <= 86400:
        raise OptionError(f"has {what} {show(value)}, not a number of seconds (0.001-86400)")
    return int(seconds * NANOSECONDS)


def _healthcheck(value: t.Any) -> dict[str, t.Any]:
    """Docker's HEALTHCHECK: ``{cmd, interval, timeout, retries, start_period}`` (seconds) -> the engine's form."""
    if not isinstance(value, dict) or not value.get("cmd"):
        raise OptionError("is not a mapping with cmd (e.g. {cmd: pg_isready, interval: 2})")
    unknown = sorted(str(key) for key in value if key not in HEALTHCHECK_KEYS)
    if unknown:
        raise OptionError(f"has unknown keys {', '.join(unknown)} (allowed: {', '.join(HEALTHCHECK_KEYS)})")
    cmd = value["cmd"]
    if isinstance(cmd, str) and "\x00" not in cmd:
        test = ["CMD-SHELL", cmd]
    elif isinstance(cmd, list) and cmd and all(isinstance(arg, str) and arg and "\x00" not in arg for arg in cmd):
        test = ["CMD", *cmd]
    else:
        raise OptionError("has a cmd that is not a command (a string run by /bin/sh, or a list)")
    retries = as_int(value.get("retries", 3))
    if retries is None or not 1 <= retries <= 1000:
        raise OptionError(f"has retries {show(value.get('retries'))}, not a whole number (1-1000)")
    return {
        "test": test,
        "interval": _seconds(value.get("interval", 2), "interval"),
        "timeout": _seconds(value.get("timeout", 5), "timeout"),
        "retries": retries,
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
    "memory_swap": (_swap_size, "memswap_limit"),
    "shm_size": (_size, "shm_size"),
    "cpus": (_cpus, "nano_cpus"),
    "cpu_shares": (_whole(2, 262144), "cpu_shares"),  # the kernel's range
    "pids_limit": (_whole(1, 4194304), "pids_limit"),  # the kernel's largest pid_max
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
            problems.append((name, f"{show(value)} {exc}"))
    return normalized, problems
