# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import socket

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._api import AmbiguousResultError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import (
    ProxyManager,
    iso,
    normalize_host_ip,
    now_utc,
    parse_selector,
    to_result,
    wait_for_port,
)

from .fakes import FakeClient, device

SERVICE = "80:00:00:00:01:00:00:01"
TARGET = {"service_id": SERVICE, "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00",
          "device_name": "pi-kitchen"}
LATCHING = "255.255.255.255"


@pytest.fixture
def manager(tmp_path):
    return ProxyManager(FakeClient(), ConnectionStore(str(tmp_path / "connections.json")))


def reuse(manager, host_ip, renew_before):
    return manager.reusable(manager.recorded(SERVICE), host_ip, renew_before)


def fresh(manager):
    """A new manager over the same client and file, as the next task would build."""
    return ProxyManager(manager.client, manager.store)


@pytest.mark.parametrize("given, expected", [
    ("latching", LATCHING), ("LATCHING", LATCHING), ("255.255.255.255", LATCHING),
    ("public", "0.0.0.0"), ("0.0.0.0", "0.0.0.0"), ("203.0.113.9", "203.0.113.9"),
    ("2001:DB8::1", "2001:db8::1"),
])
def test_host_ip_modes(given, expected):
    assert normalize_host_ip(given) == expected


@pytest.mark.parametrize("given", ["", "restricted", "300.1.1.1", "10.0.0.0/8", "localhost"])
def test_invalid_host_ip_is_rejected(given):
    with pytest.raises(RemoteitError, match="host_ip"):
        normalize_host_ip(given)


def test_open_records_the_connection_with_names_and_expiry(manager):
    record = manager.open(TARGET, LATCHING)
    result = to_result(record)
    assert result["host"] == "proxy.example" and result["port"] == 33000
    assert result["device_name"] == "pi-kitchen" and result["host_ip"] == LATCHING
    assert result["expires_at"] == "2999-01-01T08:00:00Z"
    assert manager.store.records()[0]["api_url"] == FakeClient.api_url
    assert "secret" not in open(manager.store.path).read().lower()


def test_a_live_recorded_connection_is_reused_with_one_sessions_query(manager):
    opened = manager.open(TARGET, LATCHING)
    again = reuse(fresh(manager), LATCHING, 300)
    assert again["id"] == opened["id"]
    assert manager.client.count("sessions") == 1


def test_the_api_answer_is_trusted_for_30_seconds(manager):
    manager.open(TARGET, LATCHING)
    for _task in range(20):
        assert reuse(fresh(manager), LATCHING, 300) is not None
    assert manager.client.count("sessions") == 1


def test_a_connection_remote_it_no_longer_lists_is_not_reused(manager):
    opened = manager.open(TARGET, LATCHING)
    reuse(fresh(manager), LATCHING, 300)  # confirmed once
    manager.client.session_list.clear()
    with manager.store.update() as records:
        records[0]["confirmed_at"] = iso(now_utc() - datetime.timedelta(seconds=60))
    assert reuse(fresh(manager), LATCHING, 300) is None
    assert opened["id"]


def test_a_never_listed_new_connection_is_trusted_until_the_idle_expiry(manager):
    """remote.it may not list a proxy before its first use; it must not be opened twice."""
    manager.open(TARGET, LATCHING)
    manager.client.session_list.clear()
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc())
    assert reuse(fresh(manager), LATCHING, 300) is not None
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc() - datetime.timedelta(seconds=901))
    assert reuse(fresh(manager), LATCHING, 300) is None


def test_a_connection_about_to_expire_is_renewed(manager):
    manager.open(TARGET, LATCHING)
    with manager.store.update() as records:
        records[0]["expires_at"] = iso(now_utc() + datetime.timedelta(seconds=120))
    assert reuse(fresh(manager), LATCHING, 300) is None
    assert reuse(fresh(manager), LATCHING, 60) is not None


def test_other_host_ip_or_api_url_is_another_key(manager):
    manager.open(TARGET, LATCHING)
    assert reuse(fresh(manager), "0.0.0.0", 300) is None
    other = ProxyManager(FakeClient(), manager.store)
    other.client.api_url = "http://127.0.0.1:1/graphql/v1"
    assert reuse(other, LATCHING, 300) is None


