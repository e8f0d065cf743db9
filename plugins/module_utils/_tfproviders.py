# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What berth knows about Terraform providers, as data: server resource types, their secrets, compute-like names.

``MAPPINGS`` says where a server type keeps its name, addresses and tags, and which attribute marks a
template (no host). A path is dotted attribute names and list indexes (``network.0.ip``); ``*`` is
the first item of a list or map that has a value; ``a.0 -> b`` reads ``a.0`` as a resource id and
goes on at ``b`` of the instance with that id; ``src <- TYPE[ref].b`` goes on at ``b`` of the
``TYPE`` instance whose ``ref`` is ``src`` (the instance's own ``id`` when ``src`` is left out), for
resources that point at the server rather than the other way round (floating IPs).

``SENSITIVE`` lists the attributes providers declare sensitive in their schemas (and user data,
which cloud-init scripts fill with tokens): states written before Terraform 0.15 carry no
``sensitive_attributes``, so these are removed whatever the state says.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mapping:
    """Attribute paths of one resource type; each field is tried in order."""
    name: tuple[str, ...]
    public: tuple[str, ...]
    private: tuple[str, ...]
    tags: tuple[str, ...] = ()
    template: tuple[str, ...] = ()  # a true value here: a template to clone from, not a host


def _paths(*paths: str) -> tuple[str, ...]:
    return paths


AZURE_NIC = "network_interface_ids.0 -> ip_configuration.0"
AWS = Mapping(_paths("tags.Name"), _paths("<- aws_eip[instance].public_ip", "<- aws_eip_association[instance_id].public_ip",
                                          "public_ip"), _paths("private_ip"), _paths("tags"))
GOOGLE = Mapping(_paths("name"), _paths("network_interface.0.access_config.0.nat_ip"),
                 _paths("network_interface.0.network_ip"), _paths("labels"))
# a floating IP names the instance (compute association) or its port (networking floating IP and association)
OPENSTACK_FLOATING = _paths("<- openstack_compute_floatingip_associate_v2[instance_id].floating_ip",
                            "network.*.port <- openstack_networking_floatingip_v2[port_id].address",
                            "network.*.port <- openstack_networking_floatingip_associate_v2[port_id].floating_ip",
                            "<- openstack_compute_floatingip_v2[instance_id].address")
# resource type -> where its name, public and private IPv4 address and tags (or labels) are
MAPPINGS: dict[str, Mapping] = {
    "aws_instance": AWS,
    "aws_spot_instance_request": AWS,
    "hcloud_server": Mapping(_paths("name"), _paths("ipv4_address"), _paths("network.0.ip"), _paths("labels")),
    "digitalocean_droplet": Mapping(_paths("name"), _paths("ipv4_address"), _paths("ipv4_address_private"),
                                    _paths("tags")),
    "google_compute_instance": GOOGLE,
    "google_compute_instance_from_template": GOOGLE,
    "azurerm_linux_virtual_machine": Mapping(
        _paths("computer_name", "name"),
        _paths("public_ip_address", f"{AZURE_NIC}.public_ip_address_id -> ip_address"),
        _paths("private_ip_address", f"{AZURE_NIC}.private_ip_address"), _paths("tags")),
    # the legacy type (azurerm 1.x and 2.x) keeps no address of its own
    "azurerm_virtual_machine": Mapping(
        _paths("os_profile.0.computer_name", "name"), _paths(f"{AZURE_NIC}.public_ip_address_id -> ip_address"),
        _paths(f"{AZURE_NIC}.private_ip_address"), _paths("tags")),
    "linode_instance": Mapping(_paths("label"), _paths("ip_address"), _paths("private_ip_address"), _paths("tags")),
    "vultr_instance": Mapping(_paths("label", "hostname"), _paths("main_ip"), _paths("internal_ip"), _paths("tags")),
    "openstack_compute_instance_v2": Mapping(
        _paths("name"), OPENSTACK_FLOATING + _paths("access_ip_v4", "network.0.fixed_ip_v4"),
        _paths("network.0.fixed_ip_v4"), _paths("metadata", "tags")),
    "scaleway_instance_server": Mapping(_paths("name"), _paths("public_ip", "public_ips.0.address"),
                                        _paths("private_ip"), _paths("tags")),
    "oci_core_instance": Mapping(_paths("display_name"), _paths("public_ip"), _paths("private_ip"),
                                 _paths("freeform_tags")),
    # Proxmox (Telmate and bpg providers) and libvirt know one address per interface, public or not;
    # bpg lists the loopback interface first; a container's configured address may be CIDR or "dhcp"
    "proxmox_vm_qemu": Mapping(_paths("name"), _paths("default_ipv4_address", "ssh_host"),
                               _paths("default_ipv4_address", "ssh_host"), _paths("tags")),
    "proxmox_lxc": Mapping(_paths("hostname"), _paths("network.0.ip"), _paths("network.0.ip"), _paths("tags"),
                           _paths("template")),
    "proxmox_virtual_environment_vm": Mapping(_paths("name"), _paths("ipv4_addresses.1.0"),
                                              _paths("ipv4_addresses.1.0"), _paths("tags"), _paths("template")),
    "proxmox_virtual_environment_container": Mapping(
        _paths("initialization.0.hostname"), _paths("ipv4.*", "initialization.0.ip_config.0.ipv4.0.address"),
        _paths("ipv4.*", "initialization.0.ip_config.0.ipv4.0.address"), _paths("tags"), _paths("template")),
    "libvirt_domain": Mapping(_paths("name"), _paths("network_interface.0.addresses.0"),
                              _paths("network_interface.0.addresses.0"), _paths("metadata")),
}

# values of an address attribute that are no address
NOT_ADDRESSES = frozenset({"dhcp", "dhcp6", "auto", "manual", "static", "slaac"})

AWS_SECRETS = _paths("password_data", "user_data", "user_data_base64")  # password_data: the encrypted Windows password
AZURE_VM_SECRETS = _paths("admin_password", "custom_data", "user_data")
GOOGLE_SECRETS = _paths("boot_disk.*.disk_encryption_key_raw", "boot_disk.*.disk_encryption_key_rsa",
                        "attached_disk.*.disk_encryption_key_raw", "attached_disk.*.disk_encryption_key_rsa",
                        "metadata.user-data", "metadata.startup-script", "metadata_startup_script")
BPG_PROXMOX_SECRETS = _paths("initialization.*.user_account.*.password")
# resource type -> attribute paths (``*``: every item) removed from every state
SENSITIVE: dict[str, tuple[str, ...]] = {
    "aws_instance": AWS_SECRETS,
    "aws_spot_instance_request": AWS_SECRETS,
    "hcloud_server": _paths("user_data"),
    "digitalocean_droplet": _paths("user_data"),
    "google_compute_instance": GOOGLE_SECRETS,
    "google_compute_instance_from_template": GOOGLE_SECRETS,
    "azurerm_linux_virtual_machine": AZURE_VM_SECRETS,
    "azurerm_windows_virtual_machine": AZURE_VM_SECRETS,
    "azurerm_virtual_machine": _paths("os_profile.*.admin_password", "os_profile.*.custom_data",
                                      "os_profile_windows_config.*.additional_unattend_config.*.content"),
    "linode_instance": _paths("root_pass", "stackscript_data", "disk.*.root_pass", "disk.*.stackscript_data",
                              "metadata.*.user_data"),
    "vultr_instance": _paths("default_password", "kvm", "user_data"),  # kvm: the console URL with its token
    "vultr_bare_metal_server": _paths("default_password", "user_data"),
    "openstack_compute_instance_v2": _paths("admin_pass", "user_data"),
    "scaleway_instance_server": _paths("user_data", "cloud_init"),
    "oci_core_instance": _paths("metadata.user_data", "extended_metadata"),
    "proxmox_vm_qemu": _paths("cipassword", "ssh_private_key"),
    "proxmox_lxc": _paths("password"),
    "proxmox_virtual_environment_vm": BPG_PROXMOX_SECRETS,
    "proxmox_virtual_environment_container": BPG_PROXMOX_SECRETS,
    "libvirt_cloudinit_disk": _paths("user_data", "meta_data", "network_config"),
}

# an unmapped resource type whose name ends in one of these words (a version suffix like _v2 aside) and
# whose attributes hold an IP address looks like a server: the inventory warns that it is left out
COMPUTE_WORDS = frozenset({"instance", "server", "vm", "machine", "droplet", "container"})
# ... unless its name has one of these: managed services with an address, not servers berth deploys to
SERVICE_WORDS = frozenset({"db", "sql", "mysql", "postgresql", "database", "rds", "redis", "memcache", "cache",
                           "filestore", "kvstore", "mongodb", "notebook", "elasticsearch", "opensearch"})
