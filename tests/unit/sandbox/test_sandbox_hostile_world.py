# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Worlds with hostile ids (validate_ids: false) and names, served exactly as given, so the collection's tests can
prove it checks what the API says."""

from __future__ import annotations

import json
import select
import signal
from types import SimpleNamespace

import pytest
import requests
from remoteit_sandbox import Sandbox, WorldError
from remoteit_sandbox.world import DEMO_KEY_ID, DEMO_SECRET, DEMO_USER_ID
from .sandbox_helpers import TIMEOUT, Client, run_cli

DEVICE_ID = "80:00'-oProxyCommand=touch /tmp/x'"
SERVICE_ID = "../../etc"
WEB_ID = "web-Service"
NAMES = ["{{ lookup('pipe', 'touch /tmp/x') }}", "two\nlines", "esc\x1b[31mred", "n" * 10240]
DEVICES = "{ login { devices { items { id name services { id name } } } } }"


def world(device_id=DEVICE_ID, service_ids=(SERVICE_ID, WEB_ID), settings=None, names=("box",)):
    """The demo key's user with one device per name; the first gets the services."""
    devices = [{"id": device_id if index == 0 else f"80:00:00:00:0b:00:00:{index:02x}", "name": name, "services": []}
               for index, name in enumerate(names)]
    devices[0]["services"] = [{"id": service_id, "name": f"svc-{number}", "application": 28, "target": "127.0.0.1:${DEVICE_SSH_PORT:-22}"}
                              for number, service_id in enumerate(service_ids)]
    return {"settings": settings or {}, "access_keys": [{"id": DEMO_KEY_ID, "secret": DEMO_SECRET, "user": DEMO_USER_ID}],
            "users": [{"id": DEMO_USER_ID, "email": "demo@example.com", "devices": devices}]}


def test_without_validate_ids_any_id_is_served_exactly_as_given_and_found_case_insensitively(make_sandbox):
    sandbox = make_sandbox(world(settings={"validate_ids": False}, names=("box", "crate")))
    client = Client(sandbox)
    device = client.data(DEVICES)["login"]["devices"]["items"][0]
    assert (device["id"], [service["id"] for service in device["services"]]) == (DEVICE_ID, [SERVICE_ID, WEB_ID])
    found = client.data(
        "query($d: [String!]!, $s: [String!]!, $a: ID) { login { device(id: $d) { id } service(id: $s) { id }"
        " devices(id: $d) { items { id services(id: $s) { id } } } after: devices(after: $a) { total items { id } } } }",
        {"d": [DEVICE_ID.upper()], "s": [WEB_ID.lower()], "a": DEVICE_ID.lower()})["login"]
    assert found == {"device": [{"id": DEVICE_ID}], "service": [{"id": WEB_ID}],
                     "devices": {"items": [{"id": DEVICE_ID, "services": [{"id": WEB_ID}]}]},
                     "after": {"total": 2, "items": [{"id": "80:00:00:00:0b:00:00:01"}]}}

    connection = client.connect(WEB_ID.upper())  # no "Invalid service ID": the id is looked up
    (proxy,) = sandbox.proxies()
    assert (proxy["id"], proxy["service_id"], proxy["device_id"]) == (connection["id"], WEB_ID, DEVICE_ID)
    session = client.data("{ login { sessions { id target { id device { id } } } } }")["login"]["sessions"]
    assert session == [{"id": connection["id"], "target": {"id": WEB_ID, "device": {"id": DEVICE_ID}}}]
    assert client.error('mutation { connect(serviceId: "nothing") { id } }') == "Service not found: nothing"
    disconnected = client.gql("mutation($c: String!, $s: String) { disconnect(connectionId: $c, serviceId: $s) }",
                              {"c": connection["id"], "s": WEB_ID.lower()})
    assert disconnected == {"data": {"disconnect": True}}


def test_validate_ids_is_on_by_default_and_upper_cases_ids(make_sandbox):
    with pytest.raises(WorldError, match="not 8 hex octets"):
        make_sandbox(world())
    sandbox = make_sandbox(world(device_id="80:00:00:00:0b:00:00:aa", service_ids=("80:00:00:00:0b:00:01:aa",)))
    client = Client(sandbox)
    assert client.data(DEVICES)["login"]["devices"]["items"][0]["services"] == [{"id": "80:00:00:00:0B:00:01:AA", "name": "svc-0"}]
    assert client.error('mutation { connect(serviceId: "../../etc") { id } }') == "Invalid service ID: ../../etc"


