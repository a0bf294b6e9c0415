# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.ssh: ansible.builtin.ssh pointed at a proxy; the transport itself is ssh's own code."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection import ssh as builtin_ssh
from ansible.plugins.loader import connection_loader

from ansible_collections.community.remoteit.plugins.connection import ssh as remoteit_ssh
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import to_result

from ..plugin_utils.fakes import FakeClient, device

SERVICE = "80:00:00:00:01:00:00:01"
ALIAS_NAME = "remoteit-80-00-00-00-01-00-00-01"  # the plugin's documentation: remoteit- and the service id
ALIAS_TEXT = "HostKeyAlias=" + ALIAS_NAME
ALIAS = ALIAS_TEXT.encode()


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


def test_the_first_use_points_ssh_at_a_proxy_and_leaves_the_users_ssh_args_alone(connection):
    connection._point_at(connection._ensure_proxy(replace=None))
    assert (connection.get_option("host"), connection.get_option("port")) == ("proxy.example", 33000)
    assert connection.get_option("ssh_common_args") == "-o Foo=bar", "the alias goes into argv, not into a shell line"
    assert connection._manager.client.count("connect") == 1


@pytest.fixture
def argv(connection, monkeypatch):
    """The commands ansible-core's ssh code runs, ssh, scp and sftp alike, each answered with success."""
    commands = []

    def bare_run(cmd, in_data, sudoable=True, checkrc=True):
        commands.append(cmd)
        return 0, b"", b""

    monkeypatch.setattr(connection, "_bare_run", bare_run)
    return commands


def transfers(connection, tmp_path):
    """A command, then a copy each way over sftp and over scp, as modules and ansible.builtin.copy/fetch do."""
    local = tmp_path / "local.txt"
    local.write_text("data\n")
    connection.exec_command("true")
    for method in ("sftp", "scp"):
        connection.set_option("ssh_transfer_method", method)
        connection.put_file(str(local), "/tmp/remote.txt")
        connection.fetch_file("/tmp/remote.txt", str(tmp_path / "fetched.txt"))


def test_every_result_names_the_alias_the_plugin_checks_host_keys_under(connection, argv, tmp_path):
    """The proxy role and users' own plays pass a result's host_key_alias to ssh: it must be the plugin's."""
    connection.exec_command("true")
    (record,) = connection._manager.store.records()
    assert to_result(record)["host_key_alias"] == ALIAS_NAME
    assert [arg for arg in argv[0] if b"HostKeyAlias" in arg] == [b"HostKeyAlias=" + to_result(record)["host_key_alias"].encode()]


def test_ssh_scp_and_sftp_get_the_alias_as_one_option_after_the_users_options_and_before_the_host(connection, argv, tmp_path):
    transfers(connection, tmp_path)
    assert [cmd[0] for cmd in argv] == [b"ssh", b"sftp", b"sftp", b"scp", b"scp"]
    for cmd in argv:
        assert [arg for arg in cmd if b"HostKeyAlias" in arg] == [ALIAS], cmd
        at = cmd.index(ALIAS)
        assert cmd[at - 1] == b"-o", cmd
        assert cmd.index(b"Foo=bar") < at, "ssh keeps an option's first value: the user's options come first"
        host = [index for index, arg in enumerate(cmd) if arg.lstrip(b"[").startswith(b"proxy.example")]
        assert host and host[0] > at, "an option after the host is no option to ssh: %s" % cmd


def ssh_reads(cmd):
    """The configuration ssh itself reads from this command line (ssh -G connects nowhere)."""
    host = cmd.index(b"proxy.example")
    shown = subprocess.run(cmd[:host] + [b"-G", b"proxy.example"], capture_output=True, check=True)
    return dict(line.split(" ", 1) for line in shown.stdout.decode().splitlines() if " " in line)


@pytest.mark.parametrize("option", ["ssh_common_args", "ssh_extra_args"])
def test_a_users_own_host_key_alias_wins_as_ssh_reads_it(connection, argv, option):
    connection.set_option("ssh_common_args", "-o ServerAliveInterval=5")  # ssh -G refuses the fixture's Foo=bar
    connection._point_at(connection._ensure_proxy(replace=None))
    assert ssh_reads(connection._build_command("ssh", "ssh", "proxy.example"))["hostkeyalias"] == ALIAS_NAME
    connection.set_option(option, "-o HostKeyAlias=my-own-alias")
    connection.exec_command("true")
    assert ssh_reads(argv[-1])["hostkeyalias"] == "my-own-alias"


