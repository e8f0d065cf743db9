# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options that select a berth service (and one of its berth roles); their spec is
plugins/module_utils/_args.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  service:
    description: The berth service (app), C(berth_service).
    type: str
    required: true
  destination:
    description: The destination (C(berth_destination), e.g. C(staging)); empty for none. Only its containers are touched.
    type: str
    default: ""
"""

    ROLE = r"""
options:
  role:
    description: The berth role (C(web), C(job), ...), a key of C(berth_roles).
    type: str
    required: true
"""
