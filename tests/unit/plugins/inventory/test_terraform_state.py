"""berth.deploy.terraform_state: state parsing, provider mappings, and ansible-inventory end to end."""
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate
from ansible_collections.berth.deploy.plugins.plugin_utils import _tfsources
from tests.support.ansible_run import ansible_env, plain

FIXTURES = Path(__file__).parent / "fixtures"


def fleet_state():
    return _tfstate.parse((FIXTURES / "fleet.tfstate").read_text(), "fleet.tfstate")


def fleet_show():
    return _tfstate.parse((FIXTURES / "fleet.show.json").read_text(), "fleet.show.json")


def test_every_count_index_and_for_each_key_is_its_own_server_with_its_full_address():
    addresses = [server.address for server in _tfstate.servers(fleet_state(), _tfstate.MAPPINGS)]
    assert addresses[:4] == ['module.app.aws_instance.web[0]', 'module.app.aws_instance.web[1]',
                             'aws_instance.worker["blue"]', 'aws_instance.worker["green"]']
    assert "data.aws_ami.debian" not in " ".join(addresses) and "aws_db_instance.main" not in addresses
    assert 'azurerm_linux_virtual_machine.app[0]' in addresses and "azurerm_network_interface.app[0]" not in addresses


def test_each_provider_mapping_finds_name_addresses_and_tags():
    found = {server.address: server for server in _tfstate.servers(fleet_state(), _tfstate.MAPPINGS)}
    expected = {
        "module.app.aws_instance.web[0]": ("web-0", "203.0.113.10", "10.0.1.10", {"Role": "web"}),
        "hcloud_server.db": ("db-1", "198.51.100.7", "10.1.0.7", {"role": "db"}),
        "digitalocean_droplet.edge": ("edge-1", "192.0.2.20", "10.2.0.20", {"role": "web", "staging": ""}),
        "google_compute_instance.app": ("gce-app-1", "34.0.0.4", "10.3.0.4", {"role": "web"}),
        "linode_instance.app": ("linode-app", "172.104.0.5", "192.168.128.5", {"web": ""}),
        "vultr_instance.app": ("vultr-app", "45.0.0.6", "10.4.0.6", {"role": "job"}),
        "openstack_compute_instance_v2.app": ("os-app", "10.5.0.7", "10.5.0.7", {"role": "web"}),
        "scaleway_instance_server.app": ("scw-app", "51.0.0.8", "10.6.0.8", {"role": "web"}),
        "oci_core_instance.app": ("oci-app", "129.0.0.9", "10.7.0.9", {"Role": "web"}),
        # the VM's own addresses are empty: found through its NIC and the NIC's public IP
        "azurerm_linux_virtual_machine.app[0]": ("az-app-0", "20.50.0.10", "10.8.0.4", {"role": "web"}),
        "azurerm_linux_virtual_machine.app[1]": ("az-app-1", "20.50.0.11", "10.8.0.5", {"role": "job"}),
        "proxmox_vm_qemu.lab": ("pve-lab", "192.168.50.21", "192.168.50.21", {"web": "", "staging": ""}),
        "proxmox_virtual_environment_vm.pve": ("bpg-vm", "192.168.50.22", "192.168.50.22", {"job": ""}),
        "libvirt_domain.lab": ("lab-vm", "192.168.122.50", "192.168.122.50", {}),
    }
    for address, (name, public, private, tags) in expected.items():
        server = found[address]
        assert (server.name, server.public_ip, server.private_ip) == (name, public, private), address
        assert tags.items() <= server.tags.items(), address


