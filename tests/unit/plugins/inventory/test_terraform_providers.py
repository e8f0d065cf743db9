"""berth.deploy.terraform_state on provider-shaped states: provider secrets, more compute types, floating IPs,
templates, host/group name clashes, plans and empty states, nested modules (issue 12, items 7 and 15)."""
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate
from tests.support.ansible_run import ansible_env, plain

FIXTURES = Path(__file__).parent / "fixtures"
# every secret in the fixtures holds LEAK, or is base64 of a text starting with it
LEAKS = ("LEAK", "TEVBSy")


def document(name):
    return _tfstate.parse((FIXTURES / name).read_text(), name)


def servers(name):
    return {server.address: server for server in _tfstate.servers(document(name), _tfstate.MAPPINGS)}


def as_show_json(state):
    """The same resources as `terraform show -json` output with no sensitive_values marks."""
    resources = [{"address": _tfstate.instance_address(resource, instance.get("index_key")), "mode": resource["mode"],
                  "type": resource["type"], "name": resource["name"], "index": instance.get("index_key"),
                  "values": instance["attributes"], "sensitive_values": {}}
                 for resource in state["resources"] for instance in resource["instances"]]
    return json.dumps({"format_version": "1.0", "values": {"root_module": {"resources": resources}}})


def inventory_file(tmp_path, source, **options):
    config = {"plugin": "berth.deploy.terraform_state", "sources": [{"path": str(FIXTURES / source)}], **options}
    path = tmp_path / "servers.terraform_state.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def ansible_inventory(path, *arguments, **environment):
    return subprocess.run(["ansible-inventory", "-i", str(path), *arguments], capture_output=True, text=True,
                          env={**ansible_env(), **environment}, timeout=120, check=False)


def listed(tmp_path, source, **options):
    run = ansible_inventory(inventory_file(tmp_path, source, **options), "--list")
    assert run.returncode == 0, run.stderr
    return plain(json.loads(run.stdout)), run


# item 7: secrets providers declare, in a state of Terraform 0.13 that marks none

def test_provider_secrets_are_removed_from_a_state_that_marks_none():
    state = json.loads((FIXTURES / "legacy-providers.tfstate").read_text())
    assert "sensitive_attributes" not in json.dumps(state) and "LEAK" in json.dumps(state)
    found = servers("legacy-providers.tfstate")
    assert len(found) == 13
    for server in found.values():
        text = json.dumps(server.attributes)
        assert not any(leak in text for leak in LEAKS), (server.address, text)
    linode = found["linode_instance.web"].attributes
    assert "root_pass" not in linode and "stackscript_data" not in linode
    # only the secret leaves a nested block: the rest of it stays
    assert linode["disk"][0]["label"] == "boot" and "root_pass" not in linode["disk"][0]
    assert "default_password" not in found["vultr_instance.job"].attributes
    assert found["vultr_instance.job"].attributes["main_ip"] == "45.76.80.12"
    user = found["proxmox_virtual_environment_vm.app"].attributes["initialization"][0]["user_account"][0]
    assert user == {"username": "berth", "keys": ["ssh-ed25519 AAAA"]}
    assert found["google_compute_instance.app"].attributes["boot_disk"][0]["device_name"] == "persistent-disk-0"
    assert found["google_compute_instance.app"].attributes["metadata"] == {"ssh-keys": "berth:ssh-ed25519 AAAA"}


def test_provider_secrets_are_removed_from_show_json_without_marks():
    state = json.loads((FIXTURES / "legacy-providers.tfstate").read_text())
    shown = _tfstate.parse(as_show_json(state), "show")
    attributes = json.dumps([instance.attributes for instance in shown.instances])
    assert not any(leak in attributes for leak in LEAKS)
    assert "LEAK" not in json.dumps([instance.attributes for instance in document("compute.tfstate").instances])


