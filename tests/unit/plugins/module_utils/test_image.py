"""Pins and the per-repository lock that keep a prune from removing an image another run just pulled."""
from __future__ import annotations

import os
import threading
import time

import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _image

from tests.unit.plugins.module_utils.engine_double import Engine

REPOSITORY = "registry.test/shop"


@pytest.fixture
def pins(tmp_path, monkeypatch) -> _image.Pins:
    monkeypatch.setattr(_image.Pins, "DIRECTORY", str(tmp_path / "image-pins"))
    return _image.Pins()


def test_a_pull_pins_until_a_container_of_it_is_created(pins):
    engine = Engine()
    pulled = _image.ensure(engine, f"{REPOSITORY}:v2", "always", None, False, pins)
    assert pulled.pin and pins.pinned(f"{REPOSITORY}:v2")
    assert _image.prune(engine, REPOSITORY, (), False, pins) == _image.Pruned(pinned=[f"{REPOSITORY}:v2"])
    _image.created_from(f"{REPOSITORY}:v2")  # what the container and app_exec modules call
    assert not pins.pinned(f"{REPOSITORY}:v2")
    assert _image.prune(engine, REPOSITORY, (), False, pins).removed == [f"{REPOSITORY}:v2"]
    assert engine.image_ids == {}


def test_two_runs_pulling_one_image_each_keep_it_until_both_created_their_container(pins):
    first = pins.pin(f"{REPOSITORY}:v2")
    pins.pin(f"{REPOSITORY}:v2")
    os.utime(first, (time.time() - 5, time.time() - 5))
    _image.created_from(f"{REPOSITORY}:v2")
    assert not os.path.exists(first) and pins.pinned(f"{REPOSITORY}:v2")
    _image.created_from(f"{REPOSITORY}:v2")
    assert not pins.pinned(f"{REPOSITORY}:v2")


def test_a_pin_of_a_run_that_died_expires(pins):
    stale = pins.pin(f"{REPOSITORY}:v2")
    os.utime(stale, (time.time() - pins.seconds - 1,) * 2)
    assert not pins.pinned(f"{REPOSITORY}:v2") and not os.path.exists(stale)


def test_check_mode_neither_pins_nor_removes(pins):
    engine = Engine()
    engine.images.pull(REPOSITORY, "v1")
    assert not _image.ensure(engine, f"{REPOSITORY}:v1", "missing", None, True, pins).pin
    assert _image.prune(engine, REPOSITORY, (), True, pins).removed == [f"{REPOSITORY}:v1"]
    assert f"{REPOSITORY}:v1" in engine.image_ids


def test_a_prune_while_another_run_pulls_the_repository_prunes_nothing(pins):
    engine = Engine()
    engine.images.pull(REPOSITORY, "v1")
    with pins.locked(REPOSITORY, exclusive=False):
        assert _image.prune(engine, REPOSITORY, (), False, pins) == _image.Pruned(busy=True)
        assert _image.prune(engine, "registry.test/other", (), False, pins).busy is False  # another repository
    assert _image.prune(engine, REPOSITORY, (), False, pins).removed == [f"{REPOSITORY}:v1"]


def test_a_pull_waits_for_a_prune_of_its_repository(pins):
    engine = Engine()
    pruning = threading.Event()

    def prune_slowly() -> None:
        with pins.locked(REPOSITORY, exclusive=True, wait=0):
            pruning.set()
            time.sleep(0.6)

    thread = threading.Thread(target=prune_slowly)
    thread.start()
    pruning.wait(5)
    with pytest.raises(_image.ImagesBusy, match="a prune of registry.test/shop on this host held its lock"):
        _image.ensure(engine, f"{REPOSITORY}:v1", "always", None, False, _image.Pins(wait=0.1))
    started = time.monotonic()
    _image.ensure(engine, f"{REPOSITORY}:v1", "always", None, False, pins)
    assert time.monotonic() - started > 0.2
    thread.join()


def test_a_failed_pull_leaves_no_pin(pins):
    engine = Engine()
    engine.registry_down = True
    with pytest.raises(RuntimeError):
        _image.ensure(engine, f"{REPOSITORY}:v1", "always", None, False, pins)
    assert not pins.pinned(f"{REPOSITORY}:v1")
