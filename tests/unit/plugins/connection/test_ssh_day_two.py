# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.ssh on day two: why ssh failed (offline, gone, the device's own), resets, the ControlPath, a
service SSH cannot use, and what -vvv says."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.community.remoteit.plugins.connection import ssh as remoteit_ssh
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import NetworkError
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager

from ..plugin_utils.fakes import FakeClient, device
from .test_ssh import fake_ssh, logged

KITCHEN = "80:00:00:00:01:00:00:00"
KITCHEN_SSH = "80:00:00:00:01:00:00:01"
GARAGE_SSH = "80:00:00:00:02:00:00:01"
KEX_RESET = "Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer"


def web_device(name, device_id):
    """A device whose only service is HTTP, which remote.it serves through a reverse proxy."""
    found = device(name, device_id, services=(("web", "01"),))
    found["services"][0].update(application=7, application_name="HTTP", port=80)
    return found


@pytest.fixture
def client():
    return FakeClient(devices=[device("pi-kitchen", KITCHEN), device("pi-garage", "80:00:00:00:02:00:00:00"),
                               web_device("pi-web", "80:00:00:00:03:00:00:00")])


def plugin_for(client, tmp_path, host="pi-kitchen", **variables):
    """The plugin as ansible-core loads it for `host`, over `client`, with ssh, scp and sftp a logging stand-in."""
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)
    plugin.set_options(var_options=dict({"inventory_hostname": host, "ansible_user": "pi",
                                         "ansible_ssh_executable": str(fake_ssh(tmp_path)[0]),
                                         "ansible_control_path_dir": str(tmp_path / "cp")}, **variables))
    plugin._manager = ProxyManager(client, ConnectionStore(str(tmp_path / "connections.json")))
    return plugin


@pytest.fixture
def connection(client, tmp_path):
    plugin = plugin_for(client, tmp_path)
    plugin._connect()
    return plugin


@pytest.fixture
def vvv(monkeypatch):
    """The -vvv lines the plugin shows, with the host each names."""
    lines = []
    monkeypatch.setattr(remoteit_ssh.display, "vvv", lambda msg, host=None: lines.append((msg, host)))
    return lines


def failing(*errors):
    """An ssh operation that fails with each of `errors` in turn, then succeeds; it notes the port it went to."""
    ports = []

    def operation(connection):
        ports.append(connection.get_option("port"))
        if len(ports) <= len(errors):
            raise AnsibleConnectionFailure(errors[len(ports) - 1])
        return 0, b"ok", b""

    return operation, ports


def reboot_offline(client, connection, proxy_kept, monkeypatch):
    """The device goes offline (a reboot): remote.it keeps its proxy, which accepts then drops, or closes it."""
    client.devices[0]["state"] = "inactive"
    if not proxy_kept:
        client.session_list = [item for item in client.session_list if item["id"] != connection._proxy["id"]]
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: proxy_kept)


# -- why ssh failed ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("proxy_kept", [True, False], ids=["proxy-kept", "proxy-closed"])
def test_an_offline_device_fails_with_the_modules_offline_message_and_its_proxy_stays_recorded(
        client, connection, monkeypatch, proxy_kept):
    proxy = connection._proxy
    reboot_offline(client, connection, proxy_kept, monkeypatch)
    operation, _ports = failing(KEX_RESET)
    with pytest.raises(AnsibleConnectionFailure) as failure:
        connection._through_proxy(operation, connection)
    assert str(failure.value) == ("community.remoteit.ssh: device 'pi-kitchen' is offline (state 'inactive'): "
                                  "remote.it can only connect to active devices")
    assert client.count("connect") == 1 and client.count("disconnect") == 0, "an offline device got a new proxy"
    assert [record["id"] for record in connection._manager.store.records()] == [proxy["id"]]


def test_a_rebooted_device_whose_proxy_was_closed_gets_a_new_one_every_time(client, connection, monkeypatch, vvv):
    """Not once per connection: wait_for_connection and reboot use one plugin for every try, across reboots."""
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: False)
    for reboot in (1, 2):
        client.session_list = []  # closed by remote.it while the device was offline, and it is back
        operation, ports = failing(KEX_RESET)
        assert connection._through_proxy(operation, connection) == (0, b"ok", b"")
        assert len(ports) == 2 and client.count("connect") == 1 + reboot
    assert [record["id"] for record in connection._manager.store.records()] == [connection._proxy["id"]]
    replaced = [msg for msg, _host in vvv if "is gone; replacing it" in msg]
    assert replaced == ["community.remoteit.ssh: proxy conn-1 (proxy.example:33000) is gone; replacing it",
                        "community.remoteit.ssh: proxy conn-2 (proxy.example:33000) is gone; replacing it"]


