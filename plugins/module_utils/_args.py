# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs the modules share; documented once in plugins/doc_fragments/service.py."""
from __future__ import annotations

import typing as t

SERVICE_ARGS: dict[str, dict[str, t.Any]] = dict(
    service=dict(type="str", required=True),
    destination=dict(type="str", default=""),
)
ROLE_ARGS: dict[str, dict[str, t.Any]] = dict(
    role=dict(type="str", required=True),
)