def test_ansible_inventory_lists_no_provider_secret(tmp_path):
    inventory, run = listed(tmp_path, "legacy-providers.tfstate")
    assert "linode-web" in inventory["_meta"]["hostvars"] and "vultr-job" in inventory["_meta"]["hostvars"]
    assert not any(leak in run.stdout for leak in LEAKS)
    for name in ("root_pass", "default_password", "password_data", "admin_password", "admin_pass", "cipassword",
                 "disk_encryption_key_raw", "stackscript_data", "kvm", "custom_data", "user_data"):
        assert f'"{name}"' not in run.stdout, name


# item 15 (a): compute types outside the first table, and a warning for the ones still unmapped

def test_lxc_containers_legacy_azure_vms_and_spot_requests_are_servers():
    found = servers("compute.tfstate")
    expected = {
        "proxmox_lxc.ct": ("lxc-web", "192.168.50.31", "192.168.50.31"),  # configured as 192.168.50.31/24
        "proxmox_virtual_environment_container.job[0]": ("bpg-ct-0", "192.168.50.32", "192.168.50.32"),
        "proxmox_virtual_environment_container.job[1]": ("bpg-ct-1", "192.168.50.33", "192.168.50.33"),
        "azurerm_virtual_machine.legacy": ("legacy-db", "20.50.3.3", "10.8.3.3"),
        "aws_spot_instance_request.batch": ("spot-worker", "3.121.9.9", "172.31.9.9"),
    }
    for address, (name, public, private) in expected.items():
        server = found[address]
        assert (server.name, server.public_ip, server.private_ip) == (name, public, private), address
    assert found["azurerm_virtual_machine.legacy"].tags == {"role": "db"}
    assert "os_profile" in found["azurerm_virtual_machine.legacy"].attributes
    assert "admin_password" not in json.dumps(found["azurerm_virtual_machine.legacy"].attributes)


def test_unmapped_server_types_are_named_once_and_services_are_not(tmp_path):
    assert _tfstate.unmapped_servers(document("compute.tfstate"), _tfstate.MAPPINGS) == {"aws_lightsail_instance": 2}
    run = listed(tmp_path, "compute.tfstate")[1]
    warnings = " ".join(run.stderr.split())
    assert warnings.count("aws_lightsail_instance looks like a server type but has no mapping") == 1
    assert "2 in " in warnings
    for service in ("hcloud_server_network", "google_sql_database_instance", "aws_db_instance"):
        assert service not in warnings
    mapped, run = listed(tmp_path, "compute.tfstate", mappings={"aws_lightsail_instance": {
        "name": "name", "public": "public_ip_address", "private": "private_ip_address"}})
    assert "aws_lightsail_instance" not in run.stderr and mapped["_meta"]["hostvars"]["box-1"]["ansible_host"] == "18.194.1.2"


# (b) floating IPs that point at the instance or at its port

def test_openstack_floating_ips_are_found_through_the_resources_that_point_at_the_server():
    found = servers("compute.tfstate")
    assert found["openstack_compute_instance_v2.fip"].public_ip == "203.0.113.77"  # compute floating IP association
    assert found["openstack_compute_instance_v2.port"].public_ip == "203.0.113.78"  # networking floating IP on its port
    assert found["openstack_compute_instance_v2.port"].private_ip == "10.9.0.8"
    # without a floating IP the instance's own address, as before
    assert servers("legacy-providers.tfstate")["openstack_compute_instance_v2.app"].public_ip == "10.5.0.9"


def test_a_user_mapping_can_follow_a_reverse_reference_and_a_bad_one_is_refused():
    mappings = _tfstate.user_mappings({"my_server": {"name": "name", "public": "<- my_ip[server_id].address"}})
    state = {"version": 4, "resources": [
        {"mode": "managed", "type": "my_server", "name": "a", "instances": [{"attributes": {"id": "s1", "name": "a"}}]},
        {"mode": "managed", "type": "my_ip", "name": "a", "instances": [
            {"attributes": {"id": "ip1", "server_id": "s1", "address": "198.51.100.1"}}]}]}
    found = _tfstate.servers(_tfstate.parse(json.dumps(state), "mine"), mappings)
    assert [(server.name, server.public_ip) for server in found] == [("a", "198.51.100.1")]
    with pytest.raises(_tfstate.StateError, match=r"mappings\.my_server\.public: path '<- my_ip\.address'"):
        _tfstate.user_mappings({"my_server": {"public": "<- my_ip.address"}})


