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

ENV_KEYS = ("clear", "secret")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Checker:
    """Collects problems while reading values; every reader returns a usable value."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def mapping(self, path: str, value: t.Any, allowed: t.Sequence[str] | None = None) -> dict[str, t.Any]:
        """A mapping (None reads as empty); keys outside ``allowed`` are problems (``None``: any key)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"{show(value)} is not a mapping")
            return {}
        for key in value if allowed is not None else ():
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def string(self, path: str, value: t.Any, pattern: re.Pattern[str] | None = None,
               allowed: str = "", required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.problem(path, "is required" + (f" ({allowed})" if allowed else ""))
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(path, f"{show(value)} is not a string")
            return ""
        text = str(value)
        if pattern is not None and not pattern.match(text):
            self.problem(path, f"{show(text)} is not allowed ({allowed})")
        return text

    def integer(self, path: str, value: t.Any, low: int, high: int, what: str = "") -> int:
        number = as_int(value)
        if number is None or not low <= number <= high:
            self.problem(path, f"{show(value)} is not {what or 'a whole number'} ({low}-{high})")
            return low
        return number

    def number(self, path: str, value: t.Any, low: float, high: float) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if isinstance(value, bool) or number is None or not low <= number <= high:
            self.problem(path, f"{show(value)} is not a number of seconds ({low}-{high})")
            return low
        return number

    def boolean(self, path: str, value: t.Any) -> bool:
        if not isinstance(value, bool):
            self.problem(path, f"{show(value)} is not true or false")
            return False
        return value

    def string_list(self, path: str, value: t.Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            self.problem(path, f"{show(value)} is not a list of strings")
            return []
        return list(value)


def as_int(value: t.Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def show(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_env(check: Checker, path: str, value: t.Any) -> tuple[dict[str, str], list[str]]:
    """-> (clear variables as strings, names of secret variables)."""
    env = check.mapping(path, value, ENV_KEYS)
    clear: dict[str, str] = {}
    for name, item in check.mapping(f"{path}.clear", env.get("clear")).items():
        if not ENV_NAME_PATTERN.match(str(name)):
            check.problem(f"{path}.clear.{name}", "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
        elif item is None or isinstance(item, (dict, list)):
            check.problem(f"{path}.clear.{name}", f"{show(item)} is not a string, number or boolean")
        else:
            clear[str(name)] = env_string(item)
    secret_names: list[str] = []
    for name, item in check.mapping(f"{path}.secret", env.get("secret")).items():
        if not ENV_NAME_PATTERN.match(str(name)):
            check.problem(f"{path}.secret.{name}", "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
        elif item is None or item == "" or isinstance(item, (dict, list)):
            # never echo the value of a secret
            check.problem(f"{path}.secret.{name}", "is empty or not a string (the value is not shown)")
        else:
            secret_names.append(str(name))
    return clear, sorted(secret_names)


def env_string(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
