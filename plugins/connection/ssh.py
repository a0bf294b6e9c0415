# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ssh
short_description: Reach a device behind NAT over SSH, through a remote.it proxy it opens or reuses
version_added: 0.1.0
description:
  - This is C(ansible.builtin.ssh) with one step before it connects. The first time a host is used in a run
    (fact gathering included), it reuses the live proxy recorded for the host's remote.it service, or opens one,
    and points SSH at it. Every option, variable and C(ansible.cfg) setting of C(ansible.builtin.ssh) works as
    there.
  - Proxies are recorded in O(connections_file) like those of M(community.remoteit.remoteit_connection), which
    closes them (O(community.remoteit.remoteit_connection#module:state=absent)). This plugin never closes a proxy;
    ansible-core closes connections after every task, and the next task reuses the proxy without an API call.
  - In a job on another machine (an AWX/AAP workflow, a CI runner), the records an earlier job handed over in
    O(remoteit_connections) or O(remoteit_connection) are reused the same way, once remote.it confirms them.
  - Host key checking stays on. The proxy's host and port change whenever a new proxy is opened, so SSH checks
    the device's key under a stable alias instead, C(remoteit-) and the service id with C(-) for C(:)
    (C(HostKeyAlias)), and a device that answers with another key is refused.
  - The alias is given to C(ssh), C(scp) and C(sftp) as an option of its own, after the options you give them. SSH
    keeps the first value of an option, so a C(HostKeyAlias) of your own (in O(ssh_common_args), for instance) is
    used instead.
  - The proxy's host, port and service id come from remote.it or from O(connections_file); a value that is not a
    host name or address, a port or a service id makes the host unreachable and never reaches SSH.
  - A proxy that stopped answering (expired, or closed elsewhere) is replaced once, and the task goes on.
  - An offline, unknown or ambiguous device makes the host unreachable with the same message the module gives;
    other hosts go on.
options:
  remoteit_device:
    description:
      - The device, by name or device id.
      - Defaults to the host variable C(remoteit_device_name) that the C(community.remoteit.remoteit) inventory
        plugin sets, else to the host's name (for a task with C(delegate_to), the host delegated to).
    type: str
    vars:
      - name: remoteit_device_name
      - name: remoteit_device
  remoteit_service:
    description:
      - The name of the device's service to connect SSH to.
    type: str
    default: ssh
    vars:
      - name: remoteit_service
  remoteit_service_id:
    description:
      - The service id, such as V(80:00:00:00:01:02:03:04), instead of O(remoteit_device) and O(remoteit_service).
    type: str
    vars:
      - name: remoteit_service_id
  remoteit_host_ip:
    description:
      - The O(community.remoteit.remoteit_connection#module:host_ip) of a proxy this plugin opens.
      - The default V(latching) lets the first address that connects use it, and only that address, which is
        this controller's.
    type: str
    default: latching
    vars:
      - name: remoteit_host_ip
  remoteit_renew_before:
    description:
      - A recorded proxy that expires within this many seconds is not reused; a new one is opened.
    type: int
    default: 300
    vars:
      - name: remoteit_renew_before
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.plugins
  - community.remoteit.api.vars
  - community.remoteit.api.records
  - community.remoteit.ssh_options
  - ansible.builtin.connection_pipelining
notes:
  - The shared options (O(api_url), O(access_key_id), ...) are read from the variables C(remoteit_api_url),
    C(remoteit_access_key_id), ..., from their environment variables, and from the C([remoteit]) section of
    C(ansible.cfg).
seealso:
  - module: community.remoteit.remoteit_connection
  - plugin: community.remoteit.remoteit
    plugin_type: inventory
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# inventory.yml: the devices by their remote.it names; no address is needed.
# all:
#   hosts:
#     pi-kitchen:
#     pi-garage:
#   vars:
#     ansible_connection: community.remoteit.ssh
#     ansible_user: pi
# The first run records each device's host key (under its alias), later runs check it strictly:
#   ansible-playbook -i inventory.yml site.yml --ssh-extra-args='-o StrictHostKeyChecking=accept-new'
#   ansible-playbook -i inventory.yml site.yml

- name: Configure devices behind NAT
  hosts: all
  tasks:
    - name: Any module runs on the device, through a proxy opened on first use
      ansible.builtin.copy:
        content: "Managed by Ansible\n"
        dest: /etc/motd
        mode: "0644"
      become: true

- name: Close the proxies when done
  hosts: all
  gather_facts: false
  tasks:
    - name: Close what was opened for each device
      community.remoteit.remoteit_connection:
        device: "{{ inventory_hostname }}"
        service: ssh
        state: absent
"""

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection.ssh import Connection as SshConnection
from ansible.utils.display import Display

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import IDLE_TIMEOUT, port_answers
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    HANDED_HOST_VAR,
    HANDED_LIST_VAR,
    handed_records,
    normalize_host_ip,
    public_warning,
)

display = Display()


class Connection(SshConnection):
    """ansible.builtin.ssh, pointed at a remote.it proxy of the host's service before it first connects."""

    transport = "community.remoteit.ssh"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._proxy = None
        self._manager = None
        self._replaced = False
        self._option_sources = (None, None)
        self._host_name = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._option_sources = (var_options, direct)  # where each option came from, for credential messages
        if self._proxy is None:
            # The host's name as ssh would connect to it: for delegate_to, the delegated host's, which the
            # variable inventory_hostname is not. The proxy's address replaces it later.
            self._host_name = self.get_option("host")

    def _connect(self):
        if not self._connected:
            try:
                self._point_at(self._ensure_proxy(replace=None))
            except RemoteitError as exc:
                raise AnsibleConnectionFailure("community.remoteit.ssh: %s" % exc) from None
        return super()._connect()

    def exec_command(self, *args, **kwargs):
        return self._through_proxy(super().exec_command, *args, **kwargs)

    def put_file(self, *args, **kwargs):
        return self._through_proxy(super().put_file, *args, **kwargs)

    def fetch_file(self, *args, **kwargs):
        return self._through_proxy(super().fetch_file, *args, **kwargs)

    def _through_proxy(self, method, *args, **kwargs):
        """Run an ssh operation; if the proxy stopped answering (expired, closed elsewhere), replace it once."""
        try:
            return method(*args, **kwargs)
        except AnsibleConnectionFailure:
            if self._replaced or self._proxy is None or port_answers(self._proxy):
                raise
        self._replaced = True
        display.vvv("community.remoteit.ssh: proxy %s:%s does not answer; replacing it"
                    % (self._proxy["host"], self._proxy["port"]), host=self._play_context.remote_addr)
        try:
            self._point_at(self._ensure_proxy(replace=self._proxy))
        except RemoteitError as exc:
            raise AnsibleConnectionFailure("community.remoteit.ssh: %s" % exc) from None
        return method(*args, **kwargs)

    def reset(self):
        """Stop the ControlMaster of the host's proxy, not one of the host's name: ansible-core resets with a plugin
        that never connected, so point it at the live recorded proxy first. None is opened for it: without a
        proxy there is no master to stop."""
        if self._proxy is None:
            try:
                record = self._ensure_proxy(replace=None, open_new=False)
            except RemoteitError as exc:
                record = None
                display.vvv("community.remoteit.ssh: no proxy to reset: %s" % exc, host=self._play_context.remote_addr)
            if record is None:
                return self.close()
            self._point_at(record)
        return super().reset()

    def _ensure_proxy(self, replace, open_new=True):
        """The proxy record for the host's service: the live recorded one, or a new one (None if not `open_new`).

        A record this controller opened or confirmed within the proxies' idle expiry is used without asking
        remote.it: SSH finds out soon enough if it stopped answering, and then it is replaced.
        """
        if self._manager is None:
            options = plugin_options(self)
            sources = plugin_sources(self, "the connection options", *self._option_sources)
            handed = handed_records(self.get_option(HANDED_LIST_VAR), self.get_option(HANDED_HOST_VAR))
            self._manager = ProxyManager(build_client(options, sources, display.warning), build_store(options), handed,
                                         display.warning)
        if replace is not None:
            self._manager.retire(replace)
        service_id = self.get_option("remoteit_service_id")
        selection = ({"service_id": service_id} if service_id else
                     {"device": self.get_option("remoteit_device") or self._host_name,
                      "service": self.get_option("remoteit_service")})
        host_ip = normalize_host_ip(self.get_option("remoteit_host_ip"))
        record, reused, _target = self._manager.ensure(selection, host_ip, self.get_option("remoteit_renew_before"),
                                                       check_mode=not open_new, trust=IDLE_TIMEOUT)
        if record is None:
            return None
        if not reused and public_warning(host_ip):
            display.warning(public_warning(host_ip))
        if record.get("port") is None:
            raise InvalidInputError("service %s is served by a reverse proxy (%s), not a port SSH can connect to"
                                    % (record["service_id"], record.get("url")))
        return record

    def _point_at(self, record):
        """Have the ssh code connect to this proxy. Its host, port and service id are data (remote.it's answer, a
        connections file) that become arguments of ssh: each is checked before anything uses it."""
        what = "the proxy record %s" % _untrusted.bounded(record.get("id"))
        host = _checked(what, "host", _untrusted.host, record.get("host"))
        port = _checked(what, "port", _untrusted.port, record.get("port"))
        _checked(what, "service_id", _untrusted.service_id, record.get("service_id"))
        self._proxy = record
        self.set_option("host", host)
        self.set_option("port", port)
        self.host, self.port = host, port

    def _build_command(self, binary, subsystem, *other_args):
        """ansible-core's ssh, scp or sftp command, with the device's host key alias as an option of its own.

        It comes after every option a user gave (ssh keeps the first value of each, so their own HostKeyAlias
        wins) and before the host. Both come from the proxy record, checked again here: nothing built from data
        is split like a shell line, and nothing from it can be read as another option.
        """
        what = "to run %s" % binary
        service_id = _checked(what, "service_id", _untrusted.service_id, (self._proxy or {}).get("service_id"))
        _checked(what, "host", _untrusted.host, self.host)
        command = super()._build_command(binary, subsystem, *other_args)
        at = len(command) - len(other_args)
        if command[at:] != [to_bytes(arg) for arg in other_args]:
            raise AnsibleConnectionFailure("community.remoteit.ssh: this ansible-core builds %s commands in a way the "
                                           "plugin does not know; it cannot add the host key alias" % subsystem)
        command[at:at] = [b"-o", to_bytes("HostKeyAlias=remoteit-%s" % service_id.replace(":", "-").lower())]
        return command


def _checked(what, field, check, value):
    """The value as `check` returns it; a value it refuses fails the connection, naming the field."""
    try:
        return check(value)
    except ValueError as exc:
        raise AnsibleConnectionFailure("community.remoteit.ssh: refused %s: %s: %s" % (what, field, exc)) from None
