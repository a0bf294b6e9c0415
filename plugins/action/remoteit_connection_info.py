# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of community.remoteit.remoteit_connection_info (documented in plugins/modules/)."""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._action import (
    TARGET_OPTIONS,
    TARGET_RULES,
    RemoteitAction,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import is_expired
from ansible_collections.community.remoteit.plugins.plugin_utils._records import now_utc, to_result


class ActionModule(RemoteitAction):

    argument_spec = TARGET_OPTIONS
    validation_rules = TARGET_RULES

    def execute(self, params, warnings):
        manager = self.proxy_manager(params, warnings, read_only=True)
        if params["service_id"] or params["device"]:
            _target, records = manager.find(params["service_id"], params["device"], params["service"])
        else:
            records = manager.recorded()
        alive = manager.alive(records) if records else []
        now = now_utc()
        connections = []
        for record in sorted(records, key=lambda item: item.get("created") or ""):
            connection = to_result(record, reused=True)
            connection.update(alive=any(record is live for live in alive), expired=is_expired(record, now))
            connections.append(connection)
        return {"changed": False, "connections": connections}
