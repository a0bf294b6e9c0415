# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.remoteit_device_tags: idempotence, check mode, diff, and every answer of the API's unknowns."""

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import AuthError, NetworkError

from ..plugin_utils.fakes import FakeClient, device

KITCHEN = "80:00:00:00:01:00:00:00"
MUTATIONS = ("setTag", "addTag", "removeTag")


def fleet(**switches):
    client = FakeClient([
        device("pi-kitchen", KITCHEN, tags=["canary", "eu-west"]),
        device("pi-garage", "80:00:00:00:02:00:00:00", tags=["Eu-West"]),
        device("kiosk", "80:00:00:00:03:00:00:00"),
        device("KIOSK", "80:00:00:00:04:00:00:00"),
    ])
    for name, value in switches.items():
        setattr(client, name, value)
    return client


def mutations(client):
    return [call for call in client.calls if call[0] in MUTATIONS]


# Each unknown of the API, answered each way (the sandbox's switches of the same names).
UNKNOWNS = [
    pytest.param({}, id="friendly"),
    pytest.param({"tags_case_sensitive": False}, id="case-insensitive"),
    pytest.param({"add_tag_undefined": "error"}, id="add-undefined-fails"),
    pytest.param({"remove_tag_absent": "false"}, id="remove-absent-false"),
    pytest.param({"remove_tag_absent": "error"}, id="remove-absent-error"),
    pytest.param({"tag_device_id": "refused"}, id="device-id-refused"),
]


@pytest.mark.parametrize("switches", UNKNOWNS)
def test_adding_a_tag_changes_once_and_then_is_ok_without_a_mutation(run_action, switches):
    client = fleet(**switches)
    first = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert (first["changed"], first["tags"], first["added"], first["removed"]) == (
        True, ["canary", "eu-west", "configured"], ["configured"], [])
    assert first["diff"] == {"before": {"tags": ["canary", "eu-west"]}, "after": {"tags": ["canary", "eu-west", "configured"]}}
    assert first["device"] == {"id": KITCHEN, "name": "pi-kitchen"}
    assert [call[0] for call in mutations(client)][0] == "setTag", "a tag the account lacks is defined first"
    client.calls.clear()
    again = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert (again["changed"], again["added"], "diff" in again) == (False, [], False)
    assert mutations(client) == [] and [call[0] for call in client.calls] == ["devices"], "one query, no mutation"


@pytest.mark.parametrize("switches", UNKNOWNS)
def test_removing_and_exclusive_converge_under_every_answer(run_action, switches):
    client = fleet(**switches)
    removed = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["CANARY", "absent"], state="absent")
    assert (removed["changed"], removed["tags"], removed["removed"]) == (True, ["eu-west"], ["canary"])
    exclusive = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["line-3"], exclusive=True)
    assert (exclusive["tags"], exclusive["added"], exclusive["removed"]) == (["line-3"], ["line-3"], ["eu-west"])
    client.calls.clear()
    for args in ({"tags": ["line-3"], "exclusive": True}, {"tags": ["eu-west"], "state": "absent"}):
        assert run_action("remoteit_device_tags", client, device="pi-kitchen", **args)["changed"] is False
    assert mutations(client) == []


def test_a_tag_held_in_another_case_is_the_same_tag_and_the_accounts_spelling_is_sent(run_action):
    client = fleet()
    result = run_action("remoteit_device_tags", client, device="pi-garage", tags=["eu-west", "CANARY"])
    assert result["added"] == ["canary"] and result["tags"] == ["Eu-West", "canary"]
    assert mutations(client) == [("addTag", ["canary"], ["80:00:00:00:02:00:00:00"])], "canary exists: no setTag"


def test_check_mode_reports_the_change_and_sends_no_mutation(run_action):
    client = fleet()
    result = run_action("remoteit_device_tags", client, check_mode=True, device="pi-kitchen", tags=["configured"],
                        exclusive=True)
    assert (result["changed"], result["tags"], result["added"], result["removed"]) == (
        True, ["configured"], ["configured"], ["canary", "eu-west"])
    assert result["diff"]["after"] == {"tags": ["configured"]}
    assert mutations(client) == [] and client.devices[0]["tags"] == ["canary", "eu-west"]


def test_a_device_id_selects_the_device(run_action):
    client = fleet()
    result = run_action("remoteit_device_tags", client, device=KITCHEN.lower(), tags=["canary"])
    assert result["changed"] is False and result["device"]["name"] == "pi-kitchen"


@pytest.mark.parametrize("name, kind, message", [
    ("pi-attic", "not_found", "no device named 'pi-attic'"),
    ("Kiosk", "ambiguous", "device name 'Kiosk' is ambiguous: 2 devices match"),
])
def test_unknown_or_ambiguous_devices_fail_as_remoteit_connection_says(run_action, name, kind, message):
    tags = run_action("remoteit_device_tags", fleet(), device=name, tags=["x"])
    connection = run_action("remoteit_connection", fleet(), device=name)
    assert tags["failed"] is True and tags["error"]["kind"] == kind and tags["msg"].startswith(message)
    assert tags["msg"] == connection["msg"]


@pytest.mark.parametrize("tags", [[""], ["  "], []])
def test_tags_that_name_no_tag_are_refused_before_any_request(run_action, tags):
    client = fleet()
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=tags)
    if tags:
        assert result["failed"] is True and result["error"]["kind"] == "invalid_input" and "not a tag name" in result["msg"]
        assert client.calls == []
    else:
        assert result["changed"] is False and mutations(client) == []