def test_sensitive_attributes_and_outputs_are_left_out():
    found = {server.address: server for server in _tfstate.servers(fleet_state(), _tfstate.MAPPINGS)}
    web = found["module.app.aws_instance.web[0]"]
    assert "user_data" not in web.attributes and web.attributes["root_block_device"] == [{"volume_size": 20}]
    # index steps into a map and through lists remove just that value
    assert found["google_compute_instance.app"].attributes["metadata"] == {"startup": "ok"}
    assert found["proxmox_virtual_environment_vm.pve"].attributes["initialization"] == [
        {"user_account": [{"username": "berth"}]}]
    # a path that does not fit the value takes its whole attribute out
    assert "service_account" not in found["google_compute_instance.app"].attributes
    assert "s3cret" not in json.dumps([server.attributes for server in found.values()])
    document = fleet_state()
    assert document.outputs["db_endpoint"].startswith("shop-db.") and list(document.sensitive_outputs) == ["db_password"]
    assert "db_password" not in document.outputs


def test_show_json_gives_the_same_servers_with_module_paths_and_without_sensitive_values():
    document = fleet_show()
    found = {server.address: server for server in _tfstate.servers(document, _tfstate.MAPPINGS)}
    assert list(found) == ['aws_instance.worker["blue"]', 'aws_instance.worker["green"]',
                           "module.app.aws_instance.web[0]", "module.app.aws_instance.web[1]",
                           'module.app.module.edge["eu"].hcloud_server.edge']
    web = found["module.app.aws_instance.web[1]"]
    assert (web.name, web.public_ip, web.private_ip, web.module, web.index) == (
        "show-web-1", "203.0.113.31", "10.0.1.31", "module.app", 1)
    assert found['aws_instance.worker["green"]'].index == "green"
    assert found['module.app.module.edge["eu"].hcloud_server.edge'].module == 'module.app.module.edge["eu"]'
    assert web.attributes["root_block_device"] == [{"volume_size": 20}] and "user_data" not in web.attributes
    assert "s3cret" not in json.dumps([server.attributes for server in found.values()])
    assert document.outputs == {"db_endpoint": "show-db.internal:5432"}
    assert document.sensitive_outputs == {"db_password": "show-s3cret-output"}


def test_old_and_corrupt_states_are_refused_naming_the_source():
    with pytest.raises(_tfstate.StateError, match=r"v3.tfstate: state format version 3 is unsupported .*terraform state pull"):
        _tfstate.parse((FIXTURES / "v3.tfstate").read_text(), "v3.tfstate")
    with pytest.raises(_tfstate.StateError, match="corrupt.tfstate: not a Terraform state"):
        _tfstate.parse((FIXTURES / "corrupt.tfstate").read_text(), "corrupt.tfstate")


def inventory_file(tmp_path, **options):
    config = {"plugin": "berth.deploy.terraform_state", "sources": [{"path": str(FIXTURES / "fleet.tfstate")}], **options}
    path = tmp_path / "servers.terraform_state.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def ansible_inventory(path, *arguments):
    return subprocess.run(["ansible-inventory", "-i", str(path), *arguments], capture_output=True, text=True,
                          env=ansible_env(), timeout=120, check=False)


