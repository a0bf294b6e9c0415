# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of this collection's modules, which run as action plugins on the controller.

The device a play targets is unreachable until a proxy exists, so nothing here is sent to it:
each task validates its arguments like a module and talks to remote.it in-process.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import env_fallback
from ansible.plugins.action import ActionBase

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import DependencyError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._transport import http_library
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    CONNECTION_OPTIONS,
    SECRET_OPTIONS,
    build_client,
    build_store,
    module_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import HANDED_HOST_VAR, HANDED_LIST_VAR, handed_records

# The controller loads action plugins before it forks a worker per task, so importing the HTTP libraries here is
# paid once per run; imported on first use instead, every task that talks to remote.it would pay it in its own
# worker (bench/README.md, "fixed cost of a run").
try:
    http_library()
except DependencyError:  # the client says how to install it when a task first needs it
    pass

TARGET_OPTIONS = {
    "service_id": {"type": "str"},
    "device": {"type": "str"},
    "service": {"type": "str"},
}
TARGET_RULES = {
    "mutually_exclusive": [["service_id", "device"], ["service_id", "service"]],
    "required_by": {"service": "device"},
}


def _connection_argument_spec():
    spec = {}
    for name, (kind, default, env) in CONNECTION_OPTIONS.items():
        option = {"type": kind, "no_log": name in SECRET_OPTIONS}
        if default is not None:
            option["default"] = default
        if env:
            option["fallback"] = (env_fallback, [env])
        spec[name] = option
    return spec


class RemoteitAction(ActionBase):
    """Validate the task's arguments, run `execute`, and report RemoteitError as a clean failure."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    argument_spec = {}
    validation_rules = {}
    _task_vars = {}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self._task_vars = task_vars or {}
        try:
            validation, _args = self.validate_argument_spec(
                argument_spec=dict(_connection_argument_spec(), **self.argument_spec), **self.validation_rules)
        except AnsibleActionFail as exc:  # ansible-core < 2.19 leaves reporting it to the action
            # 2.21 no longer copies the message into exc.result; every core has it as exc.message.
            result.update(failed=True, msg=exc.message)
            return result
        params = validation.validated_parameters
        warnings = []
        try:
            result.update(self.execute(params, warnings))
        except RemoteitError as exc:
            result.update(failed=True, msg=str(exc), error=exc.as_dict())
        if warnings:
            result["warnings"] = warnings
        return result

    @property
    def check_mode(self):
        return bool(self._task.check_mode)

    @property
    def diff_mode(self):
        return bool(self._task.diff)

    def remoteit_client(self, params, warnings):
        """The API client for the task, knowing whether its key pair came from the task or the environment."""
        return build_client(params, module_sources(self._task.args), warnings.append)

    def proxy_manager(self, params, warnings, read_only=False):
        """The proxy manager for the task, with the records an earlier job handed over in the task's variables.

        In check mode, or for a task that only reads (`read_only`), it never writes the connections file.
        """
        handed = handed_records(*(self._templar.template(self._task_vars.get(name))
                                  for name in (HANDED_LIST_VAR, HANDED_HOST_VAR)))
        return ProxyManager(self.remoteit_client(params, warnings), build_store(params), handed, warnings.append,
                            read_only=read_only or self.check_mode)

    def execute(self, params, warnings):
        """Do the task's work; return the result dict. `warnings` collects messages for the user."""
        raise NotImplementedError
