# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of community.remoteit.remoteit_connection (documented in plugins/modules/)."""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._action import (
    TARGET_OPTIONS,
    TARGET_RULES,
    RemoteitAction,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._api import checked_service_id, id_key
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import wait_for_port
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    HANDED_LIST_VAR,
    LATCHING,
    normalize_host_ip,
    public_warning,
    to_result,
)

LATCHED_BY_WAIT = ("publish: true hands the new latching proxy to other jobs, but wait: true connected to it from this "
                   "machine, so only this machine's address may use it now; for a job on another machine, open it "
                   "without wait (the first machine that connects gets it) or with host_ip set to that machine's address")


class ActionModule(RemoteitAction):

    argument_spec = dict(
        TARGET_OPTIONS,
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        host_ip={"type": "str"},
        renew_before={"type": "int", "default": 300},
        force={"type": "bool", "default": False},
        wait={"type": "bool", "default": False},
        wait_timeout={"type": "int", "default": 60},
        connection_id={"type": "str"},
        all_sessions={"type": "bool", "default": False},
        publish={"type": "bool", "default": False},
    )
    validation_rules = dict(TARGET_RULES, required_if=[["state", "present", ["service_id", "device"], True]])

    def execute(self, params, warnings):
        if params["state"] == "absent" and not (params["connection_id"] or params["service_id"] or params["device"]):
            raise InvalidInputError("state=absent needs connection_id, service_id, or device (and service)")
        if params["service_id"]:
            checked_service_id(params["service_id"])  # fail on a malformed id before any API call
        host_ip = params["host_ip"]
        if host_ip is None and params["state"] == "present":
            host_ip = "latching"
        host_ip = None if host_ip is None else normalize_host_ip(host_ip)
        manager = self.proxy_manager(params, warnings)
        if params["state"] == "present":
            warnings.extend(filter(None, [public_warning(host_ip)]))
            return self._present(manager, params, host_ip, warnings)
        return self._absent(manager, params, host_ip, warnings)

    def _present(self, manager, params, host_ip, warnings):
        selection = {"service_id": params["service_id"], "device": params["device"], "service": params["service"]}
        record, reused, target = manager.ensure(selection, host_ip, params["renew_before"], force=params["force"],
                                                check_mode=self.check_mode)
        result = {"changed": not reused}
        if record is not None:
            result["connection"] = to_result(record, reused=reused)
        if self.diff_mode:
            result["diff"] = {
                "before": to_result(record, reused=True) if reused else {"state": "absent"},
                "after": result.get("connection") or {"state": "present", "service_id": target["service_id"],
                                                      "host_ip": host_ip},
            }
        if params["wait"] and record is not None:
            # The usual case, a proxy this machine's play goes on to use, latches to the right address: say nothing.
            if host_ip == LATCHING and not reused and params["publish"]:
                warnings.append(LATCHED_BY_WAIT)
            result["waited"] = wait_for_port(record, params["wait_timeout"])
        if params["publish"] and record is not None:
            # What ansible.builtin.set_stats does: the run's stats (an AWX workflow's artifact) collect every host's.
            result["ansible_stats"] = {"data": {HANDED_LIST_VAR: [result["connection"]]}, "per_host": False,
                                       "aggregate": True}
        return result

    def _absent(self, manager, params, host_ip, warnings):
        if params["connection_id"]:
            service_id = checked_service_id(params["service_id"]) if params["service_id"] else None
            before = manager.recorded_by_id(params["connection_id"], service_id)
            ids = [params["connection_id"]]
        else:
            target, _records = manager.find(params["service_id"], params["device"], params["service"])
            service_id = target["service_id"]
            if not self.check_mode:
                manager.settle(service_id)
            before = manager.recorded(service_id, host_ip)
            ids = [record["id"] for record in manager.closable(before)]
            if params["all_sessions"]:
                ids += [session["id"] for session in manager.unrecorded_sessions(service_id)]
            elif not before:
                warnings.extend(_unrecorded_warning(manager, service_id))
        keys = {id_key(connection_id) for connection_id in ids}
        if self.check_mode:
            recorded_keys = {id_key(record["id"]) for record in before}
            closable = ([record["id"] for record in manager.alive(before, adopt=False) if id_key(record["id"]) in keys]
                        + [connection_id for connection_id in ids if id_key(connection_id) not in recorded_keys])
            result = {"changed": bool(closable), "closed": sorted(closable)}
        else:
            closed = manager.close(ids, service_id)
            # Handed-over records it may not close are gone or somebody else's: this machine does not keep them.
            manager.forget([record for record in before if id_key(record["id"]) not in keys])
            result = {"changed": bool(closed), "closed": closed}
        if self.diff_mode:
            result["diff"] = {"before": {"connections": [to_result(record) for record in before]},
                              "after": {"connections": []}}
        return result


def _unrecorded_warning(manager, service_id):
    """Nothing recorded to close: say so if remote.it still lists sessions of the service (one query)."""
    unrecorded = manager.unrecorded_sessions(service_id)
    if not unrecorded:
        return []
    return ["no connection to service %s is recorded in %s, but remote.it lists %d live session(s) of it that were "
            "not recorded here (the connections file was lost, or another controller or the remote.it app opened "
            "them); all_sessions: true closes them too" % (service_id, manager.store.path, len(unrecorded))]
