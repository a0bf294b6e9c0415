#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The module runs as the action plugin plugins/action/remoteit_device_info.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: remoteit_device_info
short_description: List remote.it devices and their services
version_added: 0.1.0
description:
  - Lists the devices of the remote.it account, with their services, paging through all of them.
  - Read-only. Runs on the controller.
options:
  state:
    description:
      - Only V(active) (online) or V(inactive) (offline) devices.
    type: str
    choices: [active, inactive]
extends_documentation_fragment:
  - community.remoteit.device_filters
  - community.remoteit.api
  - community.remoteit.api.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs the same in check mode.
  diff_mode:
    support: none
seealso:
  - module: community.remoteit.remoteit_connection
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
- name: List the online devices that have an SSH service
  community.remoteit.remoteit_device_info:
    state: active
    application: ssh
  register: online

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ online.devices | map(attribute='name') | list }}"

- name: List the canaries of one region, tagged both canary and eu-west in remote.it
  community.remoteit.remoteit_device_info:
    tags: [canary, eu-west]
    tags_match: all
  register: canaries

- name: Look up one device of an organisation account
  community.remoteit.remoteit_device_info:
    name: pi-kitchen
    account_id: "{{ remoteit_org_id }}"
"""

RETURN = r"""
devices:
  description: The matching devices, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
      sample: "80:00:00:00:01:00:00:01"
    name:
      description: The device name.
      type: str
      sample: pi-kitchen
    state:
      description: V(active) or V(inactive).
      type: str
      sample: active
    online:
      description: Whether remote.it sees the device online.
      type: bool
      sample: true
    services:
      description: The device's services.
      type: list
      elements: dict
      contains:
        id:
          description: The service id, usable as O(community.remoteit.remoteit_connection#module:service_id).
          type: str
          sample: "80:00:00:00:01:00:00:02"
        name:
          description: The service name.
          type: str
          sample: ssh
        application:
          description: The application type id (28 SSH, 7 HTTP, 8 HTTPS, 4 VNC, 5 RDP, 1 TCP, ...).
          type: int
          sample: 28
        application_name:
          description: The application type's title.
          type: str
          sample: SSH
        port:
          description: The port the service listens on at the device.
          type: int
          sample: 22
        host:
          description: The address the service is reached at from the device.
          type: str
          sample: 127.0.0.1
        state:
          description: V(active) or V(inactive).
          type: str
          sample: active
        enabled:
          description: Whether the service is enabled.
          type: bool
          sample: true
    tags:
      description:
        - The device's remote.it tags, as remote.it spells them. Whoever can tag the device chose them; they are
          data, never templates.
      type: list
      elements: str
      sample: [canary, eu-west]
error:
  description: What kind of failure occurred; see RV(community.remoteit.remoteit_connection#module:error).
  returned: failure
  type: dict
"""
