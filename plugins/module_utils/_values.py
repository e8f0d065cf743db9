# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration values as text: reading numbers and strings without surprises, showing a value in a message.

Both the config validator (controller) and the container options (target) use these, so a value
is read and shown in one way. Nothing here raises on any input.
"""
from __future__ import annotations

import math
import re
import typing as t

# Line breaks (also the Unicode ones str.splitlines() honours), NUL and the other control characters:
# a configuration value is one line, so it cannot add a line to a unit file, an env file or a log.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
# A whole number given as a string: ASCII digits only (str.isdigit() also accepts "²", which int() refuses).
INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}")
# A number this large cannot be written out (Python refuses int <-> str beyond 4300 digits): no setting needs it.
MAX_INT_BITS = 256
MAX_INT_DIGITS = 77  # the digits of 2 ** 256


def is_huge_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS


def scalar_text(value: t.Any) -> str | None:
    """The text of a string or a number (None for anything else, a boolean or a number too large to write)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or is_huge_int(value):
        return None
    return str(value)


def as_int(value: t.Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    return None


def as_float(value: t.Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def kind(value: t.Any) -> str:
    """What a value is, without its contents: for a value that may be a secret."""
    if isinstance(value, bool):
        return "a boolean"
    for types, name in ((str, "a string"), ((int, float), "a number"), (dict, "a mapping"), (list, "a list")):
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


def show(value: t.Any) -> str:
    """A short, printable form of a value that is not a secret."""
    if is_huge_int(value):
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return kind(value)
    return text if len(text) <= 60 else text[:57] + "..."
