"""App container names carry a short spec hash (``shop-web-v2-3f2a1c9``, ``-2`` when taken): what
tests compare is the role and version before it."""
from __future__ import annotations

import re

BOOT_HASH = re.compile(r"-[0-9a-f]{7}(?:-[0-9]+)?$")
BOOT_HASH_IN_TEXT = re.compile(r"(?<=[A-Za-z0-9_.])-[0-9a-f]{7}(?:-[0-9]+)?(?=[\s:,.;'\")\]/]|$)", re.M)


def without_boot_hash(name: str) -> str:
    """``shop-web-v2-3f2a1c9`` -> ``shop-web-v2``."""
    return BOOT_HASH.sub("", name)


def without_boot_hashes(text: str) -> str:
    """Every app container name in ``text`` without its spec hash."""
    return BOOT_HASH_IN_TEXT.sub("", text)
