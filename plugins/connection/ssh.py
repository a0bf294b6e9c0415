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
  - When SSH through a proxy fails, the plugin asks remote.it why. A device that is offline makes the host
    unreachable with the message the module gives, whether remote.it keeps its proxy or closes it, so
    C(ansible.builtin.reboot) and C(ansible.builtin.wait_for_connection) wait for it. A proxy that is gone (expired,
    closed elsewhere or while its device rebooted) is replaced and the operation repeated, once per operation and as
    often as it happens. Anything else is the device's own fault (a wrong key, sshd down), and SSH's error stands.
  - An offline, unknown or ambiguous device makes the host unreachable with the same message the module gives;
    other hosts go on.
  - A service that remote.it serves through a reverse proxy (HTTP or HTTPS) is refused before a proxy is opened, when
    the device lookup or a record tells; with only O(remoteit_service_id), the proxy that connect opened is closed
    at once.
  - The ControlPath of SSH's master connections is a hash of the service id and the remote user in
    O(control_path_dir), never of the proxy's host and port, which a proxy of another device may get later, so no
    master is shared between devices. A O(control_path), or a C(ControlPath) in the SSH arguments, of your own is
    used instead. C(meta) C(reset_connection) stops the master of the host's proxy.
  - With C(-vvv), the plugin says which proxy (connection id, host and port) it reused, opened, confirmed or
    replaced, and why.
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
  remoteit_inventory_selection:
    description:
      - The device, service and service id that the C(community.remoteit.remoteit) inventory plugin found for the
        host (C(connect_mode=on_demand)). While O(remoteit_device) and O(remoteit_service) are still the ones it set,
        the plugin selects by its service id, and opens a proxy with one request to remote.it instead of looking
        the device up first; a O(remoteit_device) or O(remoteit_service) of your own is looked up by name.
      - Set by the inventory plugin, not meant to be set by hand.
    type: dict
    vars:
      - name: remoteit_inventory_selection
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
  gather_facts: false  # facts would open the proxies again
  tasks:
    - name: Close what was opened for each device
      community.remoteit.remoteit_connection:
        # the device and service the plugin used: its defaults, unless the inventory set them
        device: "{{ remoteit_device | default(inventory_hostname) }}"
        service: "{{ remoteit_service | default('ssh') }}"
        state: absent
      check_mode: false  # what a --check run opened, it closes too
