# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ship an image from the controller's engine to a host over SSH, only the layers it lacks (no registry)."""
from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import time
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.berth.deploy.plugins.module_utils import _build

CACHE_DIR = os.path.join(tempfile.gettempdir(), "berth-ship")
CACHE_DAYS = 1


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("reference", "docker_host", "host_docker_host"))

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        reference = str(self._task.args.get("reference") or "")
        if ":" not in reference.rsplit("/", 1)[-1]:
            return {**result, "failed": True, "msg": f"reference: {reference!r} is not repository:tag"}
        started = time.monotonic()
        try:
            local_id, archive, diff_ids = self._saved(reference)
        except Exception as exc:  # pylint: disable=broad-except
            return {**result, "failed": True, "msg": f"Saving {reference} on the controller failed: {exc}"}
        host_args = {"docker_host": self._task.args["host_docker_host"]} if self._task.args.get("host_docker_host") else {}
        found = self._execute_module("berth.deploy.image_info", module_args={"reference": reference, **host_args},
                                     task_vars=task_vars)
        if found.get("failed"):
            return {**result, **found}
        if found.get("id") == local_id:
            return {**result, "changed": False, "reference": reference, "layers_sent": 0, "bytes_sent": 0,
                    "seconds": round(time.monotonic() - started, 3)}
        skip = _build.layers_present(diff_ids, found.get("chains") or [])
        if self._task.check_mode:
            return {**result, "changed": True, "reference": reference, "layers_sent": len(diff_ids) - skip,
                    "bytes_sent": 0, "seconds": 0.0}
        with tempfile.TemporaryDirectory(prefix="berth-ship-") as work:
            partial = os.path.join(work, "image.tar")
            _left_out, size = _build.without_layers(archive, partial, skip)
            remote_tmp = self._make_tmp_path()
            try:
                remote = self._connection._shell.join_path(remote_tmp, "image.tar")
                self._transfer_file(partial, remote)
                self._fixup_perms2((remote_tmp, remote))
                loaded = self._execute_module("berth.deploy.image", task_vars=task_vars, module_args={
                    "name": reference.rsplit(":", 1)[0], "tag": reference.rsplit(":", 1)[1], "archive_path": remote,
                    "pull": "missing", **host_args})
            finally:
                self._remove_tmp_path(remote_tmp)
        if loaded.get("failed"):
            return {**result, **loaded}
        return {**result, "changed": True, "reference": reference, "layers_sent": len(diff_ids) - skip,
                "layers_kept": skip, "bytes_sent": size, "seconds": round(time.monotonic() - started, 3)}

    def _saved(self, reference: str) -> tuple[str, str, list[str]]:
        """(image id, a ``docker save`` archive of it on the controller, its diff ids); one archive per image and
        reference, shared by the hosts of the run."""
        import docker  # pylint: disable=import-outside-toplevel

        base_url = self._task.args.get("docker_host") or "unix:///var/run/docker.sock"
        client = docker.DockerClient(base_url=base_url, version="auto", timeout=600,
                                     use_ssh_client=str(base_url).startswith("ssh://"))
        image_id = client.images.get(reference).id
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        # the archive names the reference it was saved as: one per image and tag (the same image has several)
        tagged = hashlib.sha256(reference.encode()).hexdigest()[:12]
        path = os.path.join(CACHE_DIR, f"{image_id.replace('sha256:', '')[:24]}-{tagged}.tar")
        if not os.path.exists(path):
            handle, partial = tempfile.mkstemp(dir=CACHE_DIR, suffix=".part")
            os.close(handle)
            try:
                _build.save(client, reference, partial)
                os.replace(partial, path)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
        for old in glob.glob(os.path.join(CACHE_DIR, "*.tar")):
            if old != path and os.path.getmtime(old) < time.time() - CACHE_DAYS * 86400:
                os.unlink(old)
        return image_id, path, _build.archive_layers(path)[0]
