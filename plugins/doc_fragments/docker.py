# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description: Docker engine address on the target.
    type: str
    default: unix:///var/run/docker.sock
  docker_timeout:
    description: Timeout in seconds for one Docker API call.
    type: int
    default: 120
requirements:
  - Docker SDK for Python >= 5.0.3 on the target (Debian 12 python3-docker)
"""
