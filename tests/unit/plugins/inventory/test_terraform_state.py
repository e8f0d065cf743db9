"""berth.deploy.terraform_state: state parsing, provider mappings, and ansible-inventory end to end."""
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate
from tests.support.ansible_run import ansible_env

FIXTURES = Path(__file__).parent / "fixtures"


def fleet_state():
    return _tfstate.load_state((FIXTURES / "fleet.tfstate").read_text(), "fleet.tfstate")


def test_every_count_index_and_for_each_key_is_its_own_server_with_its_full_address():
    addresses = [server.address for server in _tfstate.servers(fleet_state(), _tfstate.MAPPINGS)]
    assert addresses[:4] == ['module.app.aws_instance.web[0]', 'module.app.aws_instance.web[1]',
                             'aws_instance.worker["blue"]', 'aws_instance.worker["green"]']
    assert "data.aws_ami.debian" not in " ".join(addresses) and "aws_db_instance.main" not in addresses
    assert "libvirt_domain.lab" not in addresses  # no built-in mapping


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
    }
    for address, (name, public, private, tags) in expected.items():
        server = found[address]
        assert (server.name, server.public_ip, server.private_ip) == (name, public, private), address
        assert tags.items() <= server.tags.items(), address


def test_sensitive_attributes_and_outputs_are_left_out():
    web = _tfstate.servers(fleet_state(), _tfstate.MAPPINGS)[0]
    assert "user_data" not in web.attributes and web.attributes["root_block_device"] == [{"volume_size": 20}]
    plain, sensitive = _tfstate.outputs(fleet_state())
    assert plain["db_endpoint"].startswith("shop-db.") and sensitive == ["db_password"]
    assert "db_password" not in plain


def test_user_mappings_add_resource_types():
    mappings = {**_tfstate.MAPPINGS, **_tfstate.user_mappings(
        {"libvirt_domain": {"name": "name", "public": "network_interface.0.addresses.0"}})}
    lab = [server for server in _tfstate.servers(fleet_state(), mappings) if server.type == "libvirt_domain"][0]
    assert (lab.address, lab.name, lab.public_ip, lab.private_ip) == ("libvirt_domain.lab", "lab-vm", "192.168.122.50", "")
    with pytest.raises(_tfstate.StateError, match="mappings.x: not a mapping with name, public, private and tags"):
        _tfstate.user_mappings({"x": {"ip": "a"}})


def test_old_and_corrupt_states_are_refused_naming_the_source():
    with pytest.raises(_tfstate.StateError, match=r"v3.tfstate: state format version 3 is unsupported .*terraform state pull"):
        _tfstate.load_state((FIXTURES / "v3.tfstate").read_text(), "v3.tfstate")
    with pytest.raises(_tfstate.StateError, match="corrupt.tfstate: not a Terraform state"):
        _tfstate.load_state((FIXTURES / "corrupt.tfstate").read_text(), "corrupt.tfstate")


def inventory_file(tmp_path, **options):
    config = {"plugin": "berth.deploy.terraform_state", "sources": [{"path": str(FIXTURES / "fleet.tfstate")}], **options}
    path = tmp_path / "servers.terraform_state.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def plain(value):
    """ansible-inventory --list shows values a constructed template saw as {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        return plain(value["__ansible_unsafe"]) if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


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
                                                        "oci-app"])
    assert sorted(inventory["job"]["hosts"]) == sorted(['aws_instance.worker["blue"]', 'aws_instance.worker["green"]',
                                                        "vultr-app"])
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