def test_ansible_inventory_builds_hosts_groups_and_vars(tmp_path):
    path = inventory_file(tmp_path, keyed_groups=[{"key": "berth_tf.tags.Environment | default('none')", "prefix": "env"}],
                          compose={"berth_destination": "berth_tf.tags.Environment | default('')"})
    run = ansible_inventory(path, "--list")
    assert run.returncode == 0, run.stderr
    inventory = plain(json.loads(run.stdout))
    hostvars = inventory["_meta"]["hostvars"]
    # both for_each instances are named "worker": they fall back to their addresses
    assert {"web-0", "web-1", 'aws_instance.worker["blue"]', 'aws_instance.worker["green"]', "db-1"} <= set(hostvars)
    assert hostvars["web-0"]["ansible_host"] == "203.0.113.10"
    assert hostvars['aws_instance.worker["blue"]']["ansible_host"] == "10.0.2.5"  # no public address
    assert hostvars["web-0"]["berth_tf"]["address"] == "module.app.aws_instance.web[0]"
    assert hostvars["web-0"]["berth_destination"] == "production"
    assert sorted(inventory["web"]["hosts"]) == sorted(["web-0", "web-1", "edge-1", "gce-app-1", "os-app", "scw-app",
                                                        "oci-app", "az-app-0"])
    assert sorted(inventory["job"]["hosts"]) == sorted(['aws_instance.worker["blue"]', 'aws_instance.worker["green"]',
                                                        "vultr-app", "az-app-1"])
    assert inventory["db"]["hosts"] == ["db-1"]
    assert sorted(inventory["env_production"]["hosts"]) == ["web-0", "web-1"]
    assert set(inventory["tf_aws_instance"]["hosts"]) == {"web-0", "web-1", 'aws_instance.worker["blue"]',
                                                          'aws_instance.worker["green"]'}
    assert inventory["tf_module_app"]["hosts"] == ["web-0", "web-1"]
    assert hostvars["db-1"]["db_endpoint"].startswith("shop-db.")  # outputs: variables of group all
    assert hostvars["web-0"]["web_ips"] == ["203.0.113.10", "203.0.113.11"]
    exported = plain(json.loads(ansible_inventory(path, "--list", "--export").stdout))
    assert exported["all"]["vars"]["db_endpoint"].startswith("shop-db.")
    assert "s3nsitive-output-value" not in run.stdout and "secret-user-data" not in run.stdout
    assert "s3cret" not in run.stdout


def test_private_addresses_and_the_graph(tmp_path):
    run = ansible_inventory(inventory_file(tmp_path, address="private"), "--host", "web-0")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["ansible_host"] == "10.0.1.10"
    graph = ansible_inventory(inventory_file(tmp_path), "--graph")
    assert graph.returncode == 0 and "@web:" in graph.stdout and "web-1" in graph.stdout


