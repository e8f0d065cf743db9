"""berth_logging.options that may be secrets stay out of berth_plan and of module arguments shown
with -v, and still reach the container's log configuration (issue 12, item 3)."""
from __future__ import annotations

import json

from tests.integration.conftest import APP_IMAGE
from tests.integration.test_registry_credentials import write_inventory
from tests.support.ansible_run import REPO, run_playbook

# The syslog driver accepts an address nobody listens on (UDP); berth treats the address like any
# option that is not a rotation/format setting: as a secret (a URL may carry a password).
SECRET_ADDRESS = "udp://127.0.0.1:5514"


def test_secret_log_options_reach_the_container_but_not_the_output(engine, testbed, tmp_path, unique, cleanup):
    network = f"berth-{unique}"
    cleanup.append(network)
    engine.networks.create(network)
    inventory = write_inventory(tmp_path, {
        "berth_service": unique, "berth_image": APP_IMAGE, "berth_network": network,
        "berth_logging": {"driver": "syslog", "options": {"syslog-address": SECRET_ADDRESS, "tag": unique}},
        "berth_roles": {"web": {"proxy": {"host": f"{unique}.test", "app_port": 3000}}},
    })
    run = run_playbook(REPO / "playbooks" / "app_exec.yml", inventory,
                       {"exec_cmd": "false", "exec_version": "v1", "exec_keep_failed": True},
                       env={"ANSIBLE_VERBOSITY": "1"})
    assert run.rc != 0 and "was kept for inspection" in run.stdout, run.stdout
    kept = engine.containers.list(all=True, filters={"label": f"berth.service={unique}"})
    cleanup.extend(container.name for container in kept)
    assert len(kept) == 1
    log_config = kept[0].attrs["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "syslog", "Config": {"syslog-address": SECRET_ADDRESS, "tag": unique}}
    assert SECRET_ADDRESS not in run.stdout
    assert SECRET_ADDRESS not in json.dumps(run.results)
