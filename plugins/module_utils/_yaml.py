# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small YAML emitter for generated config files (targets may lack PyYAML).

Handles dicts, lists, strings, numbers, booleans and None; strings are always double-quoted
(JSON string syntax is valid YAML), so no value can change the document's structure.
"""
from __future__ import annotations

import json
import re
import typing as t

PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _scalar(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value))


def _key(key: t.Any) -> str:
    text = str(key)
    return text if PLAIN_KEY.fullmatch(text) and text.lower() not in ("true", "false", "null", "yes", "no", "on", "off") \
        else json.dumps(text)


def _lines(value: t.Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines.extend(_lines(item, indent + 1))
            else:
                lines.append(f"{pad}{_key(key)}: {_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _lines(item, indent + 1)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + _scalar(value)]


def _inline(value: t.Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(value: t.Any, header: str = "") -> str:
    body = "\n".join(_lines(value, 0)) + "\n"
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + body
