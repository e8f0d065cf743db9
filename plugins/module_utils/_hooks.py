# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy hooks: which files run at which point of a deploy, checked on the controller.

A hook file is an Ansible task file (``.yml`` / ``.yaml``, included on the host) or any other
file, an executable script run on the controller. ``normalize_hooks`` resolves relative paths
against the inventory directory and checks that every file is there (and scripts executable)
before a deploy starts, reporting each problem under its ``berth_hooks.<hook>[index]`` path.

Ansible reads every file under a directory given with ``-i`` as inventory, and runs executable
ones as inventory scripts, skipping only hidden entries: so hooks kept in an inventory directory
must sit in a hidden directory such as ``.hooks/``.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._checks import CONTROL_CHARACTERS, Checker, show

# In the order they run during a deploy; on_failure replaces post_deploy when the deploy failed.
HOOK_NAMES = ("pre_deploy", "pre_app_boot", "post_app_boot", "post_deploy", "on_failure")
TASK_FILE_SUFFIXES = (".yml", ".yaml")


def is_task_file(path: str) -> bool:
    return path.lower().endswith(TASK_FILE_SUFFIXES)


def normalize_hooks(check: Checker, value: t.Any, base_dir: str = "",
                    inventory_sources: t.Sequence[str] = ()) -> dict[str, list[str]]:
    """``berth_hooks`` -> every hook name mapped to its files as absolute paths, in order.

    ``inventory_sources`` (the ``-i`` sources): a hook file that Ansible would read as inventory
    (inside a source directory, not in a hidden directory) is a problem.
    """
    hooks: dict[str, list[str]] = {name: [] for name in HOOK_NAMES}
    if value is None or value == {}:
        return hooks
    if not isinstance(value, dict):
        check.problem("berth_hooks", f"{show(value)} is not a mapping of hook name to file(s), "
                                     f"e.g. {{post_deploy: .hooks/notify.sh}} (hooks: {', '.join(HOOK_NAMES)})")
        return hooks
    inventory_dirs = [os.path.realpath(source) for source in inventory_sources if os.path.isdir(source)]
    for name, files in value.items():
        path = f"berth_hooks.{name}"
        if name not in HOOK_NAMES:
            check.problem(path, f"unknown hook (allowed: {', '.join(HOOK_NAMES)})")
            continue
        for index, file in enumerate(_file_list(check, path, files)):
            resolved = _resolve(check, f"{path}[{index}]", file, base_dir)
            if resolved and not _read_as_inventory(check, f"{path}[{index}]", resolved, inventory_dirs):
                hooks[name].append(resolved)
    return hooks


def _file_list(check: Checker, path: str, files: t.Any) -> list[str]:
    if files is None:
        return []
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(file, str) and file.strip() for file in files):
        check.problem(path, f"{show(files)} is not a file path or a list of file paths "
                            "(a .yml/.yaml task file or an executable script)")
        return []
    for index, file in enumerate(files):
        if CONTROL_CHARACTERS.search(file):
            check.problem(f"{path}[{index}]", f"{show(file)} holds a line break or another control character")
            return []
    return files


def _resolve(check: Checker, path: str, file: str, base_dir: str) -> str:
    """The absolute path of a usable hook file, or "" after reporting why it is not usable."""
    expanded = os.path.expanduser(file.strip())
    if not os.path.isabs(expanded):
        if not base_dir:
            check.problem(path, f"{show(file)} is relative but the host has no inventory directory to resolve "
                                "it against; give an absolute path")
            return ""
        expanded = os.path.join(base_dir, expanded)
    resolved = os.path.normpath(expanded)
    kind = "task file" if is_task_file(resolved) else "script"
    if not os.path.exists(resolved):
        check.problem(path, f"{kind} {resolved} does not exist (relative paths start at the inventory directory)")
    elif not os.path.isfile(resolved):
        check.problem(path, f"{kind} {resolved} is not a file")
    elif not os.access(resolved, os.R_OK):
        check.problem(path, f"{kind} {resolved} is not readable")
    elif kind == "script" and not os.access(resolved, os.X_OK):
        check.problem(path, f"script {resolved} is not executable (chmod +x it; scripts run on the controller, "
                            "files ending in .yml/.yaml are included as task files)")
    else:
        return resolved
    return ""


def _read_as_inventory(check: Checker, path: str, file: str, inventory_dirs: list[str]) -> bool:
    """Whether Ansible reads ``file`` as inventory (reported as a problem)."""
    real = os.path.realpath(file)
    for directory in inventory_dirs:
        if os.path.commonpath([directory, real]) != directory:
            continue
        below = os.path.relpath(real, directory).split(os.sep)
        if not any(part.startswith(".") for part in below):
            check.problem(path, f"{file} is inside the inventory directory {directory}, where Ansible reads every "
                                "file as inventory and runs executable ones as inventory scripts; move it into a "
                                f"hidden directory (e.g. {os.path.join(directory, '.hooks', below[-1])}) "
                                "or out of the inventory directory")
            return True
    return False
