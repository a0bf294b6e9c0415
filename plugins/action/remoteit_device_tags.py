# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of community.remoteit.remoteit_device_tags (documented in plugins/modules/)."""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._action import RemoteitAction
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import ensure_tags


class ActionModule(RemoteitAction):

    argument_spec = {
        "device": {"type": "str", "required": True},
        "tags": {"type": "list", "elements": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "exclusive": {"type": "bool", "default": False},
    }

    def execute(self, params, warnings):
        return ensure_tags(self.remoteit_client(params, warnings), params["device"], params["tags"], params["state"],
                           params["exclusive"], check_mode=self.check_mode)
