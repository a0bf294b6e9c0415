# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tags: devices by tag, the account's tags, setTag/addTag/removeTag, and the switches for their unknowns."""

from __future__ import annotations

import pytest
from remoteit_sandbox import WorldError, generate_world, load_world
from .sandbox_helpers import Client

BY_TAG = ("query($tag: ListFilter) { login { tags { name } devices(tag: $tag) { total items { name tags { name created } } } } }")
ADD = "mutation($name: [String!]!, $ids: [String!]!) { addTag(name: $name, serviceId: $ids) }"
REMOVE = "mutation($name: [String!]!, $ids: [String!]!) { removeTag(name: $name, serviceId: $ids) }"
SET = "mutation($tag: [TagInput!]!) { setTag(tag: $tag) }"
KITCHEN, KITCHEN_SSH, GARAGE = "80:00:00:00:01:00:00:01", "80:00:00:00:01:00:01:01", "80:00:00:00:01:00:00:02"
OTHER_BOX = "80:00:00:00:03:00:00:01"


def tagged(client, values=None, operator="ANY"):
    """{device name: its tag names} of the devices the filter selects."""
    tag = None if values is None else {"operator": operator, "values": values}
    items = client.data(BY_TAG, {"tag": tag})["login"]["devices"]["items"]
    return {item["name"]: [tag["name"] for tag in item["tags"]] for item in items}


def account_tags(client):
    return sorted(tag["name"] for tag in client.data(BY_TAG)["login"]["tags"])


def test_devices_carry_their_tags_and_the_filter_selects_any_or_all(client):
    assert tagged(client)["pi-kitchen"] == ["canary", "eu-west"]
    assert sorted(tagged(client, ["canary", "us-east"])) == ["gateway-01", "pi-kitchen"]
    assert sorted(tagged(client, ["canary", "eu-west"], "ALL")) == ["pi-kitchen"]
    assert tagged(client, ["nothing"]) == {}
    assert account_tags(client) == ["Kiosk", "canary", "eu-west", "kiosk", "us-east"]


@pytest.mark.parametrize("case_sensitive, kiosks", [(True, ["kiosk-lobby"]), (False, ["KIOSK-LOBBY", "kiosk-lobby"])])
def test_tag_names_match_per_the_case_switch(make_sandbox, case_sensitive, kiosks):
    client = Client(make_sandbox(tags_case_sensitive=case_sensitive))
    assert sorted(tagged(client, ["kiosk"])) == kiosks
    client.data(ADD, {"name": ["CANARY"], "ids": [GARAGE]})
    assert tagged(client)["pi-garage"] == (["eu-west", "CANARY"] if case_sensitive else ["eu-west", "canary"])


def test_adding_and_removing_a_tag(client):
    assert client.data(ADD, {"name": ["configured", "configured"], "ids": [GARAGE]}) == {"addTag": True}
    assert tagged(client)["pi-garage"] == ["eu-west", "configured"]
    assert "configured" in account_tags(client)
    assert client.data(REMOVE, {"name": ["configured"], "ids": [GARAGE]}) == {"removeTag": True}
    assert tagged(client)["pi-garage"] == ["eu-west"]
    assert "configured" in account_tags(client), "removing a tag from a device leaves the account's definition"


def test_set_tag_defines_a_tag_and_add_tag_of_an_undefined_one_follows_its_switch(make_sandbox):
    client = Client(make_sandbox(add_tag_undefined="error"))
    failed = client.gql(ADD, {"name": ["new"], "ids": [GARAGE]})
    assert failed["errors"][0]["message"] == "Tag not found: new" and tagged(client)["pi-garage"] == ["eu-west"]
    assert client.data(SET, {"tag": [{"name": "new", "color": 3}]}) == {"setTag": True}
    assert client.data(ADD, {"name": ["new"], "ids": [GARAGE]}) == {"addTag": True}
    assert tagged(client)["pi-garage"] == ["eu-west", "new"]


@pytest.mark.parametrize("setting, answer", [("true", {"removeTag": True}), ("false", {"removeTag": False}),
                                             ("error", "Tag absent is not on that service")])
def test_removing_a_tag_the_device_lacks_answers_per_its_switch(make_sandbox, setting, answer):
    client = Client(make_sandbox(remove_tag_absent=setting))
    result = client.gql(REMOVE, {"name": ["eu-west", "absent"], "ids": [GARAGE]})
    if isinstance(answer, dict):
        assert result["data"] == answer and tagged(client)["pi-garage"] == []
    else:
        assert result["errors"][0]["message"] == answer and tagged(client)["pi-garage"] == ["eu-west"]


def test_a_device_id_as_service_id_follows_its_switch_and_a_service_id_tags_its_device(make_sandbox):
    client = Client(make_sandbox(tag_device_id="refused"))
    assert client.gql(ADD, {"name": ["x"], "ids": [KITCHEN]})["errors"][0]["message"] == f"Service not found: {KITCHEN}"
    assert client.data(ADD, {"name": ["x"], "ids": [KITCHEN_SSH]}) == {"addTag": True}
    assert tagged(client)["pi-kitchen"] == ["canary", "eu-west", "x"]


def test_another_accounts_device_cannot_be_tagged(client):
    assert client.gql(ADD, {"name": ["x"], "ids": [OTHER_BOX]})["errors"][0]["message"] == f"Service not found: {OTHER_BOX}"


def test_a_generated_world_has_thirty_canaries_among_its_regions():
    world = load_world(generate_world(5000), env={})
    tags = [device.tags for device in world.devices.values()]
    assert sum("canary" in names for names in tags) == 30
    assert {names[0] for names in tags} == {"eu-west", "us-east"}


@pytest.mark.parametrize("tags", ["canary", [""], ["a", "a"], [1]])
def test_a_world_with_bad_tags_fails_to_load(tags):
    world = generate_world(1)
    world["users"][0]["devices"][0]["tags"] = tags
    with pytest.raises(WorldError, match="tags must"):
        load_world(world, env={})


def test_the_request_log_counts_the_devices_each_device_list_answered(sandbox, client):
    sandbox.clear_requests()
    tagged(client, ["canary"])
    tagged(client)
    client.data("{ login { email } }")
    assert [entry.get("devices") for entry in sandbox.requests()] == [1, 5, None]
