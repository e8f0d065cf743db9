# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's default output, without what a person does not read: ok and skipped results, play
banners and include lines. Changes, failures, warnings and messages (the deploy's summary) stay."""
from __future__ import annotations

DOCUMENTATION = r"""
name: brief
type: stdout
short_description: Deploy output a person reads - the summary, changes, failures and warnings, no skipped tasks
version_added: 0.2.0
description:
  - Ansible's C(default) output, except that at verbosity 0 it leaves out play banners, include lines,
    and the banners and results of tasks that were skipped or ran without a change.
  - Messages (C(ansible.builtin.debug), the deploy's summary of one line per host and role), changes,
    failures, warnings and the play recap are shown as the C(default) callback shows them.
  - With C(-v) or more it is exactly the C(default) callback.
  - Automation Platform and AWX use their own callback for job events; this one is for terminals and CI logs.
  - "Enable it with C(stdout_callback = berth.deploy.brief) in C(ansible.cfg), or C(ANSIBLE_STDOUT_CALLBACK=berth.deploy.brief)."
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout callback in the configuration
"""

import typing as t

from ansible.plugins.callback.default import CallbackModule as DefaultCallback

QUIET_OPTIONS = ("display_ok_hosts", "display_skipped_hosts")


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "berth.deploy.brief"

    def _quiet(self) -> bool:
        return self._display.verbosity < 1

    def get_option(self, k: str, hostvars: t.Any = None) -> t.Any:  # pylint: disable=arguments-differ
        if k in QUIET_OPTIONS and self._quiet():
            return False
        return super().get_option(k) if hostvars is None else super().get_option(k, hostvars)

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        if self._quiet():
            self._play = play
            return
        super().v2_playbook_on_play_start(play)

    def v2_playbook_on_include(self, included_file: t.Any) -> None:
        if not self._quiet():
            super().v2_playbook_on_include(included_file)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        if not self._quiet() or result.result.get("changed", False):
            super().v2_runner_on_ok(result)
            return
        self._handle_warnings_and_exception(result)
        self._show_message(result.result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        if not self._quiet() or result.result.get("changed", False):
            super().v2_runner_item_on_ok(result)
            return
        self._show_message(result.result)

    def _show_message(self, outcome: t.Mapping[str, t.Any]) -> None:
        """What a debug task (or the deploy's summary) says, line by line, without the result around it."""
        if outcome.get("_ansible_verbose_always") and "msg" in outcome:
            message = outcome["msg"]
            for line in message if isinstance(message, list) else str(message).splitlines():
                self._display.display(str(line))
