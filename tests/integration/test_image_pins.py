"""Two destinations (and a second service) sharing an image repository on the real engine: a prune in one
never removes an image another has just pulled and not yet created its container from."""
from __future__ import annotations

import io

import pytest

from tests.integration.conftest import APP_IMAGE
from tests.support.ansible_run import run_module


def build(engine, repository, tag, base) -> None:
    """An image of this test only (the app image with a label), so no container of another test uses it."""
    engine.images.pull(APP_IMAGE, tag=base)
    dockerfile = f"FROM {APP_IMAGE}:{base}\nLABEL berth.test.pins={repository}:{tag}\n".encode()
    engine.images.build(fileobj=io.BytesIO(dockerfile), tag=f"{repository}:{tag}", rm=True)


@pytest.fixture
def repository(engine, unique):
    """A repository of this test only, so no other test's image is pruned."""
    name = f"berth-pins-{unique}/app"
    build(engine, name, "v1", "v1")
    yield name
    for container in engine.containers.list(all=True, filters={"label": f"berth.service={unique}"}):
        container.remove(force=True)
    for image in engine.images.list(name=name):
        for tag in image.tags:
            if tag.startswith(f"{name}:"):
                engine.images.remove(tag)


def release(unique, repository, network, version, destination, local_inventory):
    args = {"service": unique, "destination": destination, "version": version, "image": repository, "pull": "missing",
            "network": network, "roles": [{"name": "job", "cmd": ["sleep", "600"], "stop_timeout": 1}],
            "deploy_timeout": 10}
    return run_module("berth.deploy.release", args, local_inventory)


def tags(engine, repository) -> set[str]:
    return {tag.split(":")[-1] for image in engine.images.list(name=repository) for tag in image.tags
            if tag.startswith(f"{repository}:")}


def test_a_prune_keeps_what_another_destination_or_service_just_pulled(engine, local_inventory, unique, cleanup,
                                                                       repository):
    cleanup.append(unique)
    engine.networks.create(unique)
    assert release(unique, repository, unique, "v1", "production", local_inventory)["status"] == "ok"
    for tag, base in (("v0", "v1"), ("v2", "v2"), ("v3", "v3")):  # v0: left over from an old deploy, unused
        build(engine, repository, tag, base)
    # staging pulls v2 for its migration (the image module), and has not created a container yet
    pulled = run_module("berth.deploy.image", {"name": repository, "tag": "v2", "pull": "missing"}, local_inventory)
    assert pulled["status"] == "ok", pulled["result"].get("msg")
    # meanwhile production releases (and prunes); another service of the repository prunes too
    again = release(unique, repository, unique, "v3", "production", local_inventory)
    assert again["status"] == "ok", again
    assert again["result"]["pruned_images"] == [f"{repository}:v0"]
    other = run_module("berth.deploy.image", {"name": repository, "state": "pruned"}, local_inventory)
    assert other["status"] == "ok", other
    assert other["result"]["removed"] == [] and other["result"]["pinned"] == [f"{repository}:v2"]
    assert tags(engine, repository) == {"v1", "v2", "v3"}  # v1: production's retained container
    # staging now releases v2 from the host's copy (its registry does not have this repository)
    staging = release(unique, repository, unique, "v2", "staging", local_inventory)
    assert staging["status"] == "ok", staging
    assert staging["result"]["roles"]["job"]["version"] == "v2"
    # the containers of both destinations keep their images, stopped or running
    final = run_module("berth.deploy.image", {"name": repository, "state": "pruned"}, local_inventory)
    assert final["result"]["removed"] == [] and tags(engine, repository) == {"v1", "v2", "v3"}
