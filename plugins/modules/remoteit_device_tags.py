#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The module runs as the action plugin plugins/action/remoteit_device_tags.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: remoteit_device_tags
short_description: Add or remove the remote.it tags of a device
version_added: 0.1.0
description:
  - Adds tags to a remote.it device (O(state=present)) or removes them (O(state=absent)), so that a play can mark
    the devices it configured, and inventories, M(community.remoteit.remoteit_device_info) and rulebooks can select
    devices by tag.
  - Tag names compare case-insensitively, as remote.it may compare them; a tag the device or the account already
    has in another case is kept as remote.it spells it.
  - A tag the account has not defined yet is defined first. Nothing to change sends nothing to change it.
  - Whether it worked is read back from the device's tags as remote.it lists them afterwards; a tag that remote.it
    did not add or remove fails the task, saying what remote.it answered.
  - Runs on the controller.
options:
  device:
    description:
      - The device, by name (matched exactly, case-insensitively) or by device id, as
        M(community.remoteit.remoteit_connection) finds it.
      - A name that matches no device, or several, is an error that lists the candidates.
    type: str
    required: true
  tags:
    description:
      - The tag names to add or remove. Each is a non-empty string; names that differ only in case are one tag.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds the tags the device does not have; V(absent) removes those it has.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also remove every tag of the device that O(tags) does not name, so that it has
        exactly O(tags).
    type: bool
    default: false
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: In check mode the device is looked up, and nothing is sent that would change it.
  diff_mode:
    support: full
    details: The device's tags before and after, when they change.
seealso:
  - module: community.remoteit.remoteit_device_info
  - plugin: community.remoteit.remoteit
    plugin_type: inventory
  - ref: ansible_collections.community.remoteit.docsite.guide_tags
    description: Selecting and marking devices with remote.it tags.
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# The last task of a play over the devices of the community.remoteit.remoteit inventory: the module runs on the
# controller, so it needs no delegate_to.
- name: Mark a device as configured, once its play has configured it
  community.remoteit.remoteit_device_tags:
    device: "{{ remoteit_device_id }}"
    tags: [configured]

- name: Take a device out of the canary ring
  community.remoteit.remoteit_device_tags:
    device: pi-kitchen
    tags: [canary]
    state: absent

- name: Give a device exactly these tags, removing any other
  community.remoteit.remoteit_device_tags:
    device: pi-garage
    tags: [eu-west, line-3]
    exclusive: true
"""

RETURN = r"""
device:
  description: The device, as remote.it lists it.
  returned: success
  type: dict
  contains:
    id:
      description: The device id.
      type: str
      sample: "80:00:00:00:01:00:00:01"
    name:
      description: The device name.
      type: str
      sample: pi-kitchen
tags:
  description:
    - The device's tags afterwards, as remote.it spells them (in check mode, as they would be). Whoever can tag the
      device chose them; they are data, never templates.
  returned: success
  type: list
  elements: str
  sample: [canary, configured]
added:
  description: The tags added (in check mode, that would be added).
  returned: success
  type: list
  elements: str
  sample: [configured]
removed:
  description: The tags removed (in check mode, that would be removed).
  returned: success
  type: list
  elements: str
  sample: []
diff:
  description: The device's tags before and after.
  returned: changed
  type: dict
  sample: {"before": {"tags": [canary]}, "after": {"tags": [canary, configured]}}
error:
  description: What kind of failure occurred; see RV(community.remoteit.remoteit_connection#module:error).
  returned: failure
  type: dict
"""
