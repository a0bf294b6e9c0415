# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted

RECORD = {"id": "0c7c1b9e-7f7e-4bd4-9a4e-3f1b2f0f9a11", "session_id": None, "api_url": "https://api.remote.it/graphql/v1",
          "service_id": "80:00:00:00:01:00:01:01", "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:01",
          "device_name": "pi-kitchen", "host": "127.0.0.1", "port": 33000, "url": "tcp://127.0.0.1:33000",
          "reverse_proxy": False, "host_ip": "255.255.255.255", "created": "2026-01-01T00:00:00Z",
          "expires_at": "2026-01-01T08:00:00Z", "timeout": 28800, "confirmed_at": None}


@pytest.mark.parametrize("value", ["80:00:00:00:01:00:01:01", "80:00:00:00:0a:bc:de:01"])
def test_ids_in_either_case_are_ids_and_kept_as_given(value):
    assert _untrusted.service_id(value) == value


@pytest.mark.parametrize("value", ["80:00'-oProxyCommand=x'", "80:00:00:00:01:00:01", "80-00-00-00-01-00-01-01", "", None, 5,
                                   "80:00:00:00:01:00:01:01\n"])
def test_what_is_not_an_id(value):
    with pytest.raises(ValueError, match="is not a remote.it id"):
        _untrusted.service_id(value)


@pytest.mark.parametrize("value", ["-oProxyCommand=x", "a b", "", "a\n", "x" * 129, 5, None, "a'b"])
def test_what_is_not_a_connection_id(value):
    with pytest.raises(ValueError, match="is not a connection id"):
        _untrusted.connection_id(value)


@pytest.mark.parametrize("value", [1, 22, 65535])
def test_ports(value):
    assert _untrusted.port(value) == value


@pytest.mark.parametrize("value", [0, 65536, 70000, -1, True, "22", "abc", 22.0, None])
def test_what_is_not_a_port(value):
    with pytest.raises(ValueError, match="is not a port"):
        _untrusted.port(value)


@pytest.mark.parametrize("value", ["127.0.0.1", "::1", "fe80::1%eth0", "proxy.remote.it", "proxy.remote.it.", "x_1.example"])
def test_hosts(value):
    assert _untrusted.host(value) == value


@pytest.mark.parametrize("value", ["-oProxyCommand=touch /tmp/x", "proxy example", "proxy\nexample", "proxy\texample",
                                   "", 5, None, "a..b", "-leading.example", "x" * 254, "host'quote", "host;rm", "[::1",
                                   "[::1]", "::1%$(id)", "fe80::1%\t-oProxyCommand=x", "::1%\n-oX", "fe80::1%\x1b[2J",
                                   "::1%", "host%eth0", "127.0.0.1%eth0"])
def test_what_is_not_a_host(value):
    with pytest.raises(ValueError, match="is not a host name or IP address"):
        _untrusted.host(value)


@pytest.mark.parametrize("value, schemes", [
    ("file:///etc/passwd", ("http", "https")), ("javascript:alert(1)", ("http", "https")),
    ("http://-oProxyCommand=x/", ("http", "https")), ("http://host name/", ("http", "https")),
    ("http://host:99999/", ("http", "https")), ("http://host:abc/", ("http", "https")),
    ("tcp://127.0.0.1:1", ("http", "https")), ("http://h/\n", ("http", "https")), (5, ("http", "https")),
    ("https://xyz.p.remote.it@evil.example/", ("http", "https")), ("https://user:-oProxy@x.example/", ("http", "https")),
    ("https://x.example/{{lookup('pipe','id')}}", ("http", "https")), ("https://x.example/" + "a" * 2048, ("http", "https")),
])
def test_what_is_not_a_url(value, schemes):
    with pytest.raises(ValueError, match="URL"):
        _untrusted.url(value, schemes)


