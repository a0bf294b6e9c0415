# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one remote.it API client, and the rules for the ids it hands out.

Every module, lookup and inventory plugin of this collection talks to remote.it through RemoteitClient. Ids are
remote.it's and opaque: one the API gave is sent back exactly as given, one a user typed is sent as typed, and two
ids compare without regard to case (see same_id and id_key).
"""

from __future__ import annotations

import time

from ansible_collections.community.remoteit.plugins.plugin_utils import _graphql, _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    ResponseError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._transport import DEFAULT_API_URL, Transport
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

PAGE_SIZE = 1000  # the API's maximum page size


def is_service_id(value):
    """Whether value is written as a remote.it device or service id: 8 hex octets with colons, in either case."""
    return bool(_untrusted.SERVICE_ID_RE.match(value or ""))


def checked_service_id(value):
    """value itself, once it is written as a service id: the API may not accept it in another case."""
    if not is_service_id(value):
        raise InvalidInputError(
            "service_id %s is not a remote.it service id: expected 8 hex octets separated by colons, "
            "such as 80:00:00:00:01:02:03:04" % shown(value))
    return value


def same_id(first, second):
    """Whether two ids name the same device, service or connection: remote.it may write an id in either case."""
    return first is not None and second is not None and id_key(first) == id_key(second)


def id_key(value):
    """An id as a dict key or set member, so that its spellings meet; never sent to the API."""
    return None if value is None else value.casefold()


def normalize_api_url(url):
    """The api_url to send requests to, checked before the first one: an http(s) URL without a trailing slash.

    remote.it's endpoint has no trailing slash, so one (a common slip) is dropped instead of earning a 404.
    """
    try:
        _untrusted.url(url, ("http", "https"))  # as every record of it is checked: no user name, no port 0
        valid = True
    except ValueError:
        valid = False
    if not valid:
        raise InvalidInputError("api_url %s is not an http:// or https:// URL: give the full URL of the API, such as %s"
                                % (shown(url), DEFAULT_API_URL))
    return url.rstrip("/")


class RemoteitClient(Transport):
    """remote.it's API as the collection uses it: devices, sessions, connect and disconnect, over one Transport."""

    def __init__(self, key_id, secret, key_origin, api_url=DEFAULT_API_URL, validate_certs=True, request_timeout=30,
                 retries=3, account_id=None, sleep=time.sleep, warn=None):
        """key_origin says in words where the key pair came from (see _credentials.Credentials), for when it is rejected.

        `warn` takes a warning about what the API listed but this client left out (a device whose id is not an id).
        """
        super().__init__(key_id, secret, key_origin, api_url, validate_certs, request_timeout, retries, sleep)
        self.account_id = account_id
        self._application_types = None
        self._warn = warn
        self._warned = set()

    def __repr__(self):
        return "RemoteitClient(api_url=%r, key_id=%r)" % (self.api_url, self.key_id)

    # -- queries -----------------------------------------------------------------------------

    def _login(self, query, variables):
        """(the login user, the user or organisation account the query asked about)."""
        if self.account_id:
            variables = dict(variables, accountId=self.account_id)
        data = self.graphql(query, variables)
        login = _graphql.expect(data, "login", dict, "the login user")
        if login is None:
            raise AuthError("remote.it returned no login user: the credentials are not valid for this API")
        if not self.account_id:
            return login, login
        account = _graphql.expect(login, "account", dict, "the organisation account")
        if account is None:
            raise NotFoundError("account_id %s is not an organisation this access key can use" % shown(self.account_id))
        return login, account

    def _user(self, query, variables):
        return self._login(query, variables)[1]

    def iter_devices(self, name=None, state=None, application=None, tag=None):
        """Yield every device matching the server-side filters, page by page.

        The API's name filter is a case-insensitive substring match; exact matching is the caller's. `tag` is a
        ListFilter ({"operator": "ANY" or "ALL", "values": [...]}; see _tags.api_filter).
        """
        query = _graphql.devices_query(self.account_id)
        variables = {"size": PAGE_SIZE, "name": name, "state": state,
                     "application": [application] if application is not None else None}
        if tag is not None:  # left out, not null: a filter that remote.it may read otherwise is sent only when asked
            variables["tag"] = tag
        offset = 0
        while True:
            page = _graphql.expect(self._user(query, dict(variables, **{"from": offset})), "devices", dict,
                                   "a device page")
            items = _graphql.expect(page, "items", list, "the device list")
            for item in items:
                device = _graphql.device(item, self._left_out)
                if device is not None:
                    yield device
            offset += len(items)
            total = page.get("total")
            if not page.get("hasMore") or not items or (isinstance(total, int) and offset >= total):
                return  # an API that says hasMore beyond its total would page for ever

    def devices_by_id(self, device_ids):
        """The devices with these ids, which are sent as given: the caller compares what comes back (same_id)."""
        query = _graphql.devices_by_id_query(self.account_id)
        listed = _graphql.expect(self._user(query, {"ids": device_ids}), "device", list, "the device list") or []
        devices = (_graphql.device(item, self._left_out) for item in listed)
        return [device for device in devices if device is not None]

    def sessions(self):
        """Live proxy sessions of the account: remote.it's view of which connections are open, and whose.

        Each session says whether somebody is using it now (`connected`) and whether it is this access key's
        user's (`mine`: None where the API does not tell), so reconciliation can leave others' sessions alone.
        """
        return _graphql.sessions(*self._login(_graphql.sessions_query(self.account_id), {}))

    def account_tags(self):
        """The names of the tags the account has defined."""
        owner = self._user(_graphql.tags_query(self.account_id), {})
        return _graphql.tag_names(_graphql.expect(owner, "tags", list, "the account's tags"),
                                  lambda problem: self._left_out("a tag of the account", problem))

    def application_types(self):
        if self._application_types is None:
            data = self.graphql(_graphql.APPLICATION_TYPES)
            self._application_types = _graphql.expect(data, "applicationTypes", list, "the application types")
        return self._application_types

    # -- mutations ---------------------------------------------------------------------------

    def connect(self, service_id, host_ip, after_lost_answer=None):
        """Open a proxy. Not idempotent: see graphql() for after_lost_answer, which makes retries safe."""
        data = self.graphql(_graphql.CONNECT, {"serviceId": service_id, "hostIP": host_ip}, idempotent=False,
                            after_lost_answer=after_lost_answer)
        return _graphql.connection(_graphql.expect(data, "connect", dict, "the new connection"))

    def disconnect(self, connection_id, service_id=None):
        """Close a connection: remote.it's answer, True when it closed it and False when it had nothing to close.

        If an answer was lost and the retry answers false, the lost request is what closed it: True. Errors are
        raised as their class, whatever their wording: whether a connection was already gone is for the caller to
        tell from sessions().
        """
        lost = []
        data = self.graphql(_graphql.DISCONNECT, {"connectionId": connection_id, "serviceId": service_id},
                            after_lost_answer=lambda: lost.append(1))
        result = data.get("disconnect")
        if not isinstance(result, bool):
            raise ResponseError("malformed API response: disconnect answered %s" % shown(result), field="disconnect")
        return result or bool(lost)

    def define_tags(self, names):
        """setTag: define these tags in the account (creating them, or leaving one that exists as it is)."""
        return self._tag_mutation(_graphql.SET_TAGS, "setTag", {"tag": [{"name": name} for name in names]})

    def add_tags(self, names, service_ids):
        """addTag: tag the devices or services with these ids; remote.it's answer (see _tag_mutation)."""
        return self._tag_mutation(_graphql.ADD_TAGS, "addTag", {"name": names, "serviceId": service_ids})

    def remove_tags(self, names, service_ids):
        return self._tag_mutation(_graphql.REMOVE_TAGS, "removeTag", {"name": names, "serviceId": service_ids})

    def _tag_mutation(self, mutation, field, variables):
        """True, False or None (the schema's Boolean may be null), as remote.it answered. Tagging twice tags once, so
        a request whose answer was lost is sent again like a query; what an answer other than True, or an error,
        means is for the caller to tell from the device's tags."""
        data = self.graphql(mutation, dict(variables, accountId=self.account_id))
        result = data.get(field)
        if result is not None and not isinstance(result, bool):
            raise ResponseError("malformed API response: %s answered %s" % (field, shown(result)), field=field)
        return result

    def _left_out(self, what, problem):
        message = "left out %s that remote.it listed: %s" % (what, problem)
        if self._warn is not None and message not in self._warned:
            self._warned.add(message)
            self._warn(message)
