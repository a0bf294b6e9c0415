# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.ssh: ansible.builtin.ssh pointed at a proxy; the transport itself is ssh's own code."""

from __future__ import annotations

import socket

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection import ssh as builtin_ssh
from ansible.plugins.loader import connection_loader

from ansible_collections.community.remoteit.plugins.connection import ssh as remoteit_ssh
from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager

from ..plugin_utils.fakes import FakeClient, device

SERVICE = "80:00:00:00:01:00:00:01"


def test_every_option_of_the_running_cores_ssh_is_declared_with_its_variables_and_settings():
    """ssh's code asks for its options by name, and ansible-core feeds them only from what this plugin declares."""
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)  # loading registers its definitions
    ours = C.config.get_configuration_definitions("connection", plugin._load_name)
    problems = []
    for name, theirs in yaml.safe_load(builtin_ssh.DOCUMENTATION)["options"].items():
        if name not in ours:
            problems.append("%s: not declared" % name)
            continue
        for source, key in (("vars", "name"), ("env", "name"), ("ini", "key")):
            missing = {entry[key] for entry in theirs.get(source) or []} - {entry[key] for entry in ours[name].get(source) or []}
            if missing:
                problems.append("%s: %s %s not read" % (name, source, sorted(missing)))
    assert not problems, "\n".join(problems)


@pytest.fixture
def connection(tmp_path, monkeypatch):
    """The plugin as ansible-core loads it for a host named pi-kitchen, over a FakeClient."""
    client = FakeClient(devices=[device("pi-kitchen", "80:00:00:00:01:00:00:00"),
                                 device("gateway-01", "80:00:00:00:02:00:00:00", state="inactive")])
    manager = ProxyManager(client, ConnectionStore(str(tmp_path / "connections.json")))
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)
    plugin.set_options(var_options={"inventory_hostname": "pi-kitchen", "ansible_ssh_common_args": "-o Foo=bar"})
    plugin._manager = manager
    return plugin


def test_the_first_use_points_ssh_at_a_proxy_with_the_services_host_key_alias(connection):
    connection._point_at(connection._ensure_proxy(replace=None))
    assert (connection.get_option("host"), connection.get_option("port")) == ("proxy.example", 33000)
    assert connection.get_option("ssh_common_args") == "-o Foo=bar -o HostKeyAlias=remoteit-80-00-00-00-01-00-00-01"
    assert connection._manager.client.count("connect") == 1


def test_the_device_defaults_to_the_inventory_host_and_is_reused_on_the_next_task(connection):
    first = connection._ensure_proxy(replace=None)
    assert first["device_name"] == "pi-kitchen"
    calls = len(connection._manager.client.calls)
    assert connection._ensure_proxy(replace=None)["id"] == first["id"]
    assert len(connection._manager.client.calls) == calls, "a proxy opened in this run costs the next task nothing"


def test_an_offline_device_makes_the_host_unreachable_with_the_modules_message(connection):
    connection.set_options(var_options={"inventory_hostname": "gateway-01"})
    connection._manager = ProxyManager(connection._manager.client, connection._manager.store)
    with pytest.raises(AnsibleConnectionFailure, match="device 'gateway-01' is offline"):
        connection._connect()
    assert connection._manager.client.count("connect") == 0


def test_a_proxy_that_stopped_answering_is_replaced_once_and_the_operation_repeated(connection, monkeypatch):
    connection._point_at(connection._ensure_proxy(replace=None))
    dead = connection._proxy
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: False)
    attempts = []

    def operation():
        attempts.append(connection.get_option("port"))
        if len(attempts) == 1:
            raise AnsibleConnectionFailure("Connection refused")
        return 0, b"ok", b""

    assert connection._through_proxy(operation) == (0, b"ok", b"")
    assert ("disconnect", dead["id"]) in connection._manager.client.calls
    assert connection._proxy["id"] != dead["id"]
    assert [record["id"] for record in connection._manager.store.records()] == [connection._proxy["id"]]


def test_a_failure_while_the_proxy_answers_is_not_the_proxys(connection, monkeypatch):
    """Wrong key, host key mismatch, sshd down behind the proxy: replacing the proxy would not help."""
    connection._point_at(connection._ensure_proxy(replace=None))
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: True)

    def operation():
        raise AnsibleConnectionFailure("Host key verification failed.")

    with pytest.raises(AnsibleConnectionFailure, match="Host key verification failed"):
        connection._through_proxy(operation)
    assert connection._manager.client.count("connect") == 1


def test_a_reverse_proxy_is_refused_for_ssh(connection, monkeypatch):
    record = dict(connection._ensure_proxy(replace=None), port=None, url="https://x.example")
    monkeypatch.setattr(ProxyManager, "ensure", lambda self, *args, **kwargs: (record, True, {}))
    with pytest.raises(RemoteitError, match="reverse proxy"):
        connection._ensure_proxy(replace=None)


def test_port_answers_tells_a_listening_port_from_a_closed_one():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert remoteit_ssh.port_answers({"host": "127.0.0.1", "port": port})
    assert not remoteit_ssh.port_answers({"host": "127.0.0.1", "port": port})


def test_a_record_handed_over_in_the_hosts_variables_is_used_without_opening_one(tmp_path, monkeypatch):
    """An AWX job after the one that opened the proxy: the record arrives as a variable, the file is empty."""
    client = FakeClient(devices=[device("pi-kitchen", "80:00:00:00:01:00:00:00")])
    connection_id = client.add_session(SERVICE, age=120)
    record = {"id": connection_id, "session_id": connection_id, "api_url": client.api_url, "service_id": SERVICE,
              "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00", "device_name": "pi-kitchen",
              "host": "proxy.example", "port": 34000, "url": None, "reverse_proxy": False,
              "host_ip": "255.255.255.255", "created": "2026-01-01T00:00:00Z", "expires_at": None, "timeout": None}
    monkeypatch.setattr(remoteit_ssh, "build_client", lambda *_args: client)
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)
    plugin.set_options(var_options={"inventory_hostname": "pi-kitchen", "remoteit_connection": record,
                                    "remoteit_connections_file": str(tmp_path / "connections.json")})
    plugin._point_at(plugin._ensure_proxy(replace=None))
    assert (plugin.get_option("host"), plugin.get_option("port")) == ("proxy.example", 34000)
    assert client.count("connect") == 0 and client.count("sessions") == 1
