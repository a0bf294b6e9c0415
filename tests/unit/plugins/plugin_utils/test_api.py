# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client's methods as plugins call them, and the rules for ids."""

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    checked_service_id,
    id_key,
    is_service_id,
    normalize_api_url,
    same_id,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AuthError,
    EndpointError,
    InvalidInputError,
    NotFoundError,
    RemoteitError,
    ResponseError,
)

from .http_fakes import data, device, http_response, make_client, read_timeout


def test_an_api_that_pages_beyond_its_total_is_not_followed():
    endless = data(login={"devices": {"total": 1, "hasMore": True, "items": [device(1)]}})
    client = make_client(endless, endless)
    assert [item["name"] for item in client.iter_devices()] == ["dev-1"]
    assert len(client._pool.posts) == 1


def test_a_null_login_means_the_credentials_are_not_valid():
    client = make_client(data(login=None))
    with pytest.raises(AuthError) as error:
        client.sessions()
    assert error.value.kind == "auth"


def test_devices_are_paged_until_has_more_is_false():
    first = data(login={"devices": {"total": 3, "hasMore": True, "items": [device(1), device(2)]}})
    second = data(login={"devices": {"total": 3, "hasMore": False, "items": [device(3)]}})
    client = make_client(first, second)
    devices = list(client.iter_devices(name="dev"))
    assert [item["name"] for item in devices] == ["dev-1", "dev-2", "dev-3"]
    assert [post["body"]["variables"]["from"] for post in client._pool.posts] == [0, 2]
    assert client._pool.posts[0]["body"]["variables"]["size"] == 1000
    assert devices[0]["services"][0] == {"id": "80:00:00:00:00:00:01:01", "name": "ssh", "application": 28,
                                         "application_name": "SSH", "port": 22, "host": "localhost",
                                         "state": "active", "enabled": True}


def test_account_id_scopes_queries_to_the_organisation():
    client = make_client(data(login={"account": {"sessions": []}}), account_id="org-1")
    assert client.sessions() == []
    assert "account(id: $accountId)" in client._pool.posts[0]["body"]["query"]
    assert client._pool.posts[0]["body"]["variables"]["accountId"] == "org-1"


def test_an_account_the_key_cannot_use_is_named():
    client = make_client(data(login={"account": None}), account_id="org-x")
    with pytest.raises(NotFoundError, match="org-x"):
        client.sessions()


def test_disconnect_does_not_take_http_404_for_a_connection_already_gone():
    client = make_client(http_response(404, text="Not Found"))
    with pytest.raises(EndpointError) as error:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert error.value.kind == "endpoint"


@pytest.mark.parametrize("url, normalized", [
    ("https://api.remote.it/graphql/v1/", "https://api.remote.it/graphql/v1"),
    ("http://127.0.0.1:8123/graphql/v1", "http://127.0.0.1:8123/graphql/v1"),
    ("HTTPS://api.remote.it/graphql/v1", "HTTPS://api.remote.it/graphql/v1"),
])
def test_api_url_loses_only_a_trailing_slash(url, normalized):
    assert normalize_api_url(url) == normalized


@pytest.mark.parametrize("url", ["api.remote.it/graphql/v1", "localhost:8123/graphql/v1", "ftp://api.remote.it/x",
                                 "https://", "", None, "http://127.0.0.1:99999/graphql/v1", "http://sandbox:port/x",
                                 # what no record of it could hold: a user name, port 0, a host that is no host name
                                 "https://user:pw@api.remote.it/graphql/v1", "http://127.0.0.1:0/graphql/v1",
                                 "https://api.exämple.com/graphql/v1"])
def test_an_api_url_that_is_not_http_is_invalid_input(url):
    with pytest.raises(InvalidInputError) as error:
        normalize_api_url(url)
    assert error.value.kind == "invalid_input"
    assert str(error.value) == ("api_url %r is not an http:// or https:// URL: give the full URL of the API, such as "
                                "https://api.remote.it/graphql/v1" % (url,))


@pytest.mark.parametrize("value, expected", [
    ("80:00:00:00:01:02:03:04", True),
    ("80:00:00:00:01:0a:0b:0c", True),
    ("80:00:00:00:01:0A:0b:0C", True),
    ("80:00:00:00:01:02:03", False),
    ("80:00:00:00:01:02:03:04\n", False),
    ("80-00-00-00-01-02-03-04", False),
    ("80:00:00:00:01:02:03:0g", False),
    ("", False),
    (None, False),
])
def test_a_service_id_is_8_hex_octets_in_either_case(value, expected):
    assert is_service_id(value) is expected


@pytest.mark.parametrize("value", ["80:00:00:00:01:0a:0b:0c", "80:00:00:00:01:0A:0B:0C", "80:00:00:00:01:0A:0b:0C"])
def test_a_checked_service_id_is_returned_as_typed(value):
    assert checked_service_id(value) == value


