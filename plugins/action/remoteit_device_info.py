# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of community.remoteit.remoteit_device_info (documented in plugins/modules/)."""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._action import RemoteitAction
from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError, shown


class ActionModule(RemoteitAction):

    argument_spec = {
        "name": {"type": "str"},
        "name_contains": {"type": "str"},
        "state": {"type": "str", "choices": ["active", "inactive"]},
        "application": {"type": "str"},
    }

    def execute(self, params, warnings):
        client = self.remoteit_client(params, warnings)
        application = _application_id(client, params["application"]) if params["application"] else None
        name_filter = params["name"] or params["name_contains"]
        devices = []
        for device in client.iter_devices(name=name_filter, state=params["state"], application=application):
            if params["name"] and device["name"].lower() != params["name"].lower():
                continue
            if params["name_contains"] and params["name_contains"].lower() not in device["name"].lower():
                continue
            # The API documents these filters loosely (on services, not devices), so check them here too.
            if params["state"] and device["state"] != params["state"]:
                continue
            if application is not None and not any(s["application"] == application for s in device["services"]):
                continue
            devices.append(device)
        return {"changed": False, "devices": devices}


def _application_id(client, application):
    """An application type id from an id or a name such as ssh, as remote.it's device filter needs."""
    if application.strip().isdigit():
        return int(application)
    types = client.application_types()
    for item in types:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == application.strip().lower():
            return int(item["id"])
    known = ", ".join(sorted(str(item.get("name")) for item in types if isinstance(item, dict)))
    raise RemoteitError("unknown application %s; remote.it knows: %s" % (shown(application), known),
                        kind="invalid_input")
