# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.remoteit_device_info: the account's devices, filtered as the user asked."""

from __future__ import annotations

import pytest

from ..plugin_utils.fakes import FakeClient, device

HTTP = 8


class FakeApplicationsClient(FakeClient):
    """A FakeClient that also knows remote.it's application types (as remoteit_device_info asks)."""

    def application_types(self):
        self.calls.append(("applicationTypes",))
        return [{"id": 28, "name": "SSH", "port": 22, "proxy": False},
                {"id": 8, "name": "HTTP", "port": 80, "proxy": True}]


def with_http(item, service_name="web"):
    """The device with its service `service_name` made an HTTP (application 8) service."""
    for service in item["services"]:
        if service["name"] == service_name:
            service.update(application=HTTP, application_name="HTTP", port=80)
    return item


def fleet():
    return FakeApplicationsClient([
        with_http(device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02")))),
        device("pi-kitchen-2", "80:00:00:00:02:00:00:00"),
        device("PI-GARAGE", "80:00:00:00:03:00:00:00", state="inactive"),
        with_http(device("kiosk-lobby", "80:00:00:00:04:00:00:00", services=(("web", "01"),))),
    ])


@pytest.mark.parametrize("filters, names", [
    ({}, ["pi-kitchen", "pi-kitchen-2", "PI-GARAGE", "kiosk-lobby"]),
    ({"name": "PI-KITCHEN"}, ["pi-kitchen"]),
    ({"name": "pi-garage"}, ["PI-GARAGE"]),
    ({"name": "pi-kit"}, []),
    ({"name_contains": "KITCHEN"}, ["pi-kitchen", "pi-kitchen-2"]),
    ({"name_contains": "garage"}, ["PI-GARAGE"]),
    ({"state": "active"}, ["pi-kitchen", "pi-kitchen-2", "kiosk-lobby"]),
    ({"state": "inactive"}, ["PI-GARAGE"]),
    ({"application": "ssh"}, ["pi-kitchen", "pi-kitchen-2", "PI-GARAGE"]),
    ({"application": "HTTP"}, ["pi-kitchen", "kiosk-lobby"]),
    ({"application": "8"}, ["pi-kitchen", "kiosk-lobby"]),
    ({"application": "http", "state": "active", "name_contains": "pi"}, ["pi-kitchen"]),
])
def test_filters_select_the_devices(run_action, filters, names):
    result = run_action("remoteit_device_info", fleet(), **filters)
    assert result["changed"] is False and not result.get("failed")
    assert [item["name"] for item in result["devices"]] == names


def test_devices_are_listed_with_their_services(run_action):
    result = run_action("remoteit_device_info", fleet(), name="kiosk-lobby")
    assert result["devices"] == [{
        "id": "80:00:00:00:04:00:00:00", "name": "kiosk-lobby", "state": "active", "online": True, "tags": [],
        "services": [{"id": "80:00:00:00:04:00:00:01", "name": "web", "application": HTTP, "application_name": "HTTP",
                      "port": 80, "host": "localhost", "state": "active", "enabled": True}]}]


def test_an_unknown_application_fails_listing_the_known_ones(run_action):
    result = run_action("remoteit_device_info", fleet(), application="telnet")
    assert result["failed"] is True
    assert result["msg"] == "unknown application 'telnet'; remote.it knows: HTTP, SSH"
    assert result["error"]["kind"] == "invalid_input"


def test_an_invalid_state_fails_naming_the_choices(run_action):
    client = fleet()
    result = run_action("remoteit_device_info", client, state="up")
    assert result["failed"] is True
    assert "value of state must be one of: active, inactive, got: up" in result["msg"]
    assert client.calls == []


def tagged_fleet():
    return FakeApplicationsClient([
        device("pi-kitchen", "80:00:00:00:01:00:00:00", tags=["canary", "eu-west"]),
        device("pi-garage", "80:00:00:00:02:00:00:00", tags=["EU-WEST"]),
        device("kiosk", "80:00:00:00:03:00:00:00", state="inactive", tags=["canary"]),
    ])


@pytest.mark.parametrize("filters, names, sent", [
    ({"tags": ["canary"]}, ["pi-kitchen", "kiosk"], {"operator": "ANY", "values": ["canary"]}),
    ({"tags": ["eu-west", "canary"], "tags_match": "all"}, ["pi-kitchen"],
     {"operator": "ANY", "values": ["eu-west", "EU-WEST", "canary"]}),
    ({"tags": ["canary"], "state": "active"}, ["pi-kitchen"], {"operator": "ANY", "values": ["canary"]}),
    ({"tags": ["eu-west"], "name_contains": "garage"}, ["pi-garage"], {"operator": "ANY", "values": ["eu-west", "EU-WEST"]}),
])
def test_tags_are_sent_to_remote_it_and_combine_with_the_other_filters(run_action, filters, names, sent):
    client = tagged_fleet()
    result = run_action("remoteit_device_info", client, **filters)
    assert [item["name"] for item in result["devices"]] == names
    assert [call[2] for call in client.calls if call[0] == "devices"] == [sent]
    assert result["devices"][0]["tags"] == next(item["tags"] for item in client.devices if item["name"] == names[0])


def test_an_invalid_tags_match_is_refused(run_action):
    result = run_action("remoteit_device_info", tagged_fleet(), tags=["canary"], tags_match="most")
    assert result["failed"] is True and "tags_match" in result["msg"]