def test_values_from_state_are_never_templated(tmp_path):
    state = json.loads((FIXTURES / "fleet.tfstate").read_text())
    state["resources"][1]["instances"][0]["attributes"]["tags"]["Name"] = "web-0"
    state["resources"][1]["instances"][0]["attributes"]["tags"]["Owner"] = "{{ lookup('pipe', 'id') }}"
    (tmp_path / "templated.tfstate").write_text(json.dumps(state))
    path = tmp_path / "t.terraform_state.yml"
    path.write_text(yaml.safe_dump({"plugin": "berth.deploy.terraform_state", "sources": [{"path": "templated.tfstate"}]}))
    play = tmp_path / "show.yml"
    play.write_text(yaml.safe_dump([{"hosts": "web-0", "gather_facts": False, "tasks": [
        {"ansible.builtin.debug": {"msg": "owner={{ berth_tf.tags.Owner }}"}}]}]))
    run = subprocess.run(["ansible-playbook", "-i", str(path), str(play), "-c", "local"], capture_output=True, text=True,
                         env=ansible_env(), timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "owner={{ lookup('pipe', 'id') }}" in run.stdout and "uid=" not in run.stdout


def test_a_missing_or_old_state_is_one_clear_error(tmp_path):
    path = tmp_path / "missing.terraform_state.yml"
    path.write_text(yaml.safe_dump({"plugin": "berth.deploy.terraform_state", "sources": [{"path": "nowhere.tfstate"}]}))
    run = ansible_inventory(path, "--list")
    assert "sources[0]: cannot read" in run.stderr and "nowhere.tfstate" in run.stderr
    old = tmp_path / "old.terraform_state.yml"
    old.write_text(yaml.safe_dump({"plugin": "berth.deploy.terraform_state", "sources": [{"path": str(FIXTURES / "v3.tfstate")}]}))
    run = ansible_inventory(old, "--list")
    assert "state format version 3 is unsupported" in run.stderr


def test_the_example_inventory_gives_berth_its_role_groups():
    example = Path(__file__).resolve().parents[4] / "inventories" / "terraform"
    run = ansible_inventory(example, "--list")
    assert run.returncode == 0, run.stderr
    inventory = plain(json.loads(run.stdout))
    assert sorted(inventory["web"]["hosts"]) == ["shop-web-1", "shop-web-2"]
    assert inventory["job"]["hosts"] == ["shop-worker-1"]
    assert inventory["_meta"]["hostvars"]["shop-web-1"]["ansible_host"] == "203.0.113.21"
    assert inventory["_meta"]["hostvars"]["shop-worker-1"]["db_host"] == "10.0.0.30"
    assert "example-only" not in run.stdout  # the sensitive output


def test_sensitive_outputs_are_named_in_the_inventory_and_read_by_the_lookup(tmp_path):
    path = inventory_file(tmp_path)
    run = ansible_inventory(path, "--list")
    hostvars = plain(json.loads(run.stdout))["_meta"]["hostvars"]
    assert hostvars["web-0"]["berth_tf_sensitive_outputs"] == {"db_password": str(path)}
    play = tmp_path / "secret.yml"
    play.write_text(yaml.safe_dump([{"hosts": "web-0", "gather_facts": False, "tasks": [
        {"name": "the sensitive output, by name only", "ansible.builtin.assert": {"that": [
            "lookup('berth.deploy.terraform_output', 'db_password') == 's3nsitive-output-value'",
            "lookup('berth.deploy.terraform_output', 'db_endpoint', inventory=inventory_file).startswith('shop-db.')"]}},
        {"name": "an unknown output", "ansible.builtin.debug": {
            "msg": "{{ lookup('berth.deploy.terraform_output', 'nothing', inventory=inventory_file) }}"},
         "ignore_errors": True, "register": "unknown"},
        {"ansible.builtin.assert": {"that": ["'no output nothing in the sources of' in unknown.msg"]}}]}]))
    run = subprocess.run(["ansible-playbook", "-i", str(path), str(play), "-c", "local", "-e",
                          f"inventory_file={path}"], capture_output=True, text=True, env=ansible_env(), timeout=120,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "s3nsitive-output-value" not in run.stdout + run.stderr


def test_the_cache_serves_the_inventory_without_the_state_and_holds_no_secret(tmp_path):
    state = tmp_path / "fleet.tfstate"
    state.write_text((FIXTURES / "fleet.tfstate").read_text())
    cache = tmp_path / "cache"
    path = tmp_path / "cached.terraform_state.yml"
    path.write_text(yaml.safe_dump({"plugin": "berth.deploy.terraform_state", "sources": [{"path": "fleet.tfstate"}],
                                    "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                                    "cache_connection": str(cache)}))
    first = ansible_inventory(path, "--graph")
    state.unlink()
    second = ansible_inventory(path, "--graph")
    assert first.returncode == second.returncode == 0 and "web-0" in second.stdout and first.stdout == second.stdout
    cached = "".join(item.read_text() for item in cache.iterdir())
    assert "web-0" in cached and "s3cret" not in cached and "s3nsitive-output-value" not in cached


@pytest.mark.parametrize(("source", "message"), [
    ({"http": {"address": "http://127.0.0.1:9/state", "timeout": "soon"}},
     "sources[0].http.timeout: 'soon' is not allowed: seconds, a number above 0"),
    ({"cloud": {"organization": "acme", "workspace": "w", "validate_certs": "no"}},
     "sources[0].cloud.validate_certs: 'no' is not allowed: true or false"),
    ({"s3": {"bucket": "b"}}, "sources[0].s3: key is required"),
    ({"show": {"project_dir": ".", "timeout": 0}}, "sources[0].show.timeout: 0 is not allowed"),
    ({"ftp": {"address": "x"}}, "sources[0]: give exactly one of path, show, s3, http, cloud (got ftp)"),
])
def test_source_settings_are_checked_before_anything_is_read(tmp_path, source, message):
    with pytest.raises(_tfsources.SourceError) as error:
        _tfsources.fetch(source, str(tmp_path), "sources[0]")
    assert message in str(error.value)
