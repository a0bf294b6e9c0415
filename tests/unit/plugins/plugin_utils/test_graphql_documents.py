# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every GraphQL document the client sends is valid against remote.it's production schema."""

from __future__ import annotations

import inspect
import os

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitClient

from .http_fakes import http_response, make_client

graphql = pytest.importorskip("graphql")

REPO_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))
PRODUCTION_SCHEMA = os.path.join(REPO_ROOT, "tests", "unit", "data", "production-schema.graphql")

# Each API method of the client, called the way the collection calls it.
CALLS = {
    "iter_devices": lambda client: list(client.iter_devices(name="pi", state="active", application=28,
                                                            tag={"operator": "ALL", "values": ["canary"]})),
    "account_tags": lambda client: client.account_tags(),
    "define_tags": lambda client: client.define_tags(["canary"]),
    "add_tags": lambda client: client.add_tags(["canary"], ["80:00:00:00:01:00:00:01"]),
    "remove_tags": lambda client: client.remove_tags(["canary"], ["80:00:00:00:01:00:00:01"]),
    "devices_by_id": lambda client: client.devices_by_id(["80:00:00:00:01:00:00:00"]),
    "sessions": lambda client: client.sessions(),
    "application_types": lambda client: client.application_types(),
    "connect": lambda client: client.connect("80:00:00:00:01:00:00:01", "255.255.255.255"),
    "disconnect": lambda client: client.disconnect("c1", "80:00:00:00:01:00:00:01"),
}


@pytest.fixture(scope="module")
def production_schema():
    with open(PRODUCTION_SCHEMA, encoding="utf-8") as handle:
        return graphql.build_schema(handle.read())


def test_every_api_method_is_covered():
    methods = {name for name, _function in inspect.getmembers(RemoteitClient, inspect.isfunction)
               if not name.startswith("_") and name not in ("graphql", "pause")}
    assert methods == set(CALLS)


@pytest.mark.parametrize("account_id", [None, "org-1"])
@pytest.mark.parametrize("method", sorted(CALLS))
def test_documents_validate_against_the_production_schema(production_schema, method, account_id):
    client = make_client(http_response(body={"errors": [{"message": "stop here"}]}), account_id=account_id)
    with pytest.raises(Exception):
        CALLS[method](client)
    post = client._pool.posts[0]["body"]
    document = graphql.parse(post["query"])
    errors = graphql.validate(production_schema, document)
    assert errors == [], "%s: %s" % (method, [error.message for error in errors])
    operation = document.definitions[0]
    declared = {definition.variable.name.value for definition in operation.variable_definitions or ()}
    assert set(post["variables"]) <= declared