def test_one_operation_replaces_the_proxy_at_most_once(client, connection, monkeypatch):
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: False)
    client.session_list = []
    operation, ports = failing(KEX_RESET, KEX_RESET)
    with pytest.raises(AnsibleConnectionFailure, match="kex_exchange_identification"):
        connection._through_proxy(operation, connection)
    assert len(ports) == 2 and client.count("connect") == 2


@pytest.mark.parametrize("error", ["Permission denied (publickey).", KEX_RESET])
def test_a_failure_remote_it_has_no_part_in_is_sshs_error_as_is(client, connection, monkeypatch, vvv, error):
    """The device is online and remote.it lists its proxy, which answers: sshd itself refused or is down."""
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: True)
    operation, _ports = failing(error)
    with pytest.raises(AnsibleConnectionFailure) as failure:
        connection._through_proxy(operation, connection)
    assert str(failure.value) == error
    assert client.count("connect") == 1 and client.count("disconnect") == 0
    assert any(msg.startswith("community.remoteit.ssh: remote.it confirms proxy conn-1 (proxy.example:33000)")
               for msg, _host in vvv), vvv


UNKNOWN_KEY = ("Failed to connect to the host via ssh: No ED25519 host key is known for remoteit-80-00-00-00-01-00-00-01 "
               "and you have requested strict checking.\r\nHost key verification failed.")
CHANGED_KEY = ("Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
               "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n...\r\nHost key verification failed.")


@pytest.mark.parametrize("error, advice", [
    (UNKNOWN_KEY, "known_hosts has no key under it. On a device's first connection, let ssh record its key: "
                  "ansible_ssh_extra_args: -o StrictHostKeyChecking=accept-new"),
    (CHANGED_KEY, "the device answered with another key than the one known_hosts has under it: its key changed, or "
                  "another device answers. Check the device's key another way before you remove the old one with: "
                  "ssh-keygen -R remoteit-80-00-00-00-01-00-00-01"),
], ids=["unknown", "changed"])
def test_a_refused_host_key_of_a_confirmed_proxy_names_the_alias_and_what_to_do(client, connection, monkeypatch, error,
                                                                                advice):
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: True)
    operation, _ports = failing(error)

    with pytest.raises(AnsibleConnectionFailure) as failure:
        connection._through_proxy(operation, connection)

    assert str(failure.value).startswith(error + "\ncommunity.remoteit.ssh checks the device's host key under the alias "
                                         "remoteit-80-00-00-00-01-00-00-01 (HostKeyAlias), and ")
    assert str(failure.value).endswith(advice) or advice + " (or --ssh-extra-args" in str(failure.value)
    assert ("accept-new" in str(failure.value)) == (error == UNKNOWN_KEY), "accept-new would trust another device's key"
    assert client.count("connect") == 1


def test_a_refused_host_key_of_a_proxy_that_is_gone_replaces_the_proxy(client, connection, monkeypatch):
    """A gone proxy's port may serve another device's proxy now: its key is refused, and the proxy is replaced."""
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: True)
    connection._proxy = dict(connection._proxy, confirmed_at="2026-01-01T00:00:00Z")  # remote.it listed it once,
    client.session_list.clear()  # and no longer does
    operation, ports = failing(CHANGED_KEY)

    assert connection._through_proxy(operation, connection) == (0, b"ok", b"")
    assert client.count("connect") == 2 and len(ports) == 2 and connection._proxy["id"] == "conn-2"


def test_when_remote_it_cannot_be_asked_the_ssh_error_stands_and_says_so(client, connection, monkeypatch):
    def unreachable_api(ids):
        raise NetworkError("cannot reach https://api.example/graphql/v1")

    monkeypatch.setattr(client, "devices_by_id", unreachable_api)
    operation, _ports = failing(KEX_RESET)
    with pytest.raises(AnsibleConnectionFailure) as failure:
        connection._through_proxy(operation, connection)
    assert str(failure.value) == ("%s (community.remoteit.ssh could not ask remote.it why: cannot reach "
                                  "https://api.example/graphql/v1)" % KEX_RESET)
    assert client.count("connect") == 1


