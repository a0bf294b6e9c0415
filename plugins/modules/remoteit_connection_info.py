#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The module runs as the action plugin plugins/action/remoteit_connection_info.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: remoteit_connection_info
short_description: List the remote.it connections this controller recorded, and whether they are alive
version_added: 0.1.0
description:
  - Lists the connections that M(community.remoteit.remoteit_connection) opened and recorded in O(connections_file)
    for O(api_url), marking each as alive (remote.it still lists it as an active session) and expired
    (its lifetime has ended).
  - Read-only; with no selection it lists every recorded connection.
  - Records an earlier job handed over in the variables C(remoteit_connections) and C(remoteit_connection) are
    listed too, as if they were in O(connections_file); see M(community.remoteit.remoteit_connection).
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.target
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
  - plugin: community.remoteit.remoteit_connection
    plugin_type: lookup
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
- name: List every recorded connection
  community.remoteit.remoteit_connection_info:
  register: recorded

- name: Show the ones that are still usable
  ansible.builtin.debug:
    msg: "{{ recorded.connections | selectattr('alive') | map(attribute='device_name') | list }}"

- name: The connections of one device's SSH service
  community.remoteit.remoteit_connection_info:
    device: pi-kitchen
    service: ssh
"""

RETURN = r"""
connections:
  description:
    - The recorded connections, oldest first, each shaped like the RV(community.remoteit.remoteit_connection#module:connection)
      result of M(community.remoteit.remoteit_connection), plus RV(connections[].alive) and RV(connections[].expired).
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The connection id.
      type: str
    service_id:
      description: The service the proxy leads to.
      type: str
    service_name:
      description: The service's name, if known.
      type: str
    device_id:
      description: The device's id, if known.
      type: str
    device_name:
      description: The device's name, if known.
      type: str
    host:
      description: The proxy's host name.
      type: str
    port:
      description: The proxy's TCP port; V(null) for reverse proxies.
      type: int
    url:
      description: The proxy's URL.
      type: str
    reverse_proxy:
      description: Whether this is an http/https reverse proxy.
      type: bool
    host_ip:
      description: The host_ip the proxy was opened with.
      type: str
    created:
      description: When it was opened (ISO 8601, UTC).
      type: str
    expires_at:
      description: When its lifetime ends (ISO 8601, UTC), if known.
      type: str
    timeout:
      description: Its lifetime in seconds.
      type: int
    session_id:
      description: The id of its remote.it session, if reported.
      type: str
    api_url:
      description: The API endpoint it was opened with.
      type: str
    host_key_alias:
      description: The name ssh checks the device's host key under (C(-o HostKeyAlias=...)).
      type: str
    reused:
      description: Always V(true) here, as these are connections opened earlier.
      type: bool
    alive:
      description:
        - Whether remote.it lists it as an active session, under its connection id or its session id (a connection
          nobody has used yet may count as alive for up to 15 minutes, as remote.it may not list it before first
          use).
      type: bool
    expired:
      description: Whether its lifetime has ended.
      type: bool
error:
  description: What kind of failure occurred; see RV(community.remoteit.remoteit_connection#module:error).
  returned: failure
  type: dict
"""