# (c) templates

def test_a_template_is_no_host():
    found = servers("compute.tfstate")
    assert "proxmox_virtual_environment_vm.golden" not in found and "proxmox_lxc.base" not in found
    assert "proxmox_virtual_environment_vm.clone" in found and "proxmox_lxc.ct" in found


# (d) a host named like a group

def test_a_server_named_like_a_group_gets_its_address_and_a_warning(tmp_path):
    inventory, run = listed(tmp_path, "compute.tfstate")
    hostvars = inventory["_meta"]["hostvars"]
    assert "web" not in hostvars and hostvars["hcloud_server.web"]["ansible_host"] == "49.12.5.6"
    assert "hcloud_server.web" in inventory["web"]["hosts"] and "os-fip" in inventory["web"]["hosts"]
    warnings = " ".join(run.stderr.split())
    assert f"hcloud_server.web in {FIXTURES / 'compute.tfstate'} is named web, as a group is: its host is " \
           "hcloud_server.web" in warnings


def test_a_constructed_group_named_like_a_host_is_one_clear_error(tmp_path):
    path = inventory_file(tmp_path, "compute.tfstate", groups={"bpgclone": "berth_tf.type == 'proxmox_lxc'"})
    run = ansible_inventory(path, "--list", ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert run.returncode != 0
    message = " ".join(run.stderr.split())
    assert "host bpgclone (proxmox_virtual_environment_vm.clone in" in message and "compute.tfstate" in message
    assert "has the name of a group that keyed_groups or groups made" in message


# (e) plans and empty states

def test_a_plan_is_refused_naming_it():
    with pytest.raises(_tfstate.StateError, match=r"plan.show.json: this is a plan .*not a state"):
        document("plan.show.json")


def test_no_hosts_warns_and_on_empty_error_fails(tmp_path):
    inventory, run = listed(tmp_path, "destroyed.tfstate")
    assert inventory["_meta"]["hostvars"] == {}
    warnings = " ".join(run.stderr.split())
    assert f"no hosts in {FIXTURES / 'destroyed.tfstate'} (0 managed resource instances" in warnings
    failed = ansible_inventory(inventory_file(tmp_path, "destroyed.tfstate", on_empty="error"), "--list",
                               ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert failed.returncode != 0 and "(on_empty: error)" in " ".join(failed.stderr.split())
    run = listed(tmp_path, "compute.tfstate", on_empty="error")[1]
    assert "no hosts" not in run.stderr


# (f) nested modules

def test_module_lineage_names_every_parent_and_each_call_without_its_key():
    assert _tfstate.module_lineage('module.stack.module.node["a"]') == [
        "module.stack", "module.stack.module.node", 'module.stack.module.node["a"]']
    assert _tfstate.module_lineage("module.web[0]") == ["module.web", "module.web[0]"]
    assert _tfstate.module_lineage("") == []


def test_a_server_in_a_nested_module_is_in_the_groups_of_its_parents(tmp_path):
    inventory = listed(tmp_path, "compute.tfstate")[0]
    for group in ("tf_module_stack", "tf_module_stack_module_node", "tf_module_stack_module_node__a__"):
        assert inventory[group]["hosts"] == ["nested-a"], group


def test_an_elastic_ip_that_names_the_instance_is_its_public_address():
    state = {"version": 4, "resources": [
        {"mode": "managed", "type": "aws_instance", "name": "web", "instances": [{"attributes": {
            "id": "i-0e", "public_ip": "3.5.5.5", "private_ip": "172.31.0.5", "tags": {"Name": "eip-web"}}}]},
        {"mode": "managed", "type": "aws_eip", "name": "web", "instances": [{"attributes": {
            "id": "eipalloc-1", "instance": "i-0e", "public_ip": "52.1.1.1", "domain": "vpc"}}]}]}
    found = _tfstate.servers(_tfstate.parse(json.dumps(state), "eip"), _tfstate.MAPPINGS)
    assert [(server.name, server.public_ip, server.private_ip) for server in found] == [
        ("eip-web", "52.1.1.1", "172.31.0.5")]
