# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: terraform_output
short_description: Terraform outputs, sensitive ones included, read when a task needs them
version_added: 0.1.0
description:
  - Returns the value of each named Terraform output, reading the sources of a
    P(berth.deploy.terraform_state#inventory) inventory file.
  - The inventory plugin leaves sensitive outputs out of the inventory, so C(ansible-inventory) never
    prints them, and lists their names with their inventory file in C(berth_tf_sensitive_outputs).
    This lookup finds the file there, so C(lookup('berth.deploy.terraform_output', 'db_password'))
    needs no more arguments.
  - Use it where the value is kept secret, e.g. C(berth_env.secret) (every berth role handles it with
    C(no_log)). Values are never templated.
  - The sources are read once per inventory file and process.
author:
  - berth.deploy maintainers (@berth-deploy)
options:
  _terms:
    description: Output names.
    required: true
    type: list
    elements: str
  inventory:
    description:
      - The C(*.terraform_state.yml) inventory file whose sources hold the outputs. By default the one
        C(berth_tf_sensitive_outputs) names for the output.
    type: path
"""

EXAMPLES = r"""
# inventories/terraform/group_vars/all.yml
berth_env:
  clear:
    DB_HOST: "{{ db_host }}"              # a plain output: already a variable
  secret:
    DATABASE_PASSWORD: "{{ lookup('berth.deploy.terraform_output', 'db_password') }}"
"""

RETURN = r"""
_raw:
  description: The outputs' values, in the order of the terms.
  type: list
  elements: raw
"""

import os
import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate
from ansible_collections.berth.deploy.plugins.plugin_utils import _tfsources

READ: dict[str, dict[str, t.Any]] = {}  # inventory file -> every output of its sources


class LookupModule(LookupBase):

    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[t.Any]:
        self.set_options(var_options=variables, direct=kwargs)
        known = (variables or {}).get("berth_tf_sensitive_outputs") or {}
        values = []
        for term in terms:
            name = str(term)
            inventory = self.get_option("inventory") or known.get(name)
            if not inventory:
                raise AnsibleLookupError(
                    f"berth.deploy.terraform_output: {name} is not a sensitive output of a berth.deploy.terraform_state "
                    "inventory (see berth_tf_sensitive_outputs); give inventory=PATH to its inventory file")
            outputs = self._outputs_of(str(inventory))
            if name not in outputs:
                raise AnsibleLookupError(f"berth.deploy.terraform_output: no output {name} in the sources of {inventory}")
            values.append(_tfsources.untemplated(outputs[name]))
        return values

    def _outputs_of(self, inventory: str) -> dict[str, t.Any]:
        path = os.path.abspath(inventory)
        if path not in READ:
            try:
                config = self._loader.load_from_file(path) or {}
                documents = _tfsources.read_documents(config.get("sources"), os.path.dirname(path))
            except (_tfsources.SourceError, _tfstate.StateError) as error:
                raise AnsibleLookupError(f"berth.deploy.terraform_output: {path}: {error}") from None
            outputs: dict[str, t.Any] = {}
            for document in documents:
                outputs.update(document.outputs)
                outputs.update(document.sensitive_outputs)
            READ[path] = outputs
        return READ[path]
