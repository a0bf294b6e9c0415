# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.plugins.loader import inventory_loader, lookup_loader

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    CONNECTION_OPTIONS,
    build_client,
    module_sources,
    plugin_sources,
)


def defaults(**options):
    values = {name: default for name, (_kind, default, _env) in CONNECTION_OPTIONS.items()}
    values.update(options)
    return values


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_a_module_looks_in_its_task_options_then_the_environment():
    sources = module_sources({"access_key_id": "AK"})
    assert sources.places == [("the task options", ["access_key_id", "secret_access_key"]),
                              ("the environment", ["R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY"])]
    assert sources.origins == {"access_key_id": ("the task options", "access_key_id"),
                               "secret_access_key": ("the environment", "R3_SECRET_ACCESS_KEY")}


def test_the_lookup_looks_where_its_option_definitions_read(monkeypatch):
    monkeypatch.setenv("R3_ACCESS_KEY_ID", "AKENV")
    lookup = lookup_loader.get("community.remoteit.remoteit_connection")
    variables = {"remoteit_secret_access_key": "YWJj"}
    lookup.set_options(var_options=variables, direct={})
    sources = plugin_sources(lookup, "the lookup's keywords", variables, {})
    assert sources.places == [
        ("the lookup's keywords", ["access_key_id", "secret_access_key"]),
        ("the variables", ["remoteit_access_key_id", "remoteit_secret_access_key"]),
        ("the environment", ["R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY"]),
        ("the [remoteit] section of ansible.cfg", ["access_key_id", "secret_access_key"]),
    ]
    assert sources.origins == {"access_key_id": ("the environment", "R3_ACCESS_KEY_ID"),
                               "secret_access_key": ("the variables", "remoteit_secret_access_key")}
    keywords = {"access_key_id": "AKDIRECT"}
    assert plugin_sources(lookup, "the lookup's keywords", variables, keywords).origins["access_key_id"] == (
        "the lookup's keywords", "access_key_id")


def test_the_inventory_plugin_reads_no_variables():
    inventory = inventory_loader.get("community.remoteit.remoteit")
    sources = plugin_sources(inventory, "the inventory file x.remoteit.yml", None, {"plugin": "community.remoteit.remoteit"})
    assert [label for label, _names in sources.places] == [
        "the inventory file x.remoteit.yml", "the environment", "the [remoteit] section of ansible.cfg"]


@pytest.mark.parametrize("api_url", ["api.remote.it/graphql/v1", "ftp://api.remote.it/graphql/v1"])
def test_an_api_url_without_http_fails_before_credentials_are_looked_for(tmp_path, api_url):
    options = defaults(api_url=api_url, credentials_file=str(tmp_path / "nope"))
    with pytest.raises(RemoteitError) as error:
        build_client(options, module_sources({}), pytest.fail)
    assert error.value.kind == "invalid_input"
    assert str(error.value).startswith("api_url %r is not an http:// or https:// URL" % api_url)


def test_the_client_gets_the_api_url_without_a_trailing_slash():
    options = defaults(api_url="http://127.0.0.1:8123/graphql/v1/", access_key_id="AK", secret_access_key="YWJj")
    client = build_client(options, module_sources(options), pytest.fail)
    assert client.api_url == "http://127.0.0.1:8123/graphql/v1"
    assert client.key_origin == ("the access key id and secret came from the task options "
                                 "(access_key_id, secret_access_key)")
