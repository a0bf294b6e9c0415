# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Queries over the world: paging, filters, selection by id, organisations, and world loading."""

from __future__ import annotations

import pytest
from remoteit_sandbox import WorldError, generate_world, load_world
from .sandbox_helpers import Client

DEVICES = "query($from: Int, $size: Int, $name: String, $state: String, $application: [Int!], $after: ID) { login { devices(" \
    "from: $from, size: $size, name: $name, state: $state, application: $application, after: $after) { total hasMore last items { id name } } } }"
SSH_KITCHEN = "80:00:00:00:01:00:01:01"
ORG_ID = "5e1f0a2b-0000-4000-8000-0000000000f1"


def devices(client, **variables):
    return client.data(DEVICES, variables)["login"]["devices"]


def names(page):
    return [item["name"] for item in page["items"]]


def test_paging_through_the_demo_world_two_at_a_time(client):
    pages = [devices(client, size=2, **{"from": start}) for start in (0, 2, 4)]
    assert [names(page) for page in pages] == [["gateway-01", "kiosk-lobby"], ["KIOSK-LOBBY", "pi-garage"], ["pi-kitchen"]]
    assert [page["hasMore"] for page in pages] == [True, True, False]
    assert {page["total"] for page in pages} == {5}
    assert pages[0]["last"] == pages[0]["items"][-1]["id"]


def test_after_cursor_continues_where_the_last_page_ended(client):
    first = devices(client, size=3)
    rest = devices(client, after=first["last"])
    assert names(first) + names(rest) == names(devices(client))


def test_name_filter_is_a_case_insensitive_substring(client):
    assert names(devices(client, name="KIOSK")) == ["kiosk-lobby", "KIOSK-LOBBY"]
    assert names(devices(client, name="pi-")) == ["pi-garage", "pi-kitchen"]
    assert devices(client, name="nothing-like-this")["items"] == []


def test_state_and_application_filters(client):
    assert names(devices(client, state="inactive")) == ["gateway-01"]
    assert names(devices(client, application=[7])) == ["pi-kitchen"]


def test_page_size_is_capped_at_1000(make_sandbox):
    client = Client(make_sandbox(generate_world(1200)))
    page = devices(client, size=5000)
    assert (len(page["items"]), page["hasMore"], page["total"]) == (1000, True, 1200)
    assert len(devices(client, size=5000, **{"from": 1000})["items"]) == 200


def test_device_services_and_their_fields(client):
    device = client.data(
        '{ login { device(id: ["80:00:00:00:01:00:00:01"]) { name state online hardwareId'
        ' services { id name application type title port host state online enabled device { name } } web: services(name: "WE") { name } } } }'
    )["login"]["device"][0]
    assert (device["name"], device["state"], device["online"], device["hardwareId"]) == ("pi-kitchen", "active", True, "b8:27:eb:00:00:01")
    assert device["services"][0] == {
        "id": SSH_KITCHEN, "name": "ssh", "application": 28, "type": "28", "title": "SSH", "port": 22,
        "host": "127.0.0.1", "state": "active", "online": True, "enabled": True, "device": {"name": "pi-kitchen"},
    }
    assert device["web"] == [{"name": "web"}]


def test_service_selection_by_id_is_scoped_to_the_account(client):
    found = client.data('{ login { service(id: ["80:00:00:00:01:00:02:01", "80:00:00:00:03:00:01:01"]) { name device { name } } } }')
    assert found["login"]["service"] == [{"name": "ssh", "device": {"name": "pi-garage"}}]


def test_organisation_devices_through_account(client):
    org = client.data('query($id: String) { login { account(id: $id) { id email devices { items { name } } } } }', {"id": ORG_ID})
    assert org["login"]["account"] == {"id": ORG_ID, "email": "fleet@example.com", "devices": {"items": [{"name": "acme-plc-01"}]}}


def test_non_members_cannot_select_an_organisation(sandbox):
    other = Client(sandbox, ("SBXOTHERACCESSKEY002", sandbox.world.keys["SBXOTHERACCESSKEY002"].secret))
    assert other.error('query($id: String) { login { account(id: $id) { id } } }', {"id": ORG_ID}) == "Account not found or not accessible"
    assert other.error('mutation { connect(serviceId: "80:00:00:00:01:00:01:01") { id } }') == "Service not found: 80:00:00:00:01:00:01:01"


def test_application_types_are_the_production_ones(client):
    types = {item["id"]: item for item in client.data("{ applicationTypes { id name port proxy scheme protocol } }")["applicationTypes"]}
    assert {type_id: types[type_id]["name"] for type_id in (1, 4, 5, 7, 8, 28)} == {1: "TCP", 4: "VNC", 5: "RDP", 7: "HTTP", 8: "HTTPS", 28: "SSH"}
    assert [type_id for type_id, item in types.items() if item["proxy"]] == [7, 8]


def test_invalid_queries_are_graphql_errors_with_http_200(client):
    message = client.error("{ login { devices { items { secret } } } }")
    assert "Cannot query field 'secret'" in message


def test_targets_take_placeholders_from_the_environment():
    world = load_world(env={"DEVICE_SSH_PORT": "2222"})
    assert world.services[SSH_KITCHEN].target == ("127.0.0.1", 2222)
    assert world.services["80:00:00:00:01:00:01:02"].target == ("127.0.0.1", 80)  # ${DEVICE_HTTP_PORT:-80}


@pytest.mark.parametrize("mutate, message", [
    (lambda world: world["users"][0]["devices"][0].update(id="80:00:00"), "not 8 hex octets"),
    (lambda world: world["users"][0]["devices"][0]["services"][0].update(target="127.0.0.1:${NOT_SET_ANYWHERE}"), "NOT_SET_ANYWHERE"),
    (lambda world: world["users"][0]["devices"][0]["services"][0].update(application=99), "application must be one of"),
    (lambda world: world["access_keys"][0].update(user="nobody"), "must be the id of a listed user"),
    (lambda world: world.update(settings={"disconnect_unknown": "maybe"}), "disconnect_unknown"),
])
def test_bad_worlds_fail_at_load(make_sandbox, mutate, message):
    world = generate_world(1)
    mutate(world)
    with pytest.raises(WorldError, match=message):
        make_sandbox(world)


def test_generated_world_shape():
    world = load_world(generate_world(20), env={})
    assert len(world.devices) == 20
    assert len({device.name for device in world.devices.values()}) == 20
    assert sum(device.state == "inactive" for device in world.devices.values()) == 2
    assert sum(len(device.services) for device in world.devices.values()) == 24
