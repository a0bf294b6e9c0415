# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The device filters that remoteit_device_info and the inventory plugin share (_devices.device_matches applies
    # them); the event source device_events documents its own name_contains, application, tags and tags_match alike.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Only the device with exactly this name, compared case-insensitively.
    type: str
  name_contains:
    description:
      - Only devices whose name contains this text, compared case-insensitively.
    type: str
  application:
    description:
      - Only devices with a service of this application type, by name such as V(ssh) or by id such as V(28).
      - A name costs one request for remote.it's application types; an id costs none.
    type: str
  tags:
    description:
      - Only devices with these remote.it tags (any of them, or all with O(tags_match=all)), compared
        case-insensitively.
      - remote.it filters the devices itself, so the account's other devices are never fetched. It costs one
        request for the account's tag names, so that a tag is asked for as remote.it spells it.
    type: list
    elements: str
  tags_match:
    description:
      - Whether a device needs V(any) of O(tags) or V(all) of them.
    type: str
    choices: [any, all]
    default: any
"""
