#!/usr/bin/env bash
# The main job, on local throwaway servers: prepare this machine, start a server (systemd + sshd +
# dockerd in a container on 127.0.0.21), set it up, deploy v1, then deploy v2 under keep-alive load
# and show that no request failed.  Remove the server afterwards with:
#   bash tests/testbed/server.sh down berth-demo1
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/testbed/prepare.sh
[ -f ~/.ssh/berth_demo ] || ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/berth_demo
bash tests/testbed/server.sh up berth-demo1 127.0.0.21
bash tests/testbed/server.sh authorize berth-demo1 ~/.ssh/berth_demo.pub

run() { echo "+ $*"; "$@"; }
answer() { curl -fsS -H 'Host: demo.test' http://127.0.0.21/; }
run ansible-playbook -i inventories/demo playbooks/setup.yml
BERTH_VERSION=v1 run ansible-playbook -i inventories/demo playbooks/deploy.yml
echo "serving: $(answer)"
BERTH_VERSION=v2 run python3 -m tests.support.load 127.0.0.21 demo.test --clients 8 -- \
  ansible-playbook -i inventories/demo playbooks/deploy.yml
echo "serving: $(answer)"