def test_bounded_escapes_control_characters_and_cuts_long_text():
    assert _untrusted.bounded("pi\nkitchen\x1b[31m\u202e") == "pi\\nkitchen\\x1b[31m\\u202e"
    long = _untrusted.bounded("x" * 10000, 200)
    assert long == "x" * 200 + "...(10000 characters)"
    assert _untrusted.bounded("ü-device") == "ü-device"


@pytest.mark.parametrize("text, inert", [
    ("pi-kitchen", "pi-kitchen"),
    ("{{ lookup('pipe', 'id') }}", "{\u2060{ lookup('pipe', 'id') }}"),
    ("a {% x %} {# y #} {", "a {\u2060% x %} {\u2060# y #} {\u2060"),
    ("#jinja2:variable_start_string:'[['\n[[ x ]]", "#\u2060jinja2:variable_start_string:'[['\n[[ x ]]"),
    (" #jinja2:", " #jinja2:"),  # only a header at the very start sets delimiters
])
def test_inert_text_reads_the_same_and_holds_no_template(text, inert):
    assert _untrusted.inert(text) == inert
    assert _untrusted.inert({text: [text]}) == {inert: [inert]}


def test_records_written_by_this_collection_pass():
    assert _untrusted.record(dict(RECORD)) == RECORD
    reverse = dict(RECORD, reverse_proxy=True, port=None, url="https://x1.p.remote.it", host="x1.p.remote.it")
    assert _untrusted.record(reverse) == reverse
    intent = {"id": "intent-0f", "intent": True, "api_url": RECORD["api_url"], "service_id": RECORD["service_id"],
              "host_ip": "0.0.0.0", "started": "2026-01-01T00:00:00Z"}
    assert _untrusted.record(intent) == intent


@pytest.mark.parametrize("fields, problem", [
    ({"port": "abc"}, "port: 'abc' is not a port"),
    ({"port": 0}, "port: 0 is not a port"),
    ({"host": 5}, "host: 5 is not a host name"),
    ({"host": "-oProxyCommand=touch /tmp/x"}, "host: '-oProxyCommand=touch /tmp/x' is not a host name"),
    ({"host": None, "port": None, "url": "file:///etc/passwd"}, "host: None is not a host name"),
    ({"reverse_proxy": True, "url": "http://x.example"}, "port: a reverse proxy has no port"),
    ({"service_id": "80:00'-oProxyCommand=x'"}, "service_id: \"80:00'-oProxyCommand=x'\" is not a remote.it id"),
    ({"id": "-oX"}, "id: '-oX' is not a connection id"),
    ({"host_ip": "anywhere"}, "host_ip: 'anywhere' is not an IP address"),
    ({"host_ip": 5}, "host_ip: 5 is not an IP address"),
    ({"device_name": ["a"]}, "device_name: list is not a string"),
    ({"timeout": "8h"}, "timeout: '8h' is not a number of seconds"),
    ({"timeout": 10 ** 15}, "timeout: 1000000000000000 is not a number of seconds"),
    ({"created": "9999-12-31T23:59:59Z"}, "created: '9999-12-31T23:59:59Z' is not an ISO-8601 time"),
    ({"expires_at": "soon"}, "expires_at: 'soon' is not an ISO-8601 time"),
])
def test_a_malformed_record_names_its_field(fields, problem):
    with pytest.raises(ValueError) as error:
        _untrusted.record(dict(RECORD, **fields))
    assert str(error.value).startswith(problem)


def test_an_intent_is_checked_as_an_intent():
    with pytest.raises(ValueError, match="id: 'conn-1' is not an intent id"):
        _untrusted.record({"id": "conn-1", "intent": True, "api_url": RECORD["api_url"], "service_id": RECORD["service_id"],
                           "host_ip": "0.0.0.0", "started": "2026-01-01T00:00:00Z"})
    with pytest.raises(ValueError, match="started: '0001-01-01T00:00:00Z' is not an ISO-8601 time"):
        _untrusted.record({"id": "intent-1", "intent": True, "api_url": RECORD["api_url"], "service_id": RECORD["service_id"],
                           "host_ip": "0.0.0.0", "started": "0001-01-01T00:00:00Z"})
