"""The example inventory: its configuration is valid and its chat hook says what happened."""
import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils._config import build_plan

EXAMPLE = Path(__file__).resolve().parents[3] / "inventories" / "example"
NOTIFY = EXAMPLE / ".hooks" / "notify-chat.sh"
ENV = {"BERTH_SERVICE": "myapp", "BERTH_DESTINATION": "", "BERTH_VERSION": "v42", "BERTH_PERFORMER": "alice@laptop",
       "BERTH_HOSTS": "app1,app2", "BERTH_MESSAGE": "", "BERTH_COMMAND": "deploy", "BERTH_RUNTIME": "31"}


def notify(**env):
    return subprocess.run([str(NOTIFY)], env={"PATH": os.environ["PATH"], **ENV, **env}, capture_output=True,
                          text=True, check=True, timeout=30).stdout.strip()


def test_example_configuration_is_valid_with_its_hooks():
    variables = yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text())
    plan = build_plan({**variables, "berth_version": "v42"}, group_names=["web"], inventory_dir=str(EXAMPLE),
                      inventory_sources=[str(EXAMPLE)])
    assert plan["hooks"]["post_deploy"] == plan["hooks"]["on_failure"] == [str(NOTIFY)]


def test_notify_prints_the_text_without_a_webhook():
    assert notify(BERTH_HOOK="post_deploy", BERTH_MESSAGE="slow release") == (
        "alice@laptop deployed myapp v42 to app1,app2 in 31s - slow release")
    assert notify(BERTH_HOOK="on_failure", BERTH_COMMAND="rollback", BERTH_DESTINATION="staging",
                  BERTH_ERROR="app2: myapp-web-v42 failed its health check") == (
        "alice@laptop could not roll back myapp (staging) v42: app2: myapp-web-v42 failed its health check")


@pytest.fixture
def webhook():
    """A chat webhook on loopback that records the JSON bodies posted to it."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the http.server API)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/chat", received
    server.shutdown()
    server.server_close()


def test_notify_posts_to_the_webhook(webhook):
    url, received = webhook
    assert notify(BERTH_HOOK="post_deploy", CHAT_WEBHOOK_URL=url) == ""
    assert received == [{"text": "alice@laptop deployed myapp v42 to app1,app2 in 31s"}]
