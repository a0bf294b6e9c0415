# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""connect/disconnect open and close real proxies: forwarding, hostIP modes, expiry, sessions."""

from __future__ import annotations

import time
import urllib.request

import pytest
from remoteit_sandbox import generate_world
from .sandbox_helpers import HTTP_TARGET_BODY, TIMEOUT, Client, closed_by_peer, echoes, tcp_connect, wait_for

SSH_KITCHEN = "80:00:00:00:01:00:01:01"
WEB_KITCHEN = "80:00:00:00:01:00:01:02"
SSH_GATEWAY = "80:00:00:00:01:00:03:01"
SESSIONS = "{ login { sessions { id state connected source address user { email } target { id name device { name } } } } }"


def sessions(client):
    return client.data(SESSIONS)["login"]["sessions"]


def refuses(port):
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(port)
    return True


def test_connect_forwards_bytes_to_the_service_target(client):
    connection = client.connect(SSH_KITCHEN, host_ip="0.0.0.0")
    assert (connection["reverseProxy"], connection["host"], connection["timeout"]) == (False, "127.0.0.1", 28800)
    assert connection["url"] == f"tcp://127.0.0.1:{connection['port']}"
    assert connection["session"] == {"id": connection["id"]}
    assert connection["created"].endswith("Z")
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock, b"SSH-2.0-test\r\n" * 1000)


def test_every_connect_opens_a_new_proxy(client):
    first, second = client.connect(SSH_KITCHEN), client.connect(SSH_KITCHEN)
    assert first["id"] != second["id"] and first["port"] != second["port"]


def test_latching_admits_only_the_first_source(sandbox, client):
    port = client.connect(SSH_KITCHEN)["port"]  # the schema default hostIP latches
    with tcp_connect(port, "127.0.0.1") as first:
        assert echoes(first)
    with tcp_connect(port, "127.0.0.2") as other:
        assert closed_by_peer(other)
    with tcp_connect(port, "127.0.0.1") as again:
        assert echoes(again)
    assert sandbox.proxies()[0]["latched_ip"] == "127.0.0.1"


def test_restricted_admits_only_its_address(client):
    port = client.connect(SSH_KITCHEN, host_ip="127.0.0.2")["port"]
    with tcp_connect(port, "127.0.0.1") as other:
        assert closed_by_peer(other)
    with tcp_connect(port, "127.0.0.2") as allowed:
        assert echoes(allowed)


def test_public_admits_anyone(client):
    port = client.connect(SSH_KITCHEN, host_ip="0.0.0.0")["port"]
    for source in ("127.0.0.2", "127.0.0.3"):
        with tcp_connect(port, source) as sock:
            assert echoes(sock)


@pytest.mark.parametrize("host_ip", ["300.1.1.1", "example.com", ""])
def test_invalid_host_ip_is_an_error(client, host_ip):
    message = client.error('mutation($ip: String!) { connect(serviceId: "%s", hostIP: $ip) { id } }' % SSH_KITCHEN, {"ip": host_ip})
    assert message.startswith("Invalid hostIP")


@pytest.mark.parametrize("service_id, message", [
    (SSH_GATEWAY, "Device gateway-01 is inactive"),
    ("80:00:00:00:01:00:09:09", "Service not found: 80:00:00:00:01:00:09:09"),
    ("not-an-id", "Invalid service ID: not-an-id"),
])
def test_connect_errors(client, service_id, message):
    assert client.error('mutation($id: String!) { connect(serviceId: $id) { id } }', {"id": service_id}) == message


def test_an_inactive_service_cannot_be_connected(make_sandbox):
    world = generate_world(1)
    world["users"][0]["devices"][0]["services"][0]["state"] = "inactive"
    client = Client(make_sandbox(world))
    assert "inactive" in client.error('mutation { connect(serviceId: "80:00:00:11:00:00:00:01") { id } }')


def test_idle_proxies_expire_but_not_while_used(make_sandbox):
    sandbox = make_sandbox(idle_timeout=2, lifetime=30)
    client = Client(sandbox)
    port = client.connect(SSH_KITCHEN)["port"]
    with tcp_connect(port) as sock:
        time.sleep(2.5)  # longer than idle_timeout, but a live connection keeps it open
        assert echoes(sock)
    wait_for(lambda: not sandbox.proxies())
    assert refuses(port)