@pytest.mark.parametrize("value", ["pi-kitchen", "80:00:00:00:01:02:03", "", None])
def test_a_service_id_that_is_not_one_is_invalid_input(value):
    with pytest.raises(InvalidInputError, match="is not a remote.it service id") as error:
        checked_service_id(value)
    assert error.value.kind == "invalid_input"


@pytest.mark.parametrize("first, second, same", [
    ("80:00:00:00:01:0a:0b:0c", "80:00:00:00:01:0A:0B:0C", True),
    ("80:00:00:00:01:0a:0b:0c", "80:00:00:00:01:0a:0b:0c", True),
    ("80:00:00:00:01:0a:0b:0c", "80:00:00:00:01:0a:0b:0d", False),
    ("conn-AbC", "conn-abc", True),
    (None, None, False),
    (None, "80:00:00:00:01:0a:0b:0c", False),
    ("80:00:00:00:01:0a:0b:0c", None, False),
])
def test_ids_compare_without_regard_to_case(first, second, same):
    for pair in ((first, second), (second, first)):
        assert same_id(*pair) is same


def test_an_id_key_is_the_same_for_every_spelling_of_an_id():
    assert id_key("80:00:00:00:01:0A:0b:0C") == id_key("80:00:00:00:01:0a:0B:0c") == "80:00:00:00:01:0a:0b:0c"
    assert len({id_key("80:00:00:00:01:0A:0B:0C"), id_key("80:00:00:00:01:0a:0b:0c")}) == 1
    assert id_key(None) is None


def test_ids_the_api_gave_are_kept_and_ids_a_user_typed_are_sent_as_typed():
    lower = dict(device(1), id="80:00:00:00:00:00:00:0a",
                 services=[dict(device(1)["services"][0], id="80:00:00:00:00:00:01:0a")])
    sessions = [{"id": "s1", "target": {"id": "80:00:00:00:00:00:01:0a"}}]
    client = make_client(data(login={"device": [lower]}), data(login={"sessions": sessions}),
                         data(connect={"id": "c1", "host": "proxy.example", "port": 30000}), data(disconnect=True))
    [listed] = client.devices_by_id(["80:00:00:00:00:00:00:0A"])
    assert (listed["id"], listed["services"][0]["id"]) == ("80:00:00:00:00:00:00:0a", "80:00:00:00:00:00:01:0a")
    assert client.sessions()[0]["service_id"] == "80:00:00:00:00:00:01:0a"
    client.connect(listed["services"][0]["id"], "255.255.255.255")
    client.disconnect("c1", "80:00:00:00:00:00:01:0A")
    sent = [post["body"]["variables"] for post in client._pool.posts]
    assert sent[0]["ids"] == ["80:00:00:00:00:00:00:0A"]
    assert sent[2]["serviceId"] == "80:00:00:00:00:00:01:0a"
    assert sent[3] == {"connectionId": "c1", "serviceId": "80:00:00:00:00:00:01:0A"}


@pytest.mark.parametrize("answer, closed", [(True, True), (False, False)])
def test_disconnect_returns_what_remote_it_answered(answer, closed):
    client = make_client(data(disconnect=answer))
    assert client.disconnect("c1", "80:00:00:00:01:00:00:02") is closed
    assert len(client._pool.posts) == 1


def test_a_disconnect_whose_lost_answer_is_retried_and_answered_false_counts_as_closed():
    """The lost request closed it, so the retry found nothing to close: reporting "already gone" would be untrue."""
    client = make_client(read_timeout(), data(disconnect=False))
    assert client.disconnect("c1", "80:00:00:00:01:00:00:02") is True
    assert len(client._pool.posts) == 2


@pytest.mark.parametrize("error, error_class", [
    ({"message": "Connection not found", "path": ["disconnect"]}, NotFoundError),
    ({"message": "no such thing", "path": ["disconnect"], "extensions": {"code": "NOT_FOUND"}}, NotFoundError),
    ({"message": "not yours", "path": ["disconnect"], "extensions": {"code": "FORBIDDEN"}}, AuthError),
    ({"message": "something broke", "path": ["disconnect"]}, RemoteitError),
])
def test_disconnect_raises_every_graphql_error_as_its_class_naming_the_field(error, error_class):
    """Whether a connection is already gone is told by the sessions remote.it lists, not by an error's wording."""
    client = make_client(http_response(body={"errors": [error]}))
    with pytest.raises(RemoteitError) as raised:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert (type(raised.value), raised.value.field) == (error_class, "disconnect")


def test_a_disconnect_whose_retry_meets_an_error_raises_it():
    client = make_client(read_timeout(), http_response(body={"errors": [{"message": "Connection not found",
                                                                         "path": ["disconnect"]}]}))
    with pytest.raises(NotFoundError):
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert len(client._pool.posts) == 2


@pytest.mark.parametrize("answer", [None, "true", 1])
def test_a_disconnect_answer_that_is_not_true_or_false_is_malformed(answer):
    with pytest.raises(ResponseError, match="disconnect answered") as raised:
        make_client(data(disconnect=answer)).disconnect("c1")
    assert raised.value.field == "disconnect"