# -- connected state, reset and the ControlPath ----------------------------------------------------------------

def test_operations_after_the_first_use_the_proxy_without_a_lookup(client, tmp_path, monkeypatch):
    plugin = plugin_for(client, tmp_path)
    lookups = []
    for name in ("records", "exclusive", "update"):
        original = getattr(plugin._manager.store, name)
        monkeypatch.setattr(plugin._manager.store, name,
                            lambda *args, _name=name, _original=original, **kwargs: lookups.append(_name) or _original(*args, **kwargs))
    commands = []
    monkeypatch.setattr(plugin, "_bare_run", lambda cmd, in_data, sudoable=True, checkrc=True: commands.append(cmd) or (0, b"", b""))
    plugin.exec_command("true")
    first = len(lookups)
    assert first, "the first operation found the proxy in the connections file"
    proxy_address = plugin._proxy["host"].encode()
    # The next item of a loop: ansible-core sets the options again, with the inventory's host and port.
    plugin.set_options(var_options={"inventory_hostname": "pi-kitchen", "ansible_user": "pi",
                                    "ansible_control_path_dir": str(tmp_path / "cp")})
    plugin.exec_command("true")
    plugin.put_file(__file__, "/tmp/remote.txt")
    plugin.fetch_file("/tmp/remote.txt", str(tmp_path / "fetched.txt"))
    assert len(lookups) == first and client.count("connect") == 1
    assert all(b"pi-kitchen" not in command for command in commands[1:]), commands[1:]
    assert all(proxy_address in command or any(proxy_address in arg for arg in command) for command in commands[1:])


def control_path(command):
    """The ControlPath option of an ssh, scp or sftp command line."""
    found = [arg for arg in command if arg.startswith(b"ControlPath=")]
    assert len(found) == 1, command
    return found[0]


def test_the_control_path_is_the_services_and_users_not_the_proxys_address(client, tmp_path):
    kitchen = plugin_for(client, tmp_path)
    kitchen._connect()
    first = control_path(kitchen._build_command("ssh", "ssh", "proxy.example", "true"))
    assert first.startswith(b'ControlPath="%s/' % str(tmp_path / "cp").encode())
    # A new proxy of the same service, on another port, uses the same master.
    kitchen._point_at(dict(kitchen._proxy, id="conn-9", port=34567))
    assert control_path(kitchen._build_command("ssh", "ssh", "proxy.example", "true")) == first
    # Another device's proxy on the very same host and port (a recycled port) never meets kitchen's master.
    garage = plugin_for(client, tmp_path, host="pi-garage")
    garage._point_at(dict(kitchen._proxy, id="conn-10", service_id=GARAGE_SSH))
    assert control_path(garage._build_command("ssh", "ssh", "proxy.example", "true")) != first
    # Another remote user of the same service has a master of its own.
    root = plugin_for(client, tmp_path, ansible_user="root")
    root._point_at(kitchen._proxy)
    assert control_path(root._build_command("ssh", "ssh", "proxy.example", "true")) != first


def test_a_control_path_of_the_users_own_is_used(client, tmp_path):
    plugin = plugin_for(client, tmp_path, ansible_control_path="%(directory)s/mine-%%h-%%p")
    plugin._connect()
    assert control_path(plugin._build_command("ssh", "ssh", "proxy.example", "true")) == \
        b'ControlPath="%s/mine-%%h-%%p"' % str(tmp_path / "cp").encode()


def test_a_reset_stops_the_master_the_operations_used(client, connection, tmp_path):
    used = control_path(connection._build_command("ssh", "ssh", "proxy.example", "true")).decode()
    fresh = plugin_for(client, tmp_path)  # ansible-core resets with a plugin that never connected
    fresh._manager = ProxyManager(client, connection._manager.store)
    fresh.reset()
    commands = logged(tmp_path / "ssh.log")
    assert [cmd[-3:] for cmd in commands] == [["-O", "check", "proxy.example"], ["-O", "stop", "proxy.example"]]
    assert all(used in cmd for cmd in commands), commands
    assert client.count("connect") == 1