class Ignoring(FakeClient):
    """An API that answers true to every tag mutation and changes nothing."""

    def add_tags(self, names, ids):
        self.calls.append(("addTag", names, ids))
        return True


def test_an_api_that_answers_true_but_tags_nothing_fails_the_task_saying_so(run_action):
    client = Ignoring([device("pi-kitchen", KITCHEN, services=(("ssh", "01"), ("web", "02")))])
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert result["failed"] is True and result["error"]["kind"] == "response"
    assert result["msg"].startswith("remote.it did not change the tags of device 'pi-kitchen' [%s] as asked "
                                    "(not added: configured), asked with the ids %s, 80:00:00:00:01:00:00:01, "
                                    "80:00:00:00:01:00:00:02; the account now defines configured; it answered: "
                                    "nothing but success" % (KITCHEN, KITCHEN))
    assert [call[2] for call in mutations(client) if call[0] == "addTag"] == [
        [KITCHEN], ["80:00:00:00:01:00:00:01", "80:00:00:00:01:00:00:02"]], "its own id, then its services' ids"


def test_a_refused_device_id_is_tried_again_with_its_services_ids(run_action):
    client = fleet(tag_device_id="refused")
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert result["changed"] is True and not result.get("failed")
    assert [call[2] for call in mutations(client) if call[0] == "addTag"] == [[KITCHEN], ["80:00:00:00:01:00:00:01"]]


class Unreachable(FakeClient):
    def add_tags(self, names, ids):
        raise NetworkError("cannot reach remote.it")


def test_a_network_failure_fails_the_task_without_trying_other_ids(run_action):
    client = Unreachable([device("pi-kitchen", KITCHEN)])
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert result["failed"] is True and result["error"]["kind"] == "network"
    assert client.count("device") == 0, "no read-back after a request that never got an answer"


def test_hostile_tag_names_are_bounded_in_messages(run_action):
    hostile = "{{ lookup('pipe', 'id') }}" + "\x1b[2J" + "x" * 5000
    client = Ignoring([device("pi-kitchen", KITCHEN)])
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=[hostile])
    assert result["failed"] is True and len(result["msg"]) < 1000 and "\x1b" not in result["msg"]


class Forbidding(FakeClient):
    """An API that refuses a device's id as serviceId with a GraphQL error worded as a permission problem."""

    def add_tags(self, names, ids):
        if ids == [KITCHEN]:
            self.calls.append(("addTag", names, ids))
            raise AuthError("remote.it API error: forbidden: not a service", status=200)
        return super().add_tags(names, ids)


def test_a_forbidden_answer_to_the_device_id_is_a_refusal_and_its_service_ids_are_tried(run_action):
    client = Forbidding([device("pi-kitchen", KITCHEN)])
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert result["changed"] is True and result["tags"] == ["configured"]
    assert [call[2] for call in mutations(client) if call[0] == "addTag"] == [[KITCHEN], ["80:00:00:00:01:00:00:01"]]


def test_a_rejected_key_on_the_mutation_itself_ends_the_task(run_action):
    class Rejected(FakeClient):
        def add_tags(self, names, ids):
            raise AuthError("remote.it rejected the request signature", status=403)

    result = run_action("remoteit_device_tags", Rejected([device("pi-kitchen", KITCHEN)]), device="pi-kitchen",
                        tags=["configured"])
    assert result["failed"] is True and result["error"]["kind"] == "auth"


class Lagging(FakeClient):
    """An API whose device listing shows a tag change only from the second read after it."""

    def __init__(self, devices):
        super().__init__(devices)
        self.stale_reads = 0

    def add_tags(self, names, ids):
        self.stale_reads = 1
        return super().add_tags(names, ids)

    def devices_by_id(self, ids):
        if self.stale_reads:
            self.stale_reads -= 1
            self.calls.append(("device", ids))
            return [dict(item, tags=[]) for item in self.devices if item["id"] in ids]
        return super().devices_by_id(ids)


def test_a_listing_that_lags_behind_the_change_is_read_again_before_anything_else_is_sent(run_action):
    client = Lagging([device("pi-kitchen", KITCHEN)])
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert result["changed"] is True and result["tags"] == ["configured"]
    assert len([call for call in mutations(client) if call[0] == "addTag"]) == 1 and client.count("pause") == 1


def test_check_mode_spells_a_tag_as_the_account_does_as_the_real_run_would(run_action):
    client = FakeClient([device("pi-kitchen", KITCHEN, tags=["eu-west"])], account_tags=["Configured"])
    checked = run_action("remoteit_device_tags", client, check_mode=True, device="pi-kitchen", tags=["configured"])
    done = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["configured"])
    assert checked["tags"] == done["tags"] == ["eu-west", "Configured"] and checked["added"] == done["added"]
    assert [call[0] for call in mutations(client)] == ["addTag"]


def test_exclusive_with_state_absent_is_refused(run_action):
    client = fleet()
    result = run_action("remoteit_device_tags", client, device="pi-kitchen", tags=["canary"], state="absent",
                        exclusive=True)
    assert result["failed"] is True and "exclusive applies to state=present only" in result["msg"]
    assert client.calls == []