def test_proxies_expire_at_end_of_lifetime_even_while_used(make_sandbox):
    sandbox = make_sandbox(lifetime=2, idle_timeout=30)
    client = Client(sandbox)
    connection = client.connect(SSH_KITCHEN)
    assert connection["timeout"] == 2
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock)
        wait_for(lambda: not sandbox.proxies())
        assert closed_by_peer(sock)
    assert refuses(connection["port"])


def test_disconnect_closes_listener_and_live_connections(sandbox, client):
    connection = client.connect(SSH_KITCHEN)
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock)
        wait_for(lambda: sandbox.proxies()[0]["live_tcp_connections"] == 1)
        assert client.disconnect(connection["id"]) == {"data": {"disconnect": True}}
        assert closed_by_peer(sock)
    assert refuses(connection["port"])
    assert sandbox.proxies() == []


def test_disconnect_needs_the_matching_service(client):
    connection_id = client.connect(SSH_KITCHEN)["id"]
    mutation = "mutation($id: String!, $service: String) { disconnect(connectionId: $id, serviceId: $service) }"
    assert client.error(mutation, {"id": connection_id, "service": WEB_KITCHEN}) == "Connection not found"
    assert client.data(mutation, {"id": connection_id, "service": SSH_KITCHEN}) == {"disconnect": True}


@pytest.mark.parametrize("mode, expected", [
    ("error", (None, ["Connection not found"])),
    ("false", ({"disconnect": False}, [])),
])
def test_disconnect_of_an_unknown_or_closed_connection(make_sandbox, mode, expected):
    client = Client(make_sandbox(disconnect_unknown=mode))
    connection_id = client.connect(SSH_KITCHEN)["id"]
    assert client.disconnect(connection_id)["data"] == {"disconnect": True}
    for unknown in (connection_id, "00000000-0000-4000-8000-000000000000"):
        result = client.disconnect(unknown)
        assert (result["data"], [error["message"] for error in result.get("errors", [])]) == expected


def test_sessions_list_live_proxies(client):
    connection = client.connect(SSH_KITCHEN)
    assert sessions(client) == [{
        "id": connection["id"], "state": "open", "connected": False, "source": "UNKNOWN", "address": None,
        "user": {"email": "demo@example.com"}, "target": {"id": SSH_KITCHEN, "name": "ssh", "device": {"name": "pi-kitchen"}},
    }]
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock)
        session = sessions(client)[0]
        assert (session["state"], session["connected"], session["source"], session["address"]) == ("connected", True, "EXTERNAL", "127.0.0.1")
    by_service = client.data('{ login { service(id: ["%s"]) { sessions { id } device { sessions { id } } } } }' % SSH_KITCHEN)
    assert by_service["login"]["service"][0] == {"sessions": [{"id": connection["id"]}], "device": {"sessions": [{"id": connection["id"]}]}}
    client.disconnect(connection["id"])
    assert sessions(client) == []


def test_unused_proxies_can_be_hidden_from_sessions(make_sandbox):
    client = Client(make_sandbox(sessions_list_unused=False))
    connection = client.connect(SSH_KITCHEN)
    assert sessions(client) == []
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock)
    assert [session["id"] for session in sessions(client)] == [connection["id"]]


def test_http_services_get_a_public_reverse_proxy(client):
    connection = client.connect(WEB_KITCHEN, host_ip="127.0.0.2")  # ignored: reverse proxies are always public
    assert (connection["reverseProxy"], connection["port"], connection["host"]) == (True, None, "127.0.0.1")
    assert connection["url"].startswith("http://127.0.0.1:")
    with urllib.request.urlopen(connection["url"], timeout=TIMEOUT) as response:
        assert response.read() == HTTP_TARGET_BODY


def test_proxy_type_overrides_the_application_default(client):
    assert client.connect(WEB_KITCHEN, type="PORT_PROXY")["reverseProxy"] is False
    assert client.connect(SSH_KITCHEN, type="REVERSE_PROXY")["port"] is None
