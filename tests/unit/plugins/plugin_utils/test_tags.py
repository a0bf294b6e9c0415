# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Selecting devices by tag: the filter sent to remote.it, and the check of what it answered."""

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils import _graphql
from ansible_collections.community.remoteit.plugins.plugin_utils._devices import device_matches
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import api_filter, checked_tags, has_tags

from .fakes import FakeClient, device


def account(*tags):
    return FakeClient(account_tags=tags)


@pytest.mark.parametrize("tags, match, known, expected", [
    ([], "any", [], None),
    (["canary"], "any", ["canary"], {"operator": "ANY", "values": ["canary"]}),
    (["CANARY"], "any", ["canary"], {"operator": "ANY", "values": ["canary"]}),
    (["canary", "eu-west"], "all", ["Canary", "EU-west"], {"operator": "ALL", "values": ["Canary", "EU-west"]}),
    (["never-defined"], "all", ["canary"], {"operator": "ALL", "values": ["never-defined"]}),
    (["kiosk", "lobby"], "all", ["kiosk", "Kiosk", "lobby"], {"operator": "ANY", "values": ["kiosk", "Kiosk", "lobby"]}),
    (["a", "A", "b"], "any", [], {"operator": "ANY", "values": ["a", "b"]}),
])
def test_the_filter_asks_for_each_tag_as_the_account_spells_it(tags, match, known, expected):
    client = account(*known)
    assert api_filter(client, tags, match) == expected
    assert client.count("tags") == (1 if tags else 0)


@pytest.mark.parametrize("held, tags, match, expected", [
    (["Canary"], ["canary"], "any", True),
    (["canary"], ["canary", "eu-west"], "any", True),
    (["canary"], ["canary", "eu-west"], "all", False),
    (["canary", "EU-WEST"], ["canary", "eu-west"], "all", True),
    ([], ["canary"], "any", False),
    ([], None, "all", True),
])
def test_a_device_has_tags_without_regard_to_case(held, tags, match, expected):
    assert has_tags({"tags": held}, tags, match) is expected
    assert device_matches(device("d", "80:00:00:00:00:00:00:01", tags=held), tags=tags, tags_match=match) is expected


@pytest.mark.parametrize("switch", [True, False])
def test_devices_of_either_case_are_found_whether_the_api_compares_case_or_not(switch):
    client = FakeClient([device("a", "80:00:00:00:00:00:00:01", tags=["Kiosk"]),
                         device("b", "80:00:00:00:00:00:00:02", tags=["kiosk"]),
                         device("c", "80:00:00:00:00:00:00:03", tags=["lobby"])])
    client.tags_case_sensitive = switch
    listed = client.iter_devices(tag=api_filter(client, ["KIOSK"]))
    assert [item["name"] for item in listed if device_matches(item, tags=["KIOSK"])] == ["a", "b"]


@pytest.mark.parametrize("tags", [[None], [True], [3.5], [""], [" \t"]])
def test_a_tag_that_is_no_name_is_refused(tags):
    with pytest.raises(InvalidInputError, match="tags: .* is not a tag name"):
        checked_tags(tags)


def test_a_whole_number_is_the_tag_of_its_digits_as_yaml_may_read_one():
    assert checked_tags([2024, "2024", "line-3"]) == ["2024", "line-3"]


def test_the_tags_remote_it_lists_are_kept_as_given_and_unusable_ones_left_out_with_a_warning():
    left_out = []
    item = {"id": "80:00:00:00:00:00:00:01", "name": "d", "services": [],
            "tags": [{"name": "{{ lookup('pipe', 'id') }}"}, {"name": ""}, {"name": 7}, "bare", {"name": "dup"},
                     {"name": "dup"}]}
    parsed = _graphql.device(item, lambda what, problem: left_out.append((what, problem)))
    assert parsed["tags"] == ["{{ lookup('pipe', 'id') }}", "dup"]
    assert left_out == [("a tag of device 'd'", "3 of its tags have no name that is a non-empty string, such as ''")]
    assert _graphql.device(dict(item, tags=None), lambda *_: None)["tags"] == []
    assert _graphql.device(dict(item, tags="x"), lambda what, problem: left_out.append(problem))["tags"] == []
    assert left_out[-1] == "the tags are not a list"


def test_thousands_of_tags_are_read_in_linear_time_with_one_warning():
    left_out = []
    listed = [{"name": "tag-%d" % (index % 20000)} for index in range(40000)] + [{"name": None}] * 5000
    assert len(_graphql.tag_names(listed, left_out.append)) == 20000
    assert len(left_out) == 1
