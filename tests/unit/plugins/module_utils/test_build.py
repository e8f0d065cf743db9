"""Shipping without a registry: which layers a host has, and an archive without them."""
from __future__ import annotations

import io
import json
import subprocess
import tarfile

import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _build


def test_a_host_has_the_longest_common_chain_of_any_of_its_images():
    ours = ["sha256:base", "sha256:deps", "sha256:app2"]
    assert _build.layers_present(ours, [["sha256:base", "sha256:deps", "sha256:app1"], ["sha256:base"]]) == 2
    assert _build.layers_present(ours, [["sha256:other", "sha256:deps"]]) == 0  # a chain, not a set of layers
    assert _build.layers_present(ours, []) == 0
    assert _build.layers_present(ours, [ours + ["sha256:more"]]) == 3


def write_archive(path, layers):
    """A docker save archive (classic layout) of one image with ``layers`` (directory names)."""
    config = {"rootfs": {"type": "layers", "diff_ids": [f"sha256:{name}" for name in layers]}}
    files = {"manifest.json": json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v2"],
                                           "Layers": [f"{name}/layer.tar" for name in layers]}]),
             "cfg.json": json.dumps(config)}
    for name in layers:
        files[f"{name}/layer.tar"] = name * 1000
        files[f"{name}/json"] = "{}"
    with tarfile.open(path, "w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_an_archive_without_the_layers_the_host_has(tmp_path):
    write_archive(tmp_path / "full.tar", ["a", "b", "c"])
    assert _build.archive_layers(str(tmp_path / "full.tar")) == (["sha256:a", "sha256:b", "sha256:c"],
                                                                 ["a/layer.tar", "b/layer.tar", "c/layer.tar"])
    left_out, size = _build.without_layers(str(tmp_path / "full.tar"), str(tmp_path / "part.tar"), 2)
    assert left_out == 2 and size < (tmp_path / "full.tar").stat().st_size
    with tarfile.open(tmp_path / "part.tar") as archive:
        names = archive.getnames()
    assert "c/layer.tar" in names and "a/layer.tar" not in names and "b/layer.tar" not in names
    assert {"manifest.json", "cfg.json", "a/json", "b/json"} <= set(names)  # docker load still reads these


def test_the_default_tag_is_the_commit_and_says_when_changes_are_built(tmp_path):
    def git(*arguments):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
                              capture_output=True, text=True, check=True).stdout.strip()

    with pytest.raises(_build.BuildError, match="not a git checkout with a commit"):
        _build.git_version(str(tmp_path))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    assert _build.git_version(str(tmp_path)) == (git("rev-parse", "HEAD"), "")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    version, warning = _build.git_version(str(tmp_path))
    assert version.startswith(git("rev-parse", "HEAD") + "-uncommitted-") and "uncommitted changes" in warning
    assert _build.git_version(str(tmp_path))[0] == version  # the same changes, the same tag


def test_the_plan_names_the_build_secrets_and_never_holds_them(tmp_path):
    from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan

    variables = {"berth_service": "shop", "berth_image": "r.test/shop", "berth_roles": {"job": {"cmd": "jobs"}},
                 "berth_builder": {"context": str(tmp_path), "secrets": {"NPM_TOKEN": "npm-secret-value-77"}}}
    plan = build_plan(variables, mode="setup")
    assert plan["build"]["secret_names"] == ["NPM_TOKEN"] and "npm-secret-value-77" not in str(plan)
    with pytest.raises(ConfigError) as caught:
        build_plan({**variables, "berth_builder": {"context": str(tmp_path), "secrets": {"bad-id": "npm-secret-value-77"}}},
                   mode="setup")
    assert "is not a secret id" in str(caught.value) and "npm-secret-value-77" not in str(caught.value)
