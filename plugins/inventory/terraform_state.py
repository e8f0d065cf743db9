# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: terraform_state
short_description: Servers, groups and outputs from Terraform state files
version_added: 0.1.0
description:
  - Reads Terraform (or OpenTofu) state and makes one host per instance of a server resource, keyed
    by its full address, so every C(count) index and C(for_each) key is a host of its own.
  - "State comes from O(sources), merged in order: a state file (format version 4, as
    C(terraform state pull) writes it), C(terraform show -json) (or C(tofu show -json)) in a project
    directory, or a backend read without the binary: S3, Terraform's HTTP backend (GitLab-managed
    state) and Terraform Cloud / HCP Terraform / Enterprise."
  - Server resource types and where their name, addresses and tags are come from a table of
    mappings (aws_instance, aws_spot_instance_request, hcloud_server, digitalocean_droplet,
    google_compute_instance, google_compute_instance_from_template, linode_instance, vultr_instance,
    openstack_compute_instance_v2 with its floating IP, scaleway_instance_server, oci_core_instance,
    azurerm_linux_virtual_machine and azurerm_virtual_machine through their NIC and public IP,
    proxmox_vm_qemu, proxmox_lxc, proxmox_virtual_environment_vm, proxmox_virtual_environment_container,
    libvirt_domain) that O(mappings) extends. A VM or container template (C(template = true)) is no host.
  - Each resource type without a mapping that looks like a server (its name ends in instance, server,
    vm, machine, droplet or container, and it holds an IP address) is named in one warning, since its
    instances are not hosts until O(mappings) maps it.
  - A state that gives no host (a destroyed or not yet applied one) warns, or fails with
    O(on_empty=error). A plan (C(terraform show -json PLANFILE)) is refused.
  - Groups come from tags or labels (O(group_by_tags), e.g. tag C(Role=web) -> group C(web), a berth
    role), from the resource type and module, and from C(keyed_groups)/C(groups)/C(compose).
  - Non-sensitive outputs become variables of O(outputs_group). Sensitive outputs, the attributes
    Terraform marks sensitive and those the providers declare sensitive (C(root_pass),
    C(default_password), C(admin_password), ... also in states of Terraform before 0.15, which mark
    none) are left out of the inventory; the names of sensitive
    outputs are listed in C(berth_tf_sensitive_outputs), and the P(berth.deploy.terraform_output#lookup)
    lookup reads their values when a task needs them.
  - Every value read from state is marked unsafe, so Ansible never templates it.
  - A missing or corrupt file, or a backend that cannot be read, is one error naming the source. The inventory file's name must end in
    C(.terraform_state.yml), C(.terraform_state.yaml), C(.tfstate.yml) or C(.tfstate.yaml).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: This plugin's name.
    required: true
    choices: [berth.deploy.terraform_state]
    type: str
  sources:
    description:
      - The states to read and merge, in order. Each item has one of these keys.
      - "C(path: FILE): a state file (or saved C(show -json) output). Relative paths start at the
        inventory file's directory."
      - "C(show: {project_dir, binary, workspace, timeout}): runs C(BINARY show -json) (C(terraform) by
        default, or C(tofu) or a path) in an initialized project directory; C(workspace) sets
        C(TF_WORKSPACE)."
      - "C(s3: {bucket, key, region, endpoint, profile, workspace, workspace_key_prefix, use_path_style,
        validate_certs}): the S3 backend's object; a workspace other than C(default) is read at
        C(<workspace_key_prefix>/<workspace>/<key>) (prefix C(env:) by default). Credentials come from
        the AWS chain (environment, C(profile), SSO, instance role). Needs boto3 on the controller."
      - "C(http: {address, username, password, validate_certs, ca_path, timeout}): Terraform's HTTP
        backend, read with GET and basic auth; for GitLab the address is
        C(https://GITLAB/api/v4/projects/ID/terraform/state/NAME), the user name yours and the password a
        token with the api scope. C(TF_HTTP_ADDRESS), C(TF_HTTP_USERNAME) and C(TF_HTTP_PASSWORD) are
        read as Terraform reads them."
      - "C(cloud: {organization, workspace, hostname, token, validate_certs, ca_path, timeout}): a Terraform
        Cloud, HCP Terraform or Enterprise workspace's current state, through the API. C(hostname) is
        C(app.terraform.io) by default (or C(TF_CLOUD_HOSTNAME)), C(organization) may come from
        C(TF_CLOUD_ORGANIZATION); the token from C(token), C(TF_TOKEN_<hostname>) (dots as C(_)) or the
        credentials file C(terraform login) writes."
      - Keep passwords and tokens in those environment variables rather than in the inventory file.
    type: list
    elements: dict
    required: true
  address:
    description: Which address becomes C(ansible_host); the other one is used when it is empty.
    type: str
    choices: [public, private]
    default: public
  hostnames:
    description:
      - How hosts are named, tried in order. V(name) is the server's name (C(tags.Name), C(name),
        C(label), ...), V(address) the resource instance's address. A name that two instances share
        falls through to the next way, and so does a name that is also a group's (a server called
        C(web) with tag C(Role=web)), with a warning, since Ansible cannot have a host and a group of one
        name. A host name that a O(keyed_groups) or O(groups) group takes is an error naming both.
    type: list
    elements: str
    default: [name, address]
  group_by_tags:
    description:
      - Tag (or label) keys whose value names the host's group; a comma-separated value puts the host
        in several groups. A tag list of bare words (C([web, job])) puts the host in each word's group
        when the key is V(*).
    type: list
    elements: str
    default: [Role, role]
  group_by_type:
    description:
      - Also put each host in C(tf_<resource type>) and, for resources in a module, in C(tf_module_<module>)
        for the module and each of its parents, each module call also without its count or for_each key
        (C(module.stack.module.node["a"]) gives C(tf_module_stack), C(tf_module_stack_module_node) and
        C(tf_module_stack_module_node__a__)).
    type: bool
    default: true
  outputs_group:
    description: The group whose variables the outputs become.
    type: str
    default: all
  mappings:
    description:
      - "More server resource types, or other paths for built-in ones:
        C({TYPE: {name: PATH, public: PATH, private: PATH, tags: PATH, template: PATH}}). A path is
        dotted attribute names and list indexes (C(network_interface.0.network_ip)), or a list of
        paths tried in order; C(*) is the first list item or map value that has one."
      - "C(a.0 -> b) reads C(a.0) as a resource id and goes on at C(b) of the instance with that id.
        C(<- TYPE[ATTR].b) goes on at C(b) of the C(TYPE) instance whose C(ATTR) is this instance's
        id (C(src <- ...): whose C(ATTR) is this instance's C(src)), for resources that point at the
        server, as C(<- openstack_compute_floatingip_associate_v2[instance_id].floating_ip)."
      - An address in CIDR notation (C(10.0.0.5/24)) gives its address; C(dhcp) and the like are none.
      - C(template) names attributes that are true on a template (not a host).
    type: dict
    default: {}
  on_empty:
    description:
      - What happens when the sources give no host at all (a destroyed state, a state not applied yet,
        or servers of types without a mapping). V(warn) goes on with an inventory of no hosts, with a
        warning naming the sources; V(error) fails the inventory source.
    type: str
    choices: [warn, error]
    default: warn
"""

EXAMPLES = r"""
# inventories/terraform/servers.terraform_state.yml
plugin: berth.deploy.terraform_state
sources:
  - path: ../../terraform/terraform.tfstate
  # - show: {project_dir: ../../terraform, binary: tofu}
  # - s3: {bucket: acme-tfstate, key: shop/terraform.tfstate, region: eu-west-1, workspace: production}
  # - http: {address: "https://gitlab.example.com/api/v4/projects/42/terraform/state/production",
  #          username: deployer}           # password: TF_HTTP_PASSWORD
  # - cloud: {organization: acme, workspace: shop-production}   # token: TF_TOKEN_app_terraform_io
address: public
group_by_tags: [Role]          # Role=web -> group web (a key of berth_roles)
keyed_groups:
  - key: berth_tf.tags.Environment | default('none')
    prefix: env
compose:
  berth_destination: berth_tf.tags.Environment | default('')
"""

import collections
import os
import re
import typing as t
from dataclasses import asdict

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate
from ansible_collections.berth.deploy.plugins.plugin_utils import _tfsources
from ansible_collections.berth.deploy.plugins.plugin_utils._tfsources import untemplated

GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "berth.deploy.terraform_state"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(
            (".terraform_state.yml", ".terraform_state.yaml", ".tfstate.yml", ".tfstate.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        data = None
        if use_cache:
            data = self._cache.get(cache_key)
        if data is None:
            data = self._read_sources(path)
            if self.get_option("cache"):
                self._cache[cache_key] = data
        self._populate(data)

    def _read_sources(self, path: str) -> dict[str, t.Any]:
        try:
            mappings = {**_tfstate.MAPPINGS, **_tfstate.user_mappings(self.get_option("mappings"))}
            documents = _tfsources.read_documents(self.get_option("sources"), os.path.dirname(path))
        except (_tfsources.SourceError, _tfstate.StateError) as error:
            raise AnsibleParserError(f"berth.deploy.terraform_state: {error}") from None
        found: dict[str, t.Any] = {"servers": [], "outputs": {}, "sensitive": {}, "unmapped": {},
                                   "sources": [], "resources": 0}
        output_sources: dict[str, str] = {}
        for document in documents:
            for server in _tfstate.servers(document, mappings):
                found["servers"].append({**asdict(server), "source": document.source})
            for resource_type, count in _tfstate.unmapped_servers(document, mappings).items():
                found["unmapped"].setdefault(resource_type, []).append(f"{count} in {document.source}")
            found["sources"].append(document.source)
            found["resources"] += sum(instance.mode == "managed" for instance in document.instances)
            for name, value in document.outputs.items():
                if name in output_sources and found["outputs"][name] != value:
                    self.display.warning(f"berth.deploy.terraform_state: output {name} of {document.source} "
                                         f"replaces the one of {output_sources[name]}")
                found["outputs"][name] = value
                output_sources[name] = document.source
            # the lookup terraform_output reads these from the same inventory file when a task needs one
            found["sensitive"].update(dict.fromkeys(document.sensitive_outputs, os.path.abspath(path)))
        return found

    def _populate(self, data: dict[str, t.Any]) -> None:
        self._report_missing(data)
        groups = [self._groups_of(server) for server in data["servers"]]
        names = self._host_names(data["servers"], {group for host_groups in groups for group in host_groups})
        strict = self.get_option("strict")
        for server, name, host_groups in zip(data["servers"], names, groups):
            self.inventory.add_host(name)
            public, private = server["public_ip"], server["private_ip"]
            ansible_host = (public or private) if self.get_option("address") == "public" else (private or public)
            berth_tf = {key: server[key] for key in ("address", "type", "module", "index", "name", "public_ip",
                                                     "private_ip", "tags", "source")}
            variables = {"berth_tf": berth_tf, "tf_attributes": server["attributes"]}
            if ansible_host:
                variables["ansible_host"] = ansible_host
            for key, value in variables.items():
                self.inventory.set_variable(name, key, untemplated(value))
            for group in host_groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            hostvars = self.inventory.get_host(name).get_vars()
            try:
                self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
                self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
            except AnsibleError as error:
                raise AnsibleParserError(f"berth.deploy.terraform_state: host {name} ({server['address']} in "
                                         f"{server['source']}): {error}") from None
        self._refuse_host_groups(data["servers"], names)
        group = self.inventory.add_group(self.get_option("outputs_group"))
        for key, value in data["outputs"].items():
            self.inventory.set_variable(group, key, untemplated(value))
        if data["sensitive"]:
            self.inventory.set_variable(group, "berth_tf_sensitive_outputs", untemplated(data["sensitive"]))

    def _report_missing(self, data: dict[str, t.Any]) -> None:
        """Warn once per unmapped server-like type; warn (or fail) when there is no host at all."""
        for resource_type, counts in sorted((data.get("unmapped") or {}).items()):
            self.display.warning(f"berth.deploy.terraform_state: {resource_type} looks like a server type but has no "
                                 f"mapping, so its instances ({', '.join(counts)}) are not hosts: add it to mappings "
                                 "(name, public, private, tags) if they are servers")
        if data["servers"]:
            return
        message = (f"berth.deploy.terraform_state: no hosts in {', '.join(data.get('sources') or ['the sources'])} "
                   f"({data.get('resources', 0)} managed resource instances, none of a server type): a destroyed or "
                   "not yet applied state, or server types that need mappings")
        if self.get_option("on_empty") == "error":
            raise AnsibleParserError(message + " (on_empty: error)")
        self.display.warning(message)

    def _host_names(self, servers: list[dict[str, t.Any]], own_groups: set[str]) -> list[str]:
        """One inventory name per server: the first of ``hostnames`` that no other server shares and no group has."""
        ways = self.get_option("hostnames") or ["name", "address"]
        groups = own_groups | set(self.inventory.groups) | {self.get_option("outputs_group"), "all", "ungrouped"}
        candidates = [[str(server.get(way) or "") for way in ways] + [server["address"]] for server in servers]
        # how many servers each way would give each name
        counts = [collections.Counter(options[position] for options in candidates) for position in range(len(ways) + 1)]
        names: list[str] = []
        for options, server in zip(candidates, servers):
            for position, option in enumerate(options):
                last = position == len(options) - 1
                if option and (counts[position][option] == 1 and option not in groups or last):
                    names.append(option)
                    break
            if options[0] in groups and names[-1] != options[0]:
                self.display.warning(f"berth.deploy.terraform_state: {server['address']} in {server['source']} is "
                                     f"named {options[0]}, as a group is: its host is {names[-1]} (Ansible cannot "
                                     "have a host and a group of one name; rename the server to keep its name)")
        taken: dict[str, str] = {}
        for name, server in zip(names, servers):
            if name in taken:
                raise AnsibleParserError(f"berth.deploy.terraform_state: {server['address']} in {server['source']} "
                                         f"and another instance in {taken[name]} are both named {name}: give the "
                                         "states' servers distinct names, or read fewer sources in one inventory file")
            taken[name] = server["source"]
        return names

    def _refuse_host_groups(self, servers: list[dict[str, t.Any]], names: list[str]) -> None:
        """A group from keyed_groups or groups that has a host's name would nest the wrong hosts: refuse it."""
        for name, server in zip(names, servers):
            if name in self.inventory.groups:
                raise AnsibleParserError(f"berth.deploy.terraform_state: host {name} ({server['address']} in "
                                         f"{server['source']}) has the name of a group that keyed_groups or groups "
                                         "made: Ansible cannot have a host and a group of one name; change the "
                                         "group's prefix or key, or the server's name")

    def _groups_of(self, server: dict[str, t.Any]) -> list[str]:
        groups: list[str] = []
        tags = server["tags"] or {}
        for key in self.get_option("group_by_tags") or []:
            if key == "*":
                groups.extend(tag for tag, value in tags.items() if value == "")
            elif tags.get(key):
                groups.extend(part.strip() for part in str(tags[key]).split(","))
        if self.get_option("group_by_type"):
            groups.append(f"tf_{server['type']}")
            groups.extend("tf_" + GROUP_UNSAFE.sub("_", module) for module in _tfstate.module_lineage(server["module"]))
        return [GROUP_UNSAFE.sub("_", group) for group in dict.fromkeys(groups) if group]
