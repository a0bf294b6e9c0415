# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.remoteit_connection_info: what this controller recorded, and what of it still works."""

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._records import RESULT_FIELDS

from ..plugin_utils.fakes import FakeClient, device

KITCHEN_SSH = "80:00:00:00:01:00:00:01"
GARAGE_SSH = "80:00:00:00:02:00:00:01"
LONG_AGO = "2000-01-01T00:00:00Z"


@pytest.fixture
def recorded(run_action, store, make_old):
    """(client, {name: connection id}): three connections the module opened an hour ago; since then one was closed
    elsewhere (remote.it no longer lists it) and one outlived its lifetime."""
    client = FakeClient([
        device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02"))),
        device("pi-garage", "80:00:00:00:02:00:00:00"),
    ])
    ids = {}
    for name, selection in (("live", {"device": "pi-kitchen", "service": "ssh"}),
                            ("gone", {"device": "pi-kitchen", "service": "web"}),
                            ("expired", {"service_id": GARAGE_SSH})):
        ids[name] = run_action("remoteit_connection", client, **selection)["connection"]["id"]
    make_old(*ids.values())
    client.session_list = [session for session in client.session_list if session["id"] != ids["gone"]]
    with store.update() as records:
        for record in records:
            if record["id"] == ids["expired"]:
                record["expires_at"] = LONG_AGO
    client.calls.clear()
    return client, ids


def test_each_recorded_connection_is_marked_alive_or_expired(run_action, recorded):
    client, ids = recorded
    result = run_action("remoteit_connection_info", client)
    assert result["changed"] is False and not result.get("failed")
    marks = {connection["id"]: (connection["alive"], connection["expired"]) for connection in result["connections"]}
    assert marks == {ids["live"]: (True, False), ids["gone"]: (False, False), ids["expired"]: (False, True)}
    assert [call for call in client.calls if call[0] != "sessions"] == []  # it only reads


def test_connections_are_shaped_like_the_modules_result(run_action, recorded):
    client, ids = recorded
    connection = run_action("remoteit_connection_info", client)["connections"][0]
    assert sorted(connection) == sorted(RESULT_FIELDS + ("host_key_alias", "reused", "alive", "expired"))
    assert connection["host"] == "proxy.example" and connection["port"] == 33000


@pytest.mark.parametrize("selection, listed", [
    ({}, ["live", "gone", "expired"]),
    ({"device": "pi-kitchen", "service": "web"}, ["gone"]),
    ({"device": "pi-kitchen", "service": "SSH"}, ["live"]),
    ({"service_id": GARAGE_SSH.lower()}, ["expired"]),
    ({"service_id": "80:00:00:00:09:00:00:01"}, []),
])
def test_a_service_selection_filters_the_list(run_action, recorded, selection, listed):
    client, ids = recorded
    result = run_action("remoteit_connection_info", client, **selection)
    assert sorted(connection["id"] for connection in result["connections"]) == sorted(ids[name] for name in listed)


def test_a_device_with_several_services_needs_its_service(run_action, recorded):
    client, _ids = recorded
    result = run_action("remoteit_connection_info", client, device="PI-KITCHEN")
    assert result["failed"] is True
    assert result["msg"] == "device 'pi-kitchen' has 2 services (ssh, web): choose one with service (DEVICE/SERVICE in the lookup)"


def test_connections_of_another_api_endpoint_are_not_listed(run_action, recorded, store):
    client, ids = recorded
    with store.update() as records:
        for record in records:
            if record["id"] == ids["live"]:
                record["api_url"] = "http://127.0.0.1:8123/graphql/v1"
    result = run_action("remoteit_connection_info", client)
    assert sorted(connection["id"] for connection in result["connections"]) == sorted([ids["gone"], ids["expired"]])


def test_nothing_recorded_is_an_empty_list_without_asking_remoteit(run_action):
    client = FakeClient()
    assert run_action("remoteit_connection_info", client) == {"changed": False, "connections": []}
    assert client.calls == []


def test_reading_never_writes_the_connections_file(run_action, recorded, store):
    """What remote.it confirms is shown, not recorded: an info module leaves the file as it found it."""
    client, _ids = recorded
    before = open(store.path, encoding="utf-8").read()
    run_action("remoteit_connection_info", client)
    assert open(store.path, encoding="utf-8").read() == before


def test_check_mode_of_the_connection_module_never_writes_the_connections_file(run_action, recorded, store):
    client, ids = recorded
    before = open(store.path, encoding="utf-8").read()
    result = run_action("remoteit_connection", client, check_mode=True, device="pi-kitchen", service="ssh")
    assert result["changed"] is False and result["connection"]["id"] == ids["live"]
    assert open(store.path, encoding="utf-8").read() == before