"""

import hashlib

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection.ssh import Connection as SshConnection
from ansible.utils.display import Display

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._api import id_key, same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import keep_out_of_output
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, OfflineError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import GONE, IDLE_TIMEOUT, port_answers, verdict
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    HANDED_HOST_VAR,
    HANDED_LIST_VAR,
    handed_records,
    host_key_alias,
    normalize_host_ip,
    now_utc,
    public_warning,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import (
    REVERSE_PROXY_APPLICATIONS,
    require_online,
    service_target,
)

display = Display()


class Connection(SshConnection):
    """ansible.builtin.ssh, pointed at a remote.it proxy of the host's service before it first connects."""

    transport = "community.remoteit.ssh"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._proxy = None
        self._manager = None
        self._option_sources = (None, None)
        self._host_name = None
        self._users_control_path = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._option_sources = (var_options, direct)  # where each option came from, for credential messages
        # This plugin's definitions of ssh's secrets replace the builtin's, which 2.22 declares secret (a declaration
        # older cores' docs refuse): register them as core registers the builtin's.
        keep_out_of_output(*(self.get_option(name) for name in ("password", "private_key", "private_key_passphrase")))
        self._users_control_path = self.get_option("control_path")
        if self._proxy is None:
            # The host's name as ssh would connect to it: for delegate_to, the delegated host's, which the
            # variable inventory_hostname is not. The proxy's address replaces it later.
            self._host_name = self.get_option("host")
        else:
            # ansible-core sets the options again for each item of a loop, on the plugin that stays connected: the
            # host and port go back to the inventory's, and must point at the proxy again.
            self._point_at(self._proxy)

    def _connect(self):
        """Find the proxy once: the operations after the first (and after a reset) use it without a lookup."""
        if self._proxy is None:
            self._point_at(self._remoteit(self._ensure_proxy, replace=None))
        self._connected = True
        return super()._connect()

    def exec_command(self, *args, **kwargs):
        return self._through_proxy(super().exec_command, *args, **kwargs)

    def put_file(self, *args, **kwargs):
        return self._through_proxy(super().put_file, *args, **kwargs)

    def fetch_file(self, *args, **kwargs):
        return self._through_proxy(super().fetch_file, *args, **kwargs)

    def _through_proxy(self, method, *args, **kwargs):
        """Run an ssh operation; if it fails, ask remote.it why. An offline device fails with the module's message, a
        proxy that is gone is replaced and the operation repeated once, and anything else is the device's own fault:
        ssh's error stands. Each operation may replace the proxy again (a device rebooted twice in one play)."""
        try:
            return method(*args, **kwargs)
        except AnsibleConnectionFailure as failure:
            if self._proxy is None:
                raise
            try:
                gone = self._proxy_gone(self._proxy, failure)
            except OfflineError as exc:
                raise AnsibleConnectionFailure("community.remoteit.ssh: %s" % exc) from None
            except RemoteitError as exc:
                raise AnsibleConnectionFailure("%s (community.remoteit.ssh could not ask remote.it why: %s)"
                                               % (failure, exc)) from None
            if not gone:
                if _HOST_KEY_REFUSED in str(failure):
                    raise AnsibleConnectionFailure("%s\n%s" % (failure, _host_key_advice(self._proxy, failure))) from None
                raise
        self._remoteit(self._replace)
        return method(*args, **kwargs)

    def _remoteit(self, step, *args, **kwargs):
        """A step that talks to remote.it; its failure makes the host unreachable, saying why."""
        try:
            return step(*args, **kwargs)
        except RemoteitError as exc:
            raise AnsibleConnectionFailure("community.remoteit.ssh: %s" % exc) from None

    def _proxy_gone(self, record, failure):
        """Whether ssh through `record` failed because the proxy is gone; raises OfflineError for an offline device.

        Whether a proxy is gone is remote.it's word (it no longer lists the session), or its port refusing: a proxy
        remote.it keeps while its device is offline accepts, then drops, so only the device's state tells that."""
        where = self._address(record)
        client = self._manager.client
        device_id = record.get("device_id")
        for device in client.devices_by_id([device_id]) if device_id else ():
            if same_id(device["id"], device_id):
                service = next((item for item in device["services"] if same_id(item["id"], record["service_id"])),
                               {"id": record["service_id"], "name": record.get("service_name")})
                display.vvv("community.remoteit.ssh: ssh through proxy %s failed; remote.it says device %s is %s"
                            % (where, _untrusted.shown(device["name"]), _untrusted.shown(device["state"])),
                            host=self._host_name)
                require_online(service_target(device, service))
        live_keys = {id_key(session["id"]) for session in client.sessions()}
        if verdict(record, live_keys, now_utc()) != GONE and port_answers(record):
            display.vvv("community.remoteit.ssh: remote.it confirms proxy %s, and it answers: the failure is the "
                        "device's (%s)" % (where, _ssh_error(failure)), host=self._host_name)
            return False
        display.vvv("community.remoteit.ssh: proxy %s is gone; replacing it" % where, host=self._host_name)
        return True

    def _replace(self):
        """Point at a new proxy instead of the current one. A master of the old proxy is stopped first: its control
        socket is the service's, and ssh would reuse it rather than connect to the new proxy."""
        self._stop_master()
        self._point_at(self._ensure_proxy(replace=self._proxy))

    def reset(self):
        """Stop the ControlMaster of the host's proxy: ansible-core resets with a plugin that never connected, so
        point it at the live recorded proxy first. None is opened for it: without a proxy there is no master."""
        if self._proxy is None:
            try:
                record = self._ensure_proxy(replace=None, open_new=False)
            except RemoteitError as exc:
                record = None
                display.vvv("community.remoteit.ssh: no proxy to reset: %s" % exc, host=self._host_name)
            if record is None:
                return self.close()
            self._point_at(record)
        display.vvv("community.remoteit.ssh: resetting the master connection through proxy %s"
                    % self._address(self._proxy), host=self._host_name)
        return super().reset()

    def _stop_master(self):
        """ssh's reset (`ssh -O check`, then `-O stop`), keeping this plugin connected to its proxy."""
        super().reset()
        self._connected = True

    def _service_control_path(self):
        """The ControlPath of the service's masters, for this user: not of the proxy's host and port, which a new proxy
        of another device may get once this one closed, and whose master would then serve that device unchecked
        (ssh checks host keys when a master connects, not when a session joins it). Used unless the user set
        control_path (or a ControlPath of their own), as ansible-core's ssh does with its own."""
        service_id = _checked("to run ssh", "service_id", _untrusted.service_id, (self._proxy or {}).get("service_id"))
        user = self.get_option("remote_user")
        digest = hashlib.sha256(to_bytes("community.remoteit %s %s" % (id_key(service_id), user))).hexdigest()
        return "%(directory)s/" + digest[:10]

    def _ensure_proxy(self, replace, open_new=True):
        """The proxy record for the host's service: the live recorded one, or a new one (None if not `open_new`).

        A record this controller opened or confirmed within the proxies' idle expiry is used without asking
        remote.it: SSH finds out soon enough if it stopped answering, and then it is replaced. A service that
        remote.it serves through a reverse proxy is refused before anything is opened.
        """
        if self._manager is None:
            options = plugin_options(self)
            sources = plugin_sources(self, "the connection options", *self._option_sources)
            handed = handed_records(self.get_option(HANDED_LIST_VAR), self.get_option(HANDED_HOST_VAR))
            self._manager = ProxyManager(build_client(options, sources, display.warning), build_store(options), handed,
                                         display.warning)
        if replace is not None:
            self._manager.retire(replace)
        target, records = self._manager.find(**self._selection())
        if target.get("application") in REVERSE_PROXY_APPLICATIONS or any(item.get("reverse_proxy") for item in records):
            raise InvalidInputError(_NOT_FOR_SSH % target["service_id"] + "; nothing was opened")
        host_ip = normalize_host_ip(self.get_option("remoteit_host_ip"))
        record, reused, _target = self._manager.ensure(target, host_ip, self.get_option("remoteit_renew_before"),
                                                       check_mode=not open_new, trust=IDLE_TIMEOUT)
        if record is None:
            return None
        if record.get("port") is None:
            if reused:
                raise InvalidInputError(_NOT_FOR_SSH % record["service_id"])
            # Only a service id was given, so only connect's answer told: close what it opened, at once.
            self._manager.close([record["id"]], record["service_id"])
            raise InvalidInputError(_NOT_FOR_SSH % record["service_id"] + "; the proxy remote.it opened for it was closed")
        display.vvv("community.remoteit.ssh: %s proxy %s for service %s"
                    % ("reusing" if reused else "opened", self._address(record), record["service_id"]),
                    host=self._host_name)
        if not reused and public_warning(host_ip):
            display.warning(public_warning(host_ip))
        return record

    def _selection(self):
        """What selects the host's service: the service id given, else the inventory's while the device and service
        are still those it found it for (a variable of the user's own may have chosen another), else the names."""
        service_id = self.get_option("remoteit_service_id")
        if service_id:
            return {"service_id": service_id}
        device, service = self.get_option("remoteit_device") or self._host_name, self.get_option("remoteit_service")
        found = self.get_option("remoteit_inventory_selection") or {}
        if found.get("service_id") and found.get("device") == device and found.get("service") == service:
            return {"service_id": found["service_id"]}
        return {"device": device, "service": service}

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

    @staticmethod
    def _address(record):
        """A proxy as -vvv lines name it: its connection id and address (neither is a secret)."""
        return "%s (%s:%s)" % (_untrusted.bounded(record.get("id")), _untrusted.bounded(record.get("host")),
                               _untrusted.bounded(record.get("port")))

    def _build_command(self, binary, subsystem, *other_args):
        """ansible-core's ssh, scp or sftp command, with the device's host key alias as an option of its own.

        It comes after every option a user gave (ssh keeps the first value of each, so their own HostKeyAlias
        wins) and before the host. Both come from the proxy record, checked again here: nothing built from data
        is split like a shell line, and nothing from it can be read as another option.
        """
        what = "to run %s" % binary
        service_id = _checked(what, "service_id", _untrusted.service_id, (self._proxy or {}).get("service_id"))
        _checked(what, "host", _untrusted.host, self.host)
        self.set_option("control_path", self._users_control_path or self._service_control_path())
        command = super()._build_command(binary, subsystem, *other_args)
        at = len(command) - len(other_args)
        if command[at:] != [to_bytes(arg) for arg in other_args]:
            raise AnsibleConnectionFailure("community.remoteit.ssh: this ansible-core builds %s commands in a way the "
                                           "plugin does not know; it cannot add the host key alias" % subsystem)
        command[at:at] = [b"-o", to_bytes("HostKeyAlias=" + host_key_alias(service_id))]
        return command


