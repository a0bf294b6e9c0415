# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of community.remoteit.remoteit_device_info (documented in plugins/modules/)."""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._action import RemoteitAction
from ansible_collections.community.remoteit.plugins.plugin_utils._devices import application_id, device_matches
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import MATCHES, api_filter, checked_tags


class ActionModule(RemoteitAction):

    argument_spec = {
        "name": {"type": "str"},
        "name_contains": {"type": "str"},
        "state": {"type": "str", "choices": ["active", "inactive"]},
        "application": {"type": "str"},
        "tags": {"type": "list", "elements": "str"},
        "tags_match": {"type": "str", "default": "any", "choices": list(MATCHES)},
    }

    def execute(self, params, warnings):
        client = self.remoteit_client(params, warnings)
        application = application_id(client, params["application"]) if params["application"] else None
        tags = checked_tags(params["tags"])
        listed = client.iter_devices(name=params["name"] or params["name_contains"], state=params["state"],
                                     application=application, tag=api_filter(client, tags, params["tags_match"]))
        devices = [device for device in listed
                   if device_matches(device, params["name"], params["name_contains"], params["state"], application,
                                     tags, params["tags_match"])]
        return {"changed": False, "devices": devices}