def test_opening_again_replaces_the_records_of_the_same_key(manager):
    manager.open(TARGET, LATCHING)
    manager.open(TARGET, "0.0.0.0")
    newest = manager.open(TARGET, LATCHING)
    kept = [(record["id"], record["host_ip"]) for record in manager.store.records()]
    assert sorted(kept) == sorted([("conn-2", "0.0.0.0"), (newest["id"], LATCHING)])


def test_a_lost_connect_answer_closes_the_orphan_and_tries_again(manager):
    manager.client.connect_failures.append(AmbiguousResultError("no answer"))
    record = manager.open(TARGET, LATCHING)
    assert ("disconnect", "conn-1") in manager.client.calls
    assert record["id"] == "conn-2"
    assert [session["id"] for session in manager.client.session_list] == ["conn-2"]


def test_lost_connect_answers_beyond_the_retries_fail_with_nothing_left_open(manager):
    manager.client.connect_failures.extend([AmbiguousResultError("no answer")] * 3)
    with pytest.raises(RemoteitError, match=r"failed 3 times .* closed 3 proxy"):
        manager.open(TARGET, LATCHING)
    assert manager.client.session_list == []
    assert manager.store.records() == []
    assert manager.client.count("pause") == 2


def test_close_forgets_records_and_reports_only_what_was_open(manager):
    first = manager.open(TARGET, LATCHING)
    manager.client.session_list.clear()  # expired on remote.it's side
    assert manager.close([first["id"]]) == []
    assert manager.store.records() == []
    second = manager.open(TARGET, LATCHING)
    assert manager.close([second["id"]]) == [second["id"]]


def test_wait_for_port_returns_once_the_port_accepts():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert wait_for_port({"host": "127.0.0.1", "port": listener.getsockname()[1]}, 5) < 5


def test_wait_for_port_gives_up_after_the_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteitError, match="did not accept connections"):
        wait_for_port({"host": "127.0.0.1", "port": port}, 1, interval=0.2)


@pytest.mark.parametrize("text, expected", [
    ("80:00:00:00:01:00:00:01", {"service_id": "80:00:00:00:01:00:00:01", "device": None, "service": None}),
    ("pi-kitchen/ssh", {"service_id": None, "device": "pi-kitchen", "service": "ssh"}),
    ("site/a/ssh", {"service_id": None, "device": "site/a", "service": "ssh"}),
    ("pi-kitchen", {"service_id": None, "device": "pi-kitchen", "service": None}),
])
def test_selectors(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["", "pi-kitchen/", "/ssh"])
def test_selectors_that_select_nothing(text):
    with pytest.raises(RemoteitError, match="does not select a service"):
        parse_selector(text)


def test_select_finds_records_by_recorded_names_without_the_api(manager):
    opened = manager.open(TARGET, LATCHING)
    calls = len(manager.client.calls)
    assert [record["id"] for record in fresh(manager).select(device="PI-KITCHEN", service="SSH")] == [opened["id"]]
    assert [record["id"] for record in fresh(manager).select(device="pi-kitchen")] == [opened["id"]]
    assert len(manager.client.calls) == calls


def test_select_asks_the_api_only_for_names_no_record_carries(manager):
    manager.client.devices = [device("renamed-pi", "80:00:00:00:01:00:00:00")]
    opened = manager.open(TARGET, LATCHING)
    assert [record["id"] for record in fresh(manager).select(device="renamed-pi", service="ssh")] == [opened["id"]]
    assert manager.client.count("devices") == 1


def test_select_refuses_a_device_alone_with_connections_to_several_services(manager):
    manager.open(TARGET, LATCHING)
    manager.open(dict(TARGET, service_id="80:00:00:00:01:00:00:02", service_name="web"), LATCHING)
    with pytest.raises(RemoteitError, match=r"several services \(ssh, web\)"):
        fresh(manager).select(device="pi-kitchen")


def test_expired_records_are_never_alive(manager):
    manager.open(TARGET, LATCHING)
    with manager.store.update() as records:
        records[0]["expires_at"] = iso(now_utc() - datetime.timedelta(seconds=1))
        records[0]["confirmed_at"] = iso(now_utc())
    assert fresh(manager).alive(manager.store.records()) == []