_NOT_FOR_SSH = ("service %s is an HTTP(S) service, which remote.it serves through a reverse proxy (a URL), not a port SSH "
                "can connect to")


def _ssh_error(failure):
    """ssh's own words in a failure for a -vvv line: its last line, where ssh says what went wrong."""
    return _untrusted.bounded((str(failure).strip().splitlines() or [""])[-1], 200)


def _checked(what, field, check, value):
    """The value as `check` returns it; a value it refuses fails the connection, naming the field."""
    try:
        return check(value)
    except ValueError as exc:
        raise AnsibleConnectionFailure("community.remoteit.ssh: refused %s: %s: %s" % (what, field, exc)) from None


_HOST_KEY_REFUSED = "Host key verification failed"
_HOST_KEY_CHANGED = "REMOTE HOST IDENTIFICATION HAS CHANGED"


def _host_key_advice(record, failure):
    """What to do about a refused host key, once remote.it confirmed the proxy: a key ssh does not know yet may be
    recorded; a key other than the known one is the device's new key or another device's, which only the user can
    tell apart."""
    alias = host_key_alias(_checked("to name its host key", "service_id", _untrusted.service_id, record.get("service_id")))
    if _HOST_KEY_CHANGED in str(failure):
        return ("community.remoteit.ssh checks the device's host key under the alias %s (HostKeyAlias), and the device "
                "answered with another key than the one known_hosts has under it: its key changed, or another device "
                "answers. Check the device's key another way before you remove the old one with: ssh-keygen -R %s"
                % (alias, alias))
    return ("community.remoteit.ssh checks the device's host key under the alias %s (HostKeyAlias), and known_hosts has "
            "no key under it. On a device's first connection, let ssh record its key: ansible_ssh_extra_args: "
            "-o StrictHostKeyChecking=accept-new (or --ssh-extra-args on the command line)" % alias)
