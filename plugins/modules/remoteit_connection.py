#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The module runs as the action plugin plugins/action/remoteit_connection.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: remoteit_connection
short_description: Open or close a remote.it proxy connection to a device's service
version_added: 0.1.0
description:
  - Opens (O(state=present)) a remote.it proxy to a service of a device behind NAT, such as its SSH server,
    and returns the proxy's host and port; or closes (O(state=absent)) proxies opened earlier.
  - Opened connections are recorded in O(connections_file), because remote.it cannot report a proxy's
    address later. A recorded connection that remote.it still lists as active, and that is not about to
    expire, is returned again instead of opening a new one, so the task is idempotent.
  - remote.it's answer on which connections are active is trusted for 30 seconds, so many tasks in a row
    cost one API query.
  - Nothing it opens is left unrecorded. Before a connect is sent, its intent is written to O(connections_file);
    the answer completes it. A connect whose answer was lost is reconciled at once, and one whose run was killed
    (Ctrl-C, a stopped CI runner) is reconciled by the next task that touches that service, which finds the proxy
    it opened among remote.it's sessions and closes it. Only a session of this user to that service, opened with that
    connect and used by nobody, is ever taken for it; sessions of the remote.it app, of other controllers or of
    other users are left alone.
  - Runs on the controller. Use it directly in a play over the devices themselves, with C(gather_facts=false).
  - Jobs that do not share O(connections_file) (AWX/AAP workflows, CI runners) hand records over as data, in the
    variable C(remoteit_connections) (a list of RV(connection) results, as O(publish) or C(ansible.builtin.set_stats)
    collect them) or the host variable C(remoteit_connection) (that host's record, such as a cached fact). Both
    states use them as if they were in O(connections_file), once remote.it confirms that they are still open, and
    then write them into it (not in check mode). A record remote.it no longer lists is never reused; one it does
    not list yet (a proxy nobody has used) is reused only if its port answers. O(state=absent) closes a handed
    record only while remote.it lists it as a session of this key's user, and forgets the others here.
options:
  state:
    description:
      - V(present) returns a live recorded connection or opens a new one.
      - V(absent) closes O(connection_id), or every recorded connection of the selected service (restricted to
        O(host_ip) if set). Closing a connection that is already gone is not an error and reports no change.
        A record is forgotten only once remote.it answered for it, so a failure (such as a wrong O(api_url))
        keeps it for the next try.
      - When nothing is recorded for the selected service but remote.it lists live sessions of it (the
        connections file was lost, or another controller opened them), V(absent) warns how many there are;
        O(all_sessions=true) closes them.
    type: str
    choices: [present, absent]
    default: present
  host_ip:
    description:
      - Who may use a port proxy. Reverse proxies of http and https services are always public.
      - V(latching) (C(255.255.255.255)) lets the first address that connects use it, and only that address.
      - V(public) (C(0.0.0.0)) lets anyone who knows the host and port connect, and emits a warning.
      - Any IPv4 or IPv6 address restricts the proxy to connections from that address.
      - Defaults to V(latching) for O(state=present); for O(state=absent) it filters which records to close.
    type: str
  renew_before:
    description:
      - A recorded connection that expires within this many seconds is not reused; a new one is opened.
    type: int
    default: 300
  force:
    description:
      - Always open a new connection with O(state=present), even if a live one is recorded.
      - The older live records are kept, so a later O(state=absent) closes them all; only expired records and
        records remote.it no longer lists are dropped.
    type: bool
    default: false
  wait:
    description:
      - With O(state=present), wait until the proxy accepts TCP connections.
      - The probe connects from the controller, so a V(latching) proxy latches to the controller's address,
        which is the address that Ansible's own SSH connection will come from. A later job on another machine
        cannot use it then, and the task warns when it latches a new proxy that O(publish) hands to other jobs.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds O(wait) may take.
    type: int
    default: 60
  connection_id:
    description:
      - With O(state=absent), the id of the connection to close; no service selection is needed then.
    type: str
  all_sessions:
    description:
      - With O(state=absent), also close the account's active remote.it sessions for the selected service
        that this controller did not record, such as proxies opened from the remote.it desktop app.
    type: bool
    default: false
  publish:
    description:
      - With O(state=present), add RV(connection) to the run's statistics as the list C(remoteit_connections),
        collected over every host of the play, as M(ansible.builtin.set_stats) would collect RV(connection) after
        the task.
      - An AWX/AAP workflow passes them on to the next job's extra vars, where this module, the
        P(community.remoteit.remoteit_connection#lookup) lookup and the P(community.remoteit.ssh#connection)
        connection plugin use them. Outside AWX, C(ansible-runner) and callbacks such as C(ansible.builtin.json) show them.
    type: bool
    default: false
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
    details: No connect or disconnect is sent; RV(ignore:changed) predicts what would happen.
  diff_mode:
    support: full
seealso:
  - module: community.remoteit.remoteit_device_info
  - name: remote.it connections
    description: How remote.it proxies, connection modes and their lifetime work.
    link: https://docs.remote.it/developer-tools/api/usage-examples/connections
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# In a play over the devices themselves (hosts: raspberry_pis, gather_facts: false),
# optionally with module_defaults for group/community.remoteit.remoteit (profile, api_url, ...):
- name: Open a proxy to the device's SSH service
  community.remoteit.remoteit_connection:
    device: "{{ inventory_hostname }}"
    service: ssh
    wait: true
  register: proxy

- name: Reach the device through the proxy from now on
  ansible.builtin.set_fact:
    ansible_host: "{{ proxy.connection.host }}"
    ansible_port: "{{ proxy.connection.port }}"

- name: Gather facts over SSH through the proxy
  ansible.builtin.setup:

- name: Close the proxy again
  community.remoteit.remoteit_connection:
    device: "{{ inventory_hostname }}"
    service: ssh
    state: absent

- name: Open a proxy by service id that only one address may use
  community.remoteit.remoteit_connection:
    service_id: "80:00:00:00:01:02:03:04"
    host_ip: 203.0.113.10

- name: Close one connection by its id
  community.remoteit.remoteit_connection:
    connection_id: "{{ proxy.connection.id }}"
    state: absent

- name: Close every session of a service, also those opened elsewhere
  community.remoteit.remoteit_connection:
    device: kiosk-12
    service: vnc
    state: absent
    all_sessions: true
"""

RETURN = r"""
connection:
  description:
    - The open connection. Absent with O(state=absent), and in check mode when a new connection would be opened.
  returned: success and O(state=present)
  type: dict
  contains:
    id:
      description: The connection id; pass it as O(connection_id) to close this connection.
      type: str
      sample: 123ddfff-6432-49d0-6432-205d49d08454
    service_id:
      description: The service the proxy leads to.
      type: str
      sample: "80:00:00:00:01:02:03:04"
    service_name:
      description: The service's name, if known.
      type: str
      sample: ssh
    device_id:
      description: The device's id, if known.
      type: str
      sample: "80:00:00:00:01:02:03:00"
    device_name:
      description: The device's name, if known.
      type: str
      sample: pi-kitchen
    host:
      description: The proxy's host name; with RV(connection.port), where to connect.
      type: str
      sample: proxy18.rt3.io
    port:
      description: The proxy's TCP port; V(null) for reverse proxies, which are reached through RV(connection.url).
      type: int
      sample: 37488
    url:
      description: The proxy's URL as remote.it returned it.
      type: str
      sample: https://xprbjalo.p18.rt3.io
    reverse_proxy:
      description: Whether this is an http/https reverse proxy (always public) rather than a port proxy.
      type: bool
      sample: false
    host_ip:
      description: The host_ip the proxy was opened with (C(255.255.255.255) latching, C(0.0.0.0) public, or an address).
      type: str
      sample: 255.255.255.255
    created:
      description: When the connection was opened (ISO 8601, UTC).
      type: str
      sample: "2026-01-01T01:20:00Z"
    expires_at:
      description:
        - When the connection's lifetime ends (ISO 8601, UTC), if remote.it reported its timeout.
        - remote.it also closes a proxy about 15 minutes after the last TCP connection through it closes.
      type: str
      sample: "2026-01-01T09:20:00Z"
    timeout:
      description: The connection's lifetime in seconds, as remote.it reported it.
      type: int
      sample: 28800
    session_id:
      description: The id of the remote.it session of the proxy, which remote.it lists while it is open, if reported.
      type: str
      sample: 9a7c3e51-7d3c-4bfb-8f6d-3d0b0d1c1a2e
    api_url:
      description: The API endpoint the connection was opened with; records of another endpoint are not used.
      type: str
      sample: https://api.remote.it/graphql/v1
    host_key_alias:
      description:
        - The name ssh checks the device's host key under, C(remoteit-) and the service id with C(-) for C(:), as
          P(community.remoteit.ssh#connection) and the C(community.remoteit.proxy) role check it. Pass it to ssh as
          C(-o HostKeyAlias=...), so that a new proxy's address is not a new host in C(known_hosts).
      type: str
      sample: remoteit-80-00-00-00-01-02-03-04
    reused:
      description: Whether this is a connection opened earlier that was still alive.
      type: bool
      sample: false
closed:
  description: The ids of the connections that were closed (or, in check mode, would be).
  returned: success and O(state=absent)
  type: list
  elements: str
  sample: ["123ddfff-6432-49d0-6432-205d49d08454"]
waited:
  description: Seconds spent waiting until the proxy accepted connections.
  returned: O(wait=true) and a connection was returned
  type: float
  sample: 0.52
error:
  description: What kind of failure occurred, for tasks that handle failures.
  returned: failure
  type: dict
  contains:
    kind:
      description:
        - One of V(invalid_input), V(credentials), V(auth), V(throttled), V(network), V(tls), V(endpoint), V(response),
          V(not_found), V(ambiguous), V(offline), V(api), V(timeout), V(connections_file), V(dependency).
        - V(endpoint) means O(api_url) does not lead to remote.it's API (HTTP 404); V(not_found) means the API
          found no such device, service or organisation.
      type: str
      sample: offline
    status:
      description: The HTTP status of the API's answer, if there was one.
      type: int
      sample: 401
"""