def test_the_keyword_wins_over_the_world_setting(make_sandbox):
    assert make_sandbox(world(), validate_ids=False).world.find_device(DEVICE_ID.lower()).id == DEVICE_ID
    with pytest.raises(WorldError, match="not 8 hex octets"):
        Sandbox(world(settings={"validate_ids": False}), validate_ids=True)


@pytest.mark.parametrize("entry, message", [
    (world(service_ids=(SERVICE_ID, "../../ETC"), settings={"validate_ids": False}), "duplicate service id ../../ETC"),
    (world(device_id=7, settings={"validate_ids": False}), "device id 7 is not a string"),
    (world(settings={"validate_ids": "no"}), "setting validate_ids must be true or false"),
])
def test_ids_stay_unique_case_insensitively_and_must_be_strings(entry, message):
    with pytest.raises(WorldError, match=message):
        Sandbox(entry)


def test_added_devices_keep_their_ids_too(make_sandbox):
    sandbox = make_sandbox(world(), validate_ids=False)
    added = sandbox.add_device({"id": "Device Two", "name": "two", "services": [{"id": "ssh two", "name": "ssh", "application": 28}]})
    assert (added["id"], added["services"][0]["id"]) == ("Device Two", "ssh two")
    answer = requests.post(sandbox.inspect_url + "/devices", json={"id": "../three", "name": "three"}, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()["id"]) == (200, "../three")
    taken = requests.post(sandbox.inspect_url + "/devices", json={"id": "DEVICE two", "name": "again"}, timeout=TIMEOUT)
    assert (taken.status_code, taken.json()) == (400, {"error": "duplicate device id DEVICE two"})
    assert sandbox.remove_device("device TWO")["id"] == "Device Two"
    client = Client(sandbox)
    assert [item["id"] for item in client.data(DEVICES)["login"]["devices"]["items"]] == [DEVICE_ID, "../three"]
    assert client.error('mutation { connect(serviceId: "SSH TWO") { id } }') == "Service not found: SSH TWO"
    assert sandbox.add_device({"id": "DEVICE TWO", "name": "back"})["id"] == "DEVICE TWO"  # its id is free again


def test_hostile_names_load_and_are_answered_verbatim(make_sandbox):
    sandbox = make_sandbox(world(device_id="80:00:00:00:0b:00:00:00", service_ids=(), names=NAMES))
    sandbox.add_device({"id": "80:00:00:00:0b:00:01:00", "name": NAMES[0] + "\n" + NAMES[2],
                        "services": [{"id": "80:00:00:00:0b:00:01:01", "name": NAMES[1], "application": 28}]})
    items = Client(sandbox).data(DEVICES)["login"]["devices"]["items"]
    assert sorted(item["name"] for item in items) == sorted(NAMES + [NAMES[0] + "\n" + NAMES[2]])
    assert [item["services"] for item in items if item["id"] == "80:00:00:00:0B:00:01:00"] == [[{"id": "80:00:00:00:0B:00:01:01", "name": NAMES[1]}]]


@pytest.mark.parametrize("flag, served", [("false", True), ("true", False)])
def test_cli_validate_ids(tmp_path, flag, served):
    world_file = tmp_path / "world.json"  # JSON is YAML
    world_file.write_text(json.dumps(world()))
    process = run_cli("--world", str(world_file), "--validate-ids", flag)
    try:
        if not served:
            assert process.wait(timeout=TIMEOUT) == 2
            assert "not 8 hex octets" in process.stderr.read()
            return
        assert select.select([process.stdout], [], [], TIMEOUT)[0], "no ready line"
        client = Client(SimpleNamespace(url=json.loads(process.stdout.readline())["url"], credentials=(DEMO_KEY_ID, DEMO_SECRET)))
        assert client.data("{ login { devices { items { id } } } }")["login"]["devices"]["items"] == [{"id": DEVICE_ID}]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        process.kill()
        process.communicate()
