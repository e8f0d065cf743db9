# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The values of the secret log options of berth_logging (the plan holds only their names)."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: log_secret_options
short_description: The secret log driver options of berth_logging (the plan holds only their names)
version_added: 0.2.0
description:
  - C(berth_plan.logging.options) holds only options that tune rotation, format or buffering; every
    other option of C(berth_logging.options) (a token, a URL) is a secret whose name is in
    C(berth_plan.logging.secret_option_names). This reads their values from C(berth_logging) for a
    task that passes them no_log (O(berth.deploy.container#module:log_secret_options)).
author:
  - berth.deploy maintainers (@berth-deploy)
positional: names
options:
  _input:
    description: The C(berth_logging) variable (or an empty mapping).
    type: raw
    required: true
  names:
    description: C(berth_plan.logging.secret_option_names).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Run a container with the secret log options
  berth.deploy.container:
    log_secret_options: "{{ berth_logging | default({}, true)
                            | berth.deploy.log_secret_options(berth_plan.logging.secret_option_names) }}"
    # ...
"""

RETURN = r"""
_value:
  description: Option name -> value (a string).
  type: dict
"""


def log_secret_options(berth_logging: t.Any, names: t.Iterable[str]) -> dict[str, str]:
    options = berth_logging.get("options") if isinstance(berth_logging, t.Mapping) else None
    options = options if isinstance(options, t.Mapping) else {}
    by_name = {str(name): value for name, value in options.items()}
    return {name: str(by_name[name]) for name in names if name in by_name}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"log_secret_options": log_secret_options}