def test_a_replaced_proxy_stops_the_services_master_before_the_operation_is_repeated(client, connection, tmp_path, monkeypatch):
    """The master of the old proxy holds the service's ControlPath: ssh would join it instead of connecting anew."""
    monkeypatch.setattr(remoteit_ssh, "port_answers", lambda record: False)
    client.session_list = []
    seen = []

    def operation():
        seen.append([cmd[-3:] for cmd in logged(tmp_path / "ssh.log")])
        if len(seen) == 1:
            raise AnsibleConnectionFailure(KEX_RESET)
        return 0, b"", b""

    connection._through_proxy(operation)
    assert seen == [[], [["-O", "check", "proxy.example"], ["-O", "stop", "proxy.example"]]]


# -- a service SSH cannot use ---------------------------------------------------------------------------------

def test_a_web_service_is_refused_before_anything_is_opened(client, tmp_path):
    plugin = plugin_for(client, tmp_path, host="pi-web", remoteit_service="web")
    with pytest.raises(AnsibleConnectionFailure) as failure:
        plugin.exec_command("true")
    assert str(failure.value) == ("community.remoteit.ssh: service 80:00:00:00:03:00:00:01 is an HTTP(S) service, which "
                                  "remote.it serves through a reverse proxy (a URL), not a port SSH can connect to; "
                                  "nothing was opened")
    assert client.count("connect") == 0 and client.session_list == []
    assert plugin._manager.store.records() == []


def test_a_service_recorded_as_a_reverse_proxy_is_refused_without_a_connect_or_a_close(client, tmp_path):
    """The module opened the web proxy; the plugin named the service by id, so no lookup told what it is."""
    plugin = plugin_for(client, tmp_path, remoteit_service_id="80:00:00:00:03:00:00:01")
    client.answer = {"reverseProxy": True, "port": None, "url": "https://proxy.example:4443"}
    web = plugin._manager.open(plugin._manager.find(service_id="80:00:00:00:03:00:00:01")[0], "255.255.255.255")
    with pytest.raises(AnsibleConnectionFailure, match="reverse proxy .* nothing was opened$"):
        plugin.exec_command("true")
    assert client.count("connect") == 1 and client.count("disconnect") == 0
    assert [record["id"] for record in plugin._manager.store.records()] == [web["id"]]


def test_a_service_id_that_connect_answers_with_a_reverse_proxy_is_closed_at_once_and_not_recorded(client, tmp_path):
    plugin = plugin_for(client, tmp_path, remoteit_service_id="80:00:00:00:03:00:00:01")
    client.answer = {"reverseProxy": True, "port": None, "url": "https://proxy.example:4443"}
    with pytest.raises(AnsibleConnectionFailure, match="the proxy remote.it opened for it was closed$"):
        plugin.exec_command("true")
    assert client.count("connect") == 1 and ("disconnect", "conn-1") in client.calls
    assert client.session_list == [] and plugin._manager.store.records() == []


# -- -vvv ----------------------------------------------------------------------------------------------------

def test_vvv_says_which_proxy_was_opened_then_reused_with_its_id_and_address(client, tmp_path, vvv):
    plugin_for(client, tmp_path)._connect()
    plugin_for(client, tmp_path)._connect()
    ours = [(msg, host) for msg, host in vvv if msg.startswith("community.remoteit.ssh:")]
    assert ours == [
        ("community.remoteit.ssh: opened proxy conn-1 (proxy.example:33000) for service %s" % KITCHEN_SSH, "pi-kitchen"),
        ("community.remoteit.ssh: reusing proxy conn-1 (proxy.example:33000) for service %s" % KITCHEN_SSH, "pi-kitchen"),
    ]
    assert not any(re.search(r"secret|key_id|Authorization", msg, re.IGNORECASE) for msg, _host in ours)


@pytest.mark.parametrize("own, selection", [
    pytest.param({}, {"service_id": "80:00:00:00:01:00:00:01"}, id="the-inventorys"),
    pytest.param({"remoteit_service": "ssh-admin"}, {"device": "80:00:00:00:01:00:00:00", "service": "ssh-admin"},
                 id="a-service-of-the-users-own"),
    pytest.param({"remoteit_device": "pi-garage"}, {"device": "pi-garage", "service": "ssh"},
                 id="a-device-of-the-users-own"),
])
def test_the_inventorys_service_id_selects_only_while_its_device_and_service_do(client, tmp_path, own, selection):
    found = {"device": "80:00:00:00:01:00:00:00", "service": "ssh", "service_id": "80:00:00:00:01:00:00:01"}
    variables = dict({"remoteit_device": found["device"], "remoteit_service": "ssh",
                      "remoteit_inventory_selection": found}, **own)
    assert plugin_for(client, tmp_path, **variables)._selection() == selection
