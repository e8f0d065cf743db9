# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per berth role, its own HTTPS certificate and key (berth_roles.<role>.proxy.ssl as a mapping)."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: route_certificates
short_description: Per berth role, its own HTTPS certificate and private key (the plan holds neither)
version_added: 0.2.0
description:
  - C(berth_plan.roles.<role>.proxy.tls.mode) is V(certificate) when C(berth_roles.<role>.proxy.ssl) is a
    mapping C({certificate, private_key}). The plan does not hold them; this reads them for a task that
    passes them no_log (M(berth.deploy.release), option C(tls_certificates)).
author:
  - berth.deploy maintainers (@berth-deploy)
positional: berth_roles
options:
  _input:
    description: Role names.
    type: list
    elements: str
    required: true
  berth_roles:
    description: The C(berth_roles) variable.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Release every role of this host
  berth.deploy.release:
    tls_certificates: "{{ berth_plan.host_roles | berth.deploy.route_certificates(berth_roles) }}"
    # ...
"""

RETURN = r"""
_value:
  description: Role name -> C({certificate, private_key}), for the roles that have their own certificate.
  type: dict
"""


def route_certificates(roles: t.Iterable[str], berth_roles: t.Any) -> dict[str, dict[str, str]]:
    found = {}
    for role in roles:
        settings = berth_roles.get(role) if isinstance(berth_roles, t.Mapping) else None
        proxy = settings.get("proxy") if isinstance(settings, t.Mapping) else None
        ssl = proxy.get("ssl") if isinstance(proxy, t.Mapping) else None
        if isinstance(ssl, t.Mapping):
            found[role] = {"certificate": ssl.get("certificate"), "private_key": ssl.get("private_key")}
    return found


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"route_certificates": route_certificates}
