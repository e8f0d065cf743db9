# Test-only callback: write every task result of a playbook run to $BERTH_RESULTS_FILE (JSON lines).
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: berth_results
type: notification
short_description: Record task results for berth.deploy's tests
description: Appends one JSON line per task result to the file named by BERTH_RESULTS_FILE.
requirements: [BERTH_RESULTS_FILE set]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "berth_results"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status: str, item: bool = False) -> None:
        path = os.environ.get("BERTH_RESULTS_FILE")
        if not path:
            return
        record = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "item": item,
            "result": self._clean(result._result),
        }
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, default=str) + "\n")

    def _clean(self, value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._write(result, "ok", item=True)

    def v2_runner_item_on_failed(self, result):
        self._write(result, "failed", item=True)
