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
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import (
    is_expired,
    to_result,
)


class ActionModule(RemoteitAction):

    argument_spec = TARGET_OPTIONS
    validation_rules = TARGET_RULES

    def execute(self, params, warnings):
        manager = self.proxy_manager(params, warnings)
        if params["service_id"] or params["device"]:
            _target, records = manager.find(params["service_id"], params["device"], params["service"])
        else:
            records = manager.recorded()
        alive_ids = {record["id"] for record in manager.alive(records)} if records else set()
        connections = []
        for record in sorted(records, key=lambda item: item.get("created") or ""):
            connection = to_result(record, reused=True)
            connection.update(alive=record["id"] in alive_ids, expired=is_expired(record))
            connections.append(connection)
        return {"changed": False, "connections": connections}
