# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    OfflineError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import require_online, resolve_service

from .fakes import FakeClient, device

FLEET = [
    device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02"))),
    device("pi-kitchen-2", "80:00:00:00:02:00:00:00"),
    device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
    device("kiosk-lobby", "80:00:00:00:04:00:00:00"),
    device("KIOSK-LOBBY", "80:00:00:00:05:00:00:00"),
]


def resolve(**selection):
    """The target a task that opens a proxy gets: selected, and checked to be running."""
    target = resolve_service(FakeClient(FLEET), **selection)
    require_online(target)
    return target


@pytest.mark.parametrize("service_id", ["80:00:00:00:0a:0b:0c:0d", "80:00:00:00:0A:0B:0C:0D", "80:00:00:00:0a:0B:0c:0D"])
def test_a_service_id_needs_no_api_call_and_is_sent_as_typed(service_id):
    client = FakeClient(FLEET)
    target = resolve_service(client, service_id=service_id)
    assert target["service_id"] == service_id
    assert client.calls == []


def test_a_device_id_is_asked_for_as_typed_and_matches_in_any_case_keeping_the_apis_ids():
    """The API may write ids in lower case: the target carries them as it gave them, never rewritten."""
    fleet = [device("pi-lower", "80:00:00:00:0a:00:00:00", services=(("ssh", "0b"),))]
    client = FakeClient(fleet)
    client.devices_by_id = lambda ids: client.calls.append(("device", ids)) or list(fleet)
    target = resolve_service(client, device="80:00:00:00:0A:00:00:00")
    assert client.calls == [("device", ["80:00:00:00:0A:00:00:00"])]
    assert (target["device_id"], target["service_id"]) == ("80:00:00:00:0a:00:00:00", "80:00:00:00:0a:00:00:0b")


def test_a_device_the_api_answers_for_another_id_is_not_taken_for_the_one_asked():
    client = FakeClient(FLEET)
    client.devices_by_id = lambda ids: [FLEET[1]]
    with pytest.raises(NotFoundError, match="no device named '80:00:00:00:01:00:00:00'"):
        resolve_service(client, device="80:00:00:00:01:00:00:00")


def test_names_match_exactly_and_case_insensitively_among_substring_results():
    target = resolve(device="PI-Kitchen", service="SSH")
    assert target == {"service_id": "80:00:00:00:01:00:00:01", "service_name": "ssh",
                      "device_id": "80:00:00:00:01:00:00:00", "device_name": "pi-kitchen",
                      "device_state": "active", "service_state": "active", "application": 28}


def test_a_device_can_be_named_by_its_id():
    assert resolve(device="80:00:00:00:02:00:00:00")["device_name"] == "pi-kitchen-2"


def test_the_service_may_be_omitted_when_the_device_has_one():
    assert resolve(device="pi-kitchen-2")["service_id"] == "80:00:00:00:02:00:00:01"


@pytest.mark.parametrize("selection, error_class, mentions", [
    ({"service_id": "80:00:zz"}, InvalidInputError, ["8 hex octets"]),
    ({"device": "kiosk-lobby"}, AmbiguousError, ["'kiosk-lobby' [80:00:00:00:04:00:00:00]",
                                                 "'KIOSK-LOBBY' [80:00:00:00:05:00:00:00]"]),
    ({"device": "pi-kit"}, NotFoundError, ["pi-kitchen", "pi-kitchen-2"]),
    ({"device": "toaster"}, NotFoundError, ["your devices", "gateway-01", "kiosk-lobby"]),
    ({"device": "pi-kitchen/ssh"}, NotFoundError, [
        "no device named 'pi-kitchen/ssh'; your devices: pi-kitchen, pi-kitchen-2, gateway-01, kiosk-lobby, KIOSK-LOBBY. "
        "DEVICE/SERVICE is the lookup's syntax: the modules take the service as an option of its own "
        "(use device: pi-kitchen and service: ssh)"]),
    ({"device": "pi-kitchen"}, AmbiguousError, ["2 services", "ssh, web"]),
    ({"device": "pi-kitchen", "service": "vnc"}, NotFoundError, ["no service named 'vnc'", "ssh, web"]),
    ({"device": "gateway-01", "service": "ssh"}, OfflineError, ["offline", "inactive"]),
    ({}, InvalidInputError, ["service_id", "device"]),
])
def test_bad_selections_name_the_candidates(selection, error_class, mentions):
    with pytest.raises(error_class) as error:
        resolve(**selection)
    for text in mentions:
        assert text in str(error.value)


def test_an_offline_device_can_still_be_selected_for_closing():
    target = resolve_service(FakeClient(FLEET), device="gateway-01")
    assert target["device_name"] == "gateway-01"
    with pytest.raises(OfflineError, match="offline"):
        require_online(target)
