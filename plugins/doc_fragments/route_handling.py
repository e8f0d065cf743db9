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
      error_pages:
        description:
          - Answers with one of these statuses get the page C(<url>/<route>/<status>.html) as their body, status kept
            (C(playbooks/setup.yml) runs the page server; C(pages) are written for it as the route is). Omit for none.
        type: dict
        suboptions:
          codes:
            description: The statuses that have a page, e.g. V([502, 503, 504]).
            type: list
            elements: int
            required: true
          url:
            description: The page server, reachable from the proxy (C(berth_plan.proxy.pages_url)).
            type: str
            required: true
          dir:
            description: The controller directory the pages came from (for reference).
            type: str
          pages:
            description: Status -> the page's HTML (C(berth_plan) reads them from the controller directory).
            type: dict
            default: {}
"""
