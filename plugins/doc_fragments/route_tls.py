# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The C(tls) option of a route (plan: berth_plan.roles.<role>.proxy.tls); its spec is TLS_OPTIONS in
plugins/module_utils/_proxy/__init__.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tls:
    description:
      - HTTPS of the route, as in C(berth_plan.roles.<role>.proxy.tls) (docs/proxy.md). Omit for plain HTTP.
      - With I(mode=acme) the route is served on the C(websecure) entrypoint with a certificate from the
        proxy's ACME resolver (C(berth_proxy.acme), role M(berth.deploy.proxy)); with I(mode=certificate) with
        the route's own certificate, installed by M(berth.deploy.release) under C(<config_dir>/certs).
    type: dict
    suboptions:
      mode:
        description: V(off) (plain HTTP), V(acme) or V(certificate).
        type: str
        default: "off"
        choices: ["off", acme, certificate]
      redirect:
        description: Plain HTTP answers a permanent redirect to HTTPS (the health path excepted); V(false) serves both.
        type: bool
        default: true
      port:
        description: The host's HTTPS port (C(berth_proxy.https_port)), where the redirect points.
        type: int
        default: 443
      hsts:
        description: Send C(Strict-Transport-Security) over HTTPS; omit for none.
        type: dict
        suboptions:
          max_age:
            description: Seconds browsers remember to use HTTPS.
            type: int
            default: 31536000
          include_subdomains:
            description: Add C(includeSubDomains).
            type: bool
            default: false
          preload:
            description: Add C(preload).
            type: bool
            default: false
"""
