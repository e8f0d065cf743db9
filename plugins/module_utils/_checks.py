# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading configuration values: the Checker that collects every problem, and the readers that
more than one part of the configuration uses (environments, volumes).

``_config`` (the app), ``_accessory``, ``_rails`` and ``_hooks`` all read through one Checker, so a
problem is phrased and collected the same way wherever it is found.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._options import OptionError, parse_volume
from ansible_collections.berth.deploy.plugins.module_utils._values import (  # noqa: F401 (show: for every reader)
    CONTROL_CHARACTERS, MAX_INT_DIGITS, as_float, as_int, is_huge_int, kind, scalar_text, show)

ENV_KEYS = ("clear", "secret")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A systemd calendar event (OnCalendar=): daily, Mon..Fri 03:00, *-*-* 04:00:00 Europe/Berlin.
CALENDAR_PATTERN = re.compile(r"[A-Za-z0-9 ,:*./~+_-]{1,200}")
HIDDEN = "(the value is not shown: it may hold a secret)"
ABSOLUTE_PATH_PATTERN = re.compile(r"/\S*")
URL_PATH_PATTERN = re.compile(r"/[^\s`]*")  # a backtick would end a proxy rule's string


class Checker:
    """Collects problems while reading values; every reader returns a usable value.

    Readers given ``secret=True`` (or ``secret()``) read a value that is, or may contain, a secret:
    their problems name the path and what is allowed, never the value.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def mapping(self, path: str, value: t.Any, allowed: t.Sequence[str] | None = None,
                secret: bool = False) -> dict[str, t.Any]:
        """A mapping (None reads as empty); keys outside ``allowed`` are problems (``None``: any key)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"is {kind(value)}, not a mapping {HIDDEN}" if secret else f"{show(value)} is not a mapping")
            return {}
        for key in value if allowed is not None else ():
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def string(self, path: str, value: t.Any, pattern: re.Pattern[str] | None = None,
               allowed: str = "", required: bool = False) -> str:
        """One line of text matching all of ``pattern``; a number reads as its text."""
        if value is None or value == "":
            if required:
                self.problem(path, "is required" + (f" ({allowed})" if allowed else ""))
            return ""
        text = scalar_text(value)
        if text is None:
            self.problem(path, f"{show(value)} is not a string")
            return ""
        if CONTROL_CHARACTERS.search(text):
            self.problem(path, f"{show(text)} holds a line break or another control character")
            return ""
        if pattern is not None and not pattern.fullmatch(text):
            self.problem(path, f"{show(text)} is not allowed ({allowed})")
        return text

    def secret(self, path: str, value: t.Any, required: bool = False) -> bool:
        """A secret value (a non-empty string or number on one line), never shown; -> whether it is usable."""
        if value is None or value == "":
            if required:
                self.problem(path, "is required: a secret is a non-empty string "
                                   "(keep it in Ansible Vault)")
            return False
        text = scalar_text(value)
        if text is None:
            self.problem(path, f"is {kind(value)}, not a string {HIDDEN}")
            return False
        if CONTROL_CHARACTERS.search(text):
            self.problem(path, f"holds a line break or another control character {HIDDEN}")
            return False
        return True

    def integer(self, path: str, value: t.Any, low: int, high: int, what: str = "") -> int:
        number = as_int(value)
        if number is None or not low <= number <= high:
            self.problem(path, f"{show(value)} is not {what or 'a whole number'} ({low}-{high})")
            return low
        return number

    def number(self, path: str, value: t.Any, low: float, high: float) -> float:
        number = as_float(value)
        if number is None or not low <= number <= high:
            self.problem(path, f"{show(value)} is not a number of seconds ({low}-{high})")
            return low
        return number

    def boolean(self, path: str, value: t.Any) -> bool:
        if not isinstance(value, bool):
            self.problem(path, f"{show(value)} is not true or false")
            return False
        return value

    def string_list(self, path: str, value: t.Any) -> list[str]:
        """One line of text, or a list of them."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            self.problem(path, f"{show(value)} is not a list of strings")
            return []
        for index, item in enumerate(value):
            if CONTROL_CHARACTERS.search(item):
                self.problem(f"{path}[{index}]", f"{show(item)} holds a line break or another control character")
                return []
        return list(value)


MAX_DEPTH = 32


def unreadable(path: str, value: t.Any) -> list[str]:
    """Problems that make a value unsafe to read any further: a number too large to write out, nesting
    deeper than any setting, a YAML alias that contains itself. Keys are read like values."""
    problems: list[str] = []
    pending: list[tuple[str, t.Any, int, frozenset[int]]] = [(path, value, 0, frozenset())]
    while pending and len(problems) < 10:
        where, item, depth, parents = pending.pop()
        if is_huge_int(item):
            problems.append(f"{where}: is a number too large for any setting (more than {MAX_INT_DIGITS} digits)")
        elif isinstance(item, (dict, list, tuple)):
            if id(item) in parents:
                problems.append(f"{where}: contains itself (a YAML alias loop)")
            elif depth >= MAX_DEPTH:
                problems.append(f"{where}: is nested deeper than {MAX_DEPTH} levels")
            else:
                inner = parents | {id(item)}
                entries = item.items() if isinstance(item, dict) else enumerate(item)
                for key, entry in entries:
                    below = f"{where}.{key}" if isinstance(key, str) else f"{where}[{show(key)}]"
                    if isinstance(item, dict) and not isinstance(key, str):
                        pending.append((f"{where} (a key)", key, depth + 1, inner))
                    pending.append((below, entry, depth + 1, inner))
    return problems


def read_env(check: Checker, path: str, value: t.Any) -> tuple[dict[str, str], list[str]]:
    """-> (clear variables as strings, names of secret variables)."""
    env = check.mapping(path, value, ENV_KEYS, secret=True)
    clear: dict[str, str] = {}
    # not a mapping: hidden, since a string here is often a misplaced "NAME=secret" line
    for name, item in check.mapping(f"{path}.clear", env.get("clear"), secret=True).items():
        where = f"{path}.clear.{name}"
        if not ENV_NAME_PATTERN.fullmatch(str(name)):
            check.problem(where, "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
        elif isinstance(item, bool):
            clear[str(name)] = "true" if item else "false"
        elif scalar_text(item) is None:
            check.problem(where, f"{show(item)} is not a string, number or boolean")
        else:
            clear[str(name)] = check.string(where, item)
    secret_names: list[str] = []
    for name, item in check.mapping(f"{path}.secret", env.get("secret"), secret=True).items():
        if not ENV_NAME_PATTERN.fullmatch(str(name)):
            check.problem(f"{path}.secret.{name}", "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
        elif check.secret(f"{path}.secret.{name}", item, required=True):
            secret_names.append(str(name))
    return clear, sorted(secret_names)


def read_volumes(check: Checker, path: str, value: t.Any) -> list[str]:
    volumes = check.string_list(path, value or [])
    sources: dict[str, str] = {}
    for index, volume in enumerate(volumes):
        try:
            source, mount_path, _mode = parse_volume(volume)
        except OptionError:
            check.problem(f"{path}[{index}]", f"{show(volume)} is not SOURCE:/container/path[:ro|rw]")
            continue
        if source in sources:
            check.problem(f"{path}[{index}]", f"{show(volume)}: {source} is already mounted at {sources[source]}"
                                              " (one mount per source)")
        sources[source] = mount_path
    return volumes
