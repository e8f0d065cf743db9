# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The C(handling) option of a route (plan: berth_plan.roles.<role>.proxy.handling); its spec is
HANDLING_OPTIONS in plugins/module_utils/_proxy/__init__.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  handling:
    description: How the route's requests reach the app, as in C(berth_plan.roles.<role>.proxy.handling) (docs/proxy.md).
    type: dict
    suboptions:
      path_prefixes:
        description: Further path prefixes the route takes besides O(path_prefix).
        type: list
        elements: str
        default: []
      strip_path_prefix:
        description: The app sees the path without the matched prefix.
        type: bool
        default: false
      buffering:
        description:
          - The proxy reads the whole request and response before passing them on (Traefik buffers both once
            this is set). Omit for streaming.
        type: dict
        suboptions:
          max_request_body:
            description: Larger request bodies get 413 (bytes; 0 is no limit).
            type: int
            default: 0
          max_response_body:
            description: Larger response bodies get 500 (bytes; 0 is no limit).
            type: int
            default: 0
"""
