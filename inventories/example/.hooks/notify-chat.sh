#!/bin/sh
# A berth.deploy hook (see group_vars/all.yml, docs/hooks.md): tell the team's chat how a deploy went.
# Runs on the controller with BERTH_* in its environment. Set CHAT_WEBHOOK_URL (a Slack, Mattermost
# or Rocket.Chat incoming webhook taking {"text": ...}) where ansible-playbook runs; without it the
# text is only printed (ansible-playbook -v shows it).
set -eu
if [ "${BERTH_COMMAND:-deploy}" = rollback ]; then past="rolled back"; action="roll back"; else past=deployed; action=deploy; fi
target="$BERTH_SERVICE${BERTH_DESTINATION:+ ($BERTH_DESTINATION)}"
case "$BERTH_HOOK" in
  post_deploy) text="$BERTH_PERFORMER $past $target $BERTH_VERSION to $BERTH_HOSTS in ${BERTH_RUNTIME}s" ;;
  on_failure) text="$BERTH_PERFORMER could not $action $target $BERTH_VERSION: $BERTH_ERROR" ;;
  *) text="$BERTH_PERFORMER: $target $BERTH_VERSION, $BERTH_HOOK" ;;
esac
if [ -n "${BERTH_MESSAGE:-}" ]; then text="$text - $BERTH_MESSAGE"; fi
if [ -z "${CHAT_WEBHOOK_URL:-}" ]; then
  echo "$text"
  exit 0
fi
payload=$(python3 -c 'import json, sys; print(json.dumps({"text": sys.argv[1]}))' "$text")
curl --fail --silent --show-error --max-time 10 -H 'Content-Type: application/json' \
  --data "$payload" "$CHAT_WEBHOOK_URL" >/dev/null
