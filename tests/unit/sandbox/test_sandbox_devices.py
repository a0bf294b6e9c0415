# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The inspection endpoints that change the world while the sandbox runs: a device's state, new and deleted
devices, seen through the signed API as remote.it would show them."""

from __future__ import annotations

import pytest
import requests

from .sandbox_helpers import TIMEOUT

DEVICES = "{ login { devices(size: 1000) { items { id name state online services { id state } } } } }"
GARAGE = "80:00:00:00:01:00:00:02"
GARAGE_SSH = "80:00:00:00:01:00:02:01"
NEW_DEVICE = {"id": "80:00:00:00:01:00:00:99", "name": "pi-new",
              "services": [{"id": "80:00:00:00:01:00:99:01", "name": "ssh", "application": 28,
                            "target": "127.0.0.1:${DEVICE_SSH_PORT}"}]}


def listed(client):
    """Device name -> (state, online, service states) as the signed API lists them."""
    items = client.data(DEVICES)["login"]["devices"]["items"]
    return {item["name"]: (item["state"], item["online"], [service["state"] for service in item["services"]])
            for item in items}


def inspect(sandbox, method, path, body=None):
    return requests.request(method, sandbox.inspect_url + path, json=body, timeout=TIMEOUT)


def test_a_device_taken_offline_lists_offline_with_its_services_refuses_connects_and_comes_back(sandbox, client):
    answer = inspect(sandbox, "POST", "/devices/pi-garage/state", {"state": "inactive"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["services"] == [{"id": GARAGE_SSH, "name": "ssh", "state": "inactive"}]
    assert listed(client)["pi-garage"] == ("inactive", False, ["inactive"])
    assert client.error('mutation { connect(serviceId: "%s", hostIP: "0.0.0.0") { id } }' % GARAGE_SSH) \
        == "Device pi-garage is inactive"

    answer = inspect(sandbox, "POST", "/devices/%s/state" % GARAGE, {"state": "active"})  # by id this time
    assert answer.status_code == 200, answer.text
    assert listed(client)["pi-garage"] == ("active", True, ["active"])
    assert client.connect(GARAGE_SSH, host_ip="0.0.0.0")["id"]


def test_a_device_inactive_at_start_comes_online_with_its_services(sandbox, client):
    assert listed(client)["gateway-01"] == ("inactive", False, ["inactive"])
    assert sandbox.set_device_state("gateway-01", "active")["state"] == "active"
    assert listed(client)["gateway-01"] == ("active", True, ["active"])


def test_a_service_the_world_keeps_inactive_stays_inactive_when_its_device_returns(make_sandbox):
    world = {"access_keys": [{"id": "KEY", "secret": "c2VjcmV0", "user": "u1"}],
             "users": [{"id": "u1", "email": "u1@example.com", "devices": [
                 {"id": "80:00:00:00:09:00:00:01", "name": "box", "services": [
                     {"id": "80:00:00:00:09:00:01:01", "name": "ssh", "application": 28},
                     {"id": "80:00:00:00:09:00:01:02", "name": "vnc", "application": 4, "state": "inactive"}]}]}]}
    sandbox = make_sandbox(world)
    sandbox.set_device_state("box", "inactive")
    assert [service["state"] for service in sandbox.set_device_state("box", "active")["services"]] \
        == ["active", "inactive"]


def test_devices_appear_and_disappear(sandbox, client):
    answer = inspect(sandbox, "POST", "/devices", NEW_DEVICE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["account"] == "5e1f0a2b-0000-4000-8000-000000000001"
    assert listed(client)["pi-new"] == ("active", True, ["active"])
    assert client.connect("80:00:00:00:01:00:99:01", host_ip="0.0.0.0")["id"]

    answer = inspect(sandbox, "DELETE", "/devices/pi-new")
    assert answer.status_code == 200, answer.text
    assert "pi-new" not in listed(client)
    assert "Service not found" in client.error(
        'mutation { connect(serviceId: "80:00:00:00:01:00:99:01", hostIP: "0.0.0.0") { id } }')
    assert sandbox.proxies() != [], "a deleted device's live proxy stays live"


def test_a_rejected_device_leaves_the_world_as_it_was(sandbox, client):
    before = listed(client)
    taken_service_id = dict(NEW_DEVICE, services=[dict(NEW_DEVICE["services"][0], id=GARAGE_SSH)])
    answer = inspect(sandbox, "POST", "/devices", taken_service_id)
    assert (answer.status_code, answer.json()["error"]) == (400, "duplicate service id %s" % GARAGE_SSH)
    assert listed(client) == before
    assert inspect(sandbox, "POST", "/devices", NEW_DEVICE).status_code == 200, "its device id stayed taken"


@pytest.mark.parametrize("method, path, body, status, error", [
    ("POST", "/devices/nothing/state", {"state": "active"}, 404, "no device with id or name 'nothing'"),
    ("DELETE", "/devices/nothing", None, 404, "no device with id or name 'nothing'"),
    ("POST", "/devices/pi-garage/state", {"state": "online"}, 400,
     "device %s: state must be active or inactive, not 'online'" % GARAGE),
    ("POST", "/devices/pi-garage/state", [], 400, "the body must be a JSON object"),
    ("POST", "/devices", dict(NEW_DEVICE, account="nobody"), 400, "no account with id 'nobody'"),
])
def test_bad_requests_say_what_is_wrong(sandbox, method, path, body, status, error):
    answer = inspect(sandbox, method, path, body)
    assert (answer.status_code, answer.json()) == (status, {"error": error})


def test_a_name_that_several_devices_have_is_refused(sandbox):
    sandbox.add_device(dict(NEW_DEVICE, name="pi-garage"))
    answer = inspect(sandbox, "POST", "/devices/pi-garage/state", {"state": "inactive"})
    assert (answer.status_code, answer.json()) == (400, {"error": "several devices are named 'pi-garage': give its id"})
