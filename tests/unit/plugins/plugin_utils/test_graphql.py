# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Answers of every shape: what the client keeps, leaves out, or refuses to use."""

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import ResponseError, UnusableConnectError

from .http_fakes import data, device, http_response, make_client


@pytest.mark.parametrize("response", [
    http_response(200, text="<html>proxy error</html>"),
    http_response(200, text="[1, 2]"),
    http_response(200, body={"data": {"login": {"sessions": "many"}}}),
    http_response(200, body={"nothing": True}),
])
def test_malformed_responses_are_reported_not_crashed_on(response):
    client = make_client(response)
    with pytest.raises(ResponseError) as error:
        client.sessions()
    assert error.value.kind == "response"
    assert "malformed API response" in str(error.value)


GOOD_CONNECT = {"id": "c1", "reverseProxy": False, "host": "127.0.0.1", "port": 33000, "url": "tcp://127.0.0.1:33000",
                "created": "2026-01-01T00:00:00Z", "timeout": 28800, "session": {"id": "s1"}}


@pytest.mark.parametrize("fields, problem", [
    pytest.param({"host": None, "url": None}, "host: None is not a host name", id="no-address"),
    pytest.param({"host": "-oProxyCommand=touch /tmp/x"}, "host: '-oProxyCommand=touch /tmp/x' is not", id="host-option"),
    pytest.param({"host": "proxy example"}, "host: 'proxy example' is not", id="host-space"),
    pytest.param({"host": "proxy\nexample"}, "host: 'proxy\\nexample' is not", id="host-newline"),
    pytest.param({"host": 5}, "host: 5 is not", id="host-number"),
    pytest.param({"port": 0}, "port: 0 is not a port", id="port-0"),
    pytest.param({"port": 70000}, "port: 70000 is not a port", id="port-70000"),
    pytest.param({"port": -1}, "port: -1 is not a port", id="port-negative"),
    pytest.param({"port": True}, "port: True is not a port", id="port-bool"),
    pytest.param({"port": "abc"}, "port: 'abc' is not a port", id="port-text"),
    pytest.param({"port": "22"}, "port: '22' is not a port", id="port-numeric-text"),
    pytest.param({"host": None, "port": None, "url": "file:///etc/passwd"}, "host: None is not a host name", id="file-url"),
    pytest.param({"url": "file:///etc/passwd"}, "url: 'file:///etc/passwd' is not", id="port-proxy-file-url"),
    pytest.param({"reverseProxy": True, "port": None, "url": "file:///etc/passwd"}, "url: 'file:///etc/passwd' is not a URL (http, https)",
                 id="reverse-proxy-file-url"),
    pytest.param({"reverseProxy": True, "port": None, "url": None}, "url: a reverse proxy needs one",
                 id="reverse-proxy-without-url"),
    pytest.param({"reverseProxy": "yes"}, "reverse_proxy: 'yes' is not true or false", id="reverse-proxy-text"),
    pytest.param({"session": {"id": "-oX"}}, "session.id: '-oX' is not a connection id", id="session-id"),
    pytest.param({"timeout": "8h"}, "timeout: '8h' is not", id="timeout-text"),
    pytest.param({"timeout": 10 ** 15}, "timeout: 1000000000000000 is not a number of seconds", id="timeout-huge"),
    pytest.param({"url": "https://proxy.remote.it@evil.example/"}, "url: 'https://proxy.remote.it@evil.example/' is not",
                 id="url-userinfo"),
    pytest.param({"host": "::1%\n-oProxyCommand=x"}, "host: '::1%\\n-oProxyCommand=x' is not", id="ipv6-zone-newline"),
])
def test_a_connect_answer_that_cannot_be_used_is_refused_naming_the_field(fields, problem):
    client = make_client(data(connect=dict(GOOD_CONNECT, **fields)))
    with pytest.raises(UnusableConnectError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert problem in str(error.value)
    assert error.value.kind == "response"
    assert error.value.connection_id == "c1"  # so the proxy it opened can be closed


@pytest.mark.parametrize("connection_id", ["'-oProxyCommand=x'", "", None, 5, "c" * 129])
def test_a_connect_answer_whose_id_is_not_an_id_has_nothing_to_close_by(connection_id):
    client = make_client(data(connect=dict(GOOD_CONNECT, id=connection_id)))
    with pytest.raises(UnusableConnectError, match="cannot be used: id: ") as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert error.value.connection_id is None


@pytest.mark.parametrize("fields, address", [
    pytest.param({}, ("127.0.0.1", 33000, "tcp://127.0.0.1:33000"), id="port-proxy"),
    pytest.param({"host": None, "port": None, "url": "tcp://proxy.remote.it:33001"},
                 ("proxy.remote.it", 33001, "tcp://proxy.remote.it:33001"), id="port-proxy-by-url"),
    pytest.param({"host": "::1", "url": None}, ("::1", 33000, None), id="ipv6"),
    pytest.param({"reverseProxy": True, "host": None, "port": None, "url": "https://x1.p.remote.it"},
                 ("x1.p.remote.it", None, "https://x1.p.remote.it"), id="reverse-proxy"),
    pytest.param({"reverseProxy": True, "port": 443, "url": "https://x1.p.remote.it"},
                 ("127.0.0.1", None, "https://x1.p.remote.it"), id="reverse-proxy-port-dropped"),
    pytest.param({"created": "9999-12-31T23:59:59Z", "timeout": 0}, ("127.0.0.1", 33000, "tcp://127.0.0.1:33000"),
                 id="absurd-created-ignored"),
])
def test_a_usable_connect_answer_is_kept_as_given(fields, address):
    connection = make_client(data(connect=dict(GOOD_CONNECT, **fields))).connect("80:00:00:00:01:00:00:02", "0.0.0.0")
    assert (connection["host"], connection["port"], connection["url"]) == address
    assert (connection["id"], connection["session_id"]) == ("c1", "s1")


def test_devices_and_services_whose_id_is_not_an_id_are_left_out_with_a_warning():
    bad_device = dict(device(2), id="'-oProxyCommand=touch /tmp/x'")
    odd_services = dict(device(3), services=[dict(device(3)["services"][0], id="80:00'-oX'"), device(3)["services"][0]])
    warnings = []
    client = make_client(data(login={"devices": {"hasMore": False, "items": [device(1), bad_device, odd_services]}}),
                         warn=warnings.append)
    devices = list(client.iter_devices())
    assert [item["name"] for item in devices] == ["dev-1", "dev-3"]
    assert [service["id"] for service in devices[1]["services"]] == ["80:00:00:00:00:00:01:03"]
    assert len(warnings) == 2
    assert "left out a device that remote.it listed: its id: \"'-oProxyCommand=touch /tmp/x'\" is not a remote.it id" \
        in warnings[0]
    assert "left out a service of device 'dev-3'" in warnings[1]


@pytest.mark.parametrize("item, problem", [
    ({"name": "no-id", "services": []}, "its id: None is not a remote.it id (8 hex octets separated by colons)"),
    ({"id": "", "name": "empty-id"}, "its id: '' is not a remote.it id (8 hex octets separated by colons)"),
    ("a device", "it is not an object"),
    ({"id": "80:00:00:00:00:00:00:09", "name": "odd", "services": 5}, "its services are not a list"),
])
def test_a_malformed_device_is_left_out_not_the_whole_list(item, problem):
    warnings = []
    client = make_client(data(login={"devices": {"hasMore": False, "items": [item, device(1)]}}), warn=warnings.append)
    assert [listed["name"] for listed in client.iter_devices()] == ["dev-1"]
    assert warnings == ["left out a device that remote.it listed: %s" % problem]


def test_a_hostile_nesting_depth_is_a_malformed_answer_not_a_crash():
    client = make_client(http_response(text='{"data":' + "[" * 100000 + "]" * 100000 + "}"))
    with pytest.raises(ResponseError, match="malformed API response"):
        client.sessions()


@pytest.mark.parametrize("email", [5, ["x"], {"a": 1}])
def test_an_email_that_is_not_text_means_the_owner_is_unknown(email):
    sessions = [{"id": "s1", "user": {"email": email}}]
    assert make_client(data(login={"email": email, "sessions": sessions})).sessions()[0]["mine"] is None


def test_sessions_whose_id_is_not_an_id_are_left_out():
    sessions = [{"id": "s1", "timestamp": "2026-01-01T00:00:00Z"}, {"id": "-oProxyCommand=x"}, {"id": None}]
    assert [session["id"] for session in make_client(data(login={"sessions": sessions})).sessions()] == ["s1"]