HOSTILE = [
    ("host", "-oProxyCommand=touch /tmp/remoteit-pwned"),
    ("host", "proxy.example -oProxyCommand=touch /tmp/remoteit-pwned"),
    ("host", "'\" -oProxyCommand=touch /tmp/remoteit-pwned \"'"),
    ("port", "22 -oProxyCommand=touch /tmp/remoteit-pwned"),
    ("port", "22"),
    ("port", 0),
    ("service_id", "80:00:00:00:01:00:00:01\" -oProxyCommand=touch /tmp/remoteit-pwned \""),
    ("service_id", "80-00-00-00-01-00-00-01 -oLocalCommand=id"),
]


@pytest.mark.parametrize("field, value", HOSTILE)
def test_a_hostile_proxy_record_is_refused_naming_the_field_and_never_reaches_argv(connection, argv, monkeypatch, field, value):
    record = dict(connection._ensure_proxy(replace=None), **{field: value})
    monkeypatch.setattr(connection, "_ensure_proxy", lambda replace, open_new=True: record)
    with pytest.raises(AnsibleConnectionFailure, match="refused the proxy record conn-1: %s: " % field):
        connection.exec_command("true")
    with pytest.raises(AnsibleConnectionFailure, match="refused the proxy record conn-1: %s: " % field):
        connection.put_file(__file__, "/tmp/remote.txt")
    assert argv == []
    assert connection._proxy is None and connection.get_option("host") != value


def test_the_alias_and_the_host_are_checked_again_where_argv_is_built(connection, argv):
    """Defence in depth: whatever changed the proxy or the host after they were checked, ssh never runs with it."""
    connection._point_at(connection._ensure_proxy(replace=None))
    connection._proxy = dict(connection._proxy, service_id=HOSTILE[6][1])
    with pytest.raises(AnsibleConnectionFailure, match="refused to run ssh: service_id: "):
        connection._build_command("ssh", "ssh", "proxy.example")
    connection._point_at(connection._ensure_proxy(replace=None))
    connection.host = HOSTILE[0][1]
    with pytest.raises(AnsibleConnectionFailure, match="refused to run ssh: host: "):
        connection._build_command("ssh", "ssh", connection.host)


def fake_ssh(tmp_path):
    """An ssh executable that logs its arguments (a JSON list a line) and succeeds, as `ssh -O` with a master does."""
    log, script = tmp_path / "ssh.log", tmp_path / "fake-ssh"
    script.write_text("#!%s\nimport json, sys\nwith open(%r, 'a') as log:\n    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      % (sys.executable, str(log)))
    script.chmod(0o700)
    return script, log


def logged(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def fresh_plugin(manager, tmp_path):
    """A plugin that never connected, over `manager`, as ansible-core resets a connection (meta: reset_connection)."""
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)
    plugin.set_options(var_options={"inventory_hostname": "pi-kitchen", "ansible_ssh_executable": str(fake_ssh(tmp_path)[0])})
    plugin._manager = manager
    return plugin


def test_a_reset_stops_the_recorded_proxys_master_with_the_alias_and_opens_nothing(connection, tmp_path):
    connection._ensure_proxy(replace=None)
    plugin = fresh_plugin(ProxyManager(connection._manager.client, connection._manager.store), tmp_path)
    plugin.reset()
    commands = logged(tmp_path / "ssh.log")
    assert [cmd[-3:] for cmd in commands] == [["-O", "check", "proxy.example"], ["-O", "stop", "proxy.example"]]
    for cmd in commands:
        assert [arg for arg in cmd if "HostKeyAlias" in arg] == [ALIAS_TEXT] and cmd[cmd.index(ALIAS_TEXT) - 1] == "-o"
    assert connection._manager.client.count("connect") == 1, "a reset opened a proxy"


def test_a_reset_with_no_recorded_proxy_runs_nothing_and_opens_nothing(connection, tmp_path):
    plugin = fresh_plugin(connection._manager, tmp_path)
    plugin.reset()
    assert logged(tmp_path / "ssh.log") == []
    assert connection._manager.client.count("connect") == 0


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
