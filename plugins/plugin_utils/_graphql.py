# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GraphQL documents the client sends, and the checked shapes of their answers.

Answers come over a network: every value is checked (see _untrusted) before the collection uses it, and ids are
kept exactly as remote.it gave them.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import ResponseError, UnusableConnectError
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

DEVICE_FIELDS = """
  id name state online
  services { id name application title port host state enabled }
  tags%s { name }
"""

CONNECTION_FIELDS = """
  id reverseProxy host port url created timeout
  session { id target { id name device { id name } } }
"""

APPLICATION_TYPES = "query RemoteitApplicationTypes { applicationTypes { id name port proxy } }"

CONNECT = ("mutation RemoteitConnect($serviceId: String!, $hostIP: String!) "
           "{ connect(serviceId: $serviceId, hostIP: $hostIP) { %s } }" % CONNECTION_FIELDS)

DISCONNECT = ("mutation RemoteitDisconnect($connectionId: String!, $serviceId: String) "
              "{ disconnect(connectionId: $connectionId, serviceId: $serviceId) }")


def user_query(name, variable_defs, selection, account_id, login_fields=""):
    """A query on the login user, or on the organisation account when account_id is set.

    login_fields are asked of the login user either way (such as its email).
    """
    if account_id:
        defs = "(%s$accountId: String)" % (variable_defs + ", " if variable_defs else "")
        return "query %s%s { login { %s account(id: $accountId) { %s } } }" % (name, defs, login_fields, selection)
    defs = "(%s)" % variable_defs if variable_defs else ""
    return "query %s%s { login { %s %s } }" % (name, defs, login_fields, selection)


SET_TAGS = "mutation RemoteitSetTag($tag: [TagInput!]!, $accountId: String) { setTag(tag: $tag, accountId: $accountId) }"

ADD_TAGS = ("mutation RemoteitAddTag($name: [String!]!, $serviceId: [String!]!, $accountId: String) "
            "{ addTag(name: $name, serviceId: $serviceId, accountId: $accountId) }")

REMOVE_TAGS = ("mutation RemoteitRemoveTag($name: [String!]!, $serviceId: [String!]!, $accountId: String) "
               "{ removeTag(name: $name, serviceId: $serviceId, accountId: $accountId) }")


def _device_fields(account_id):
    """A device's fields; its tags are the organisation's view of it when the query is about one."""
    return DEVICE_FIELDS % ("(accountId: $accountId)" if account_id else "")


def devices_query(account_id):
    return user_query(
        "RemoteitDevices", "$from: Int, $size: Int, $name: String, $state: String, $application: [Int!], $tag: ListFilter",
        "devices(from: $from, size: $size, name: $name, state: $state, application: $application, tag: $tag) "
        "{ total hasMore items { %s } }" % _device_fields(account_id), account_id)


def devices_by_id_query(account_id):
    return user_query("RemoteitDevicesById", "$ids: [String!]!", "device(id: $ids) { %s }" % _device_fields(account_id),
                      account_id)


def tags_query(account_id):
    return user_query("RemoteitTags", "", "tags { name }", account_id)


def sessions_query(account_id):
    return user_query("RemoteitSessions", "",
                      "sessions { id timestamp connected user { email } target { id name device { id name } } }",
                      account_id, "email")


def expect(data, key, kind, what):
    """data[key] when it is of `kind`, or None; any other shape is a malformed answer."""
    value = data.get(key) if isinstance(data, dict) else None
    if value is not None and not isinstance(value, kind):
        raise ResponseError("malformed API response: %s has an unexpected shape" % what)
    return value


def device(item, left_out):
    """A device as the collection uses it, or None where its id or name cannot be used.

    `left_out(what, problem)` is told of the device or service left out, so one bad item does not lose the list.
    """
    problem = _problem(item, {"id": _untrusted.service_id, "name": _untrusted.text}) if isinstance(
        item, dict) else "it is not an object"
    if problem is None and not isinstance(item.get("services") or [], list):
        problem = "its services are not a list"
    if problem:
        left_out("a device", problem)
        return None
    services = []
    for service in item.get("services") or []:
        problem = _problem(service, {"id": _untrusted.service_id, "name": _untrusted.text}) if isinstance(
            service, dict) else "it is not an object"
        if problem:
            left_out("a service of device %s" % shown(item.get("name")), problem)
            continue
        services.append({
            "id": service["id"],
            "name": service.get("name") or "",
            "application": _whole_number(service.get("application")),
            "application_name": _or_none(_untrusted.text, service.get("title")),
            "port": _or_none(_untrusted.port, service.get("port")),
            "host": _or_none(_untrusted.text, service.get("host")),
            "state": _or_none(_untrusted.text, service.get("state")),
            "enabled": service.get("enabled") if isinstance(service.get("enabled"), bool) else None,
        })
    return {
        "id": item["id"],
        "name": item.get("name") or "",
        "state": _or_none(_untrusted.text, item.get("state")),
        "online": item.get("online") if isinstance(item.get("online"), bool) else None,
        "services": services,
        "tags": tag_names(item.get("tags"), lambda problem: left_out("a tag of device %s" % shown(item.get("name")),
                                                                     problem)),
    }


def tag_names(listed, left_out):
    """The names of a list of tags (a device's, or an account's), each once. Tags without a usable name are left out,
    with one word for all of them: a device may carry thousands."""
    if not isinstance(listed, list):
        if listed is not None:
            left_out("the tags are not a list")
        return []
    names, bad = {}, []
    for tag in listed:
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str) and name:
            names.setdefault(name, None)
        else:
            bad.append(name)
    if bad:
        left_out("%d of its tags have no name that is a non-empty string, such as %s" % (len(bad), shown(bad[0])))
    return list(names)


def sessions(login, owner):
    """The sessions `owner` lists, each saying whether it is the login user's (`mine`: None where unknown).

    A session whose id is not an id can be no record's, and is nothing this collection may close: it is left out.
    """
    listed = expect(owner, "sessions", list, "the session list") or []
    me = _email(login)
    return [_session(session, me) for session in listed
            if isinstance(session, dict) and _or_none(_untrusted.connection_id, session.get("id"))]


def _email(user):
    """A user's email, compared without regard to case; None where the API did not tell."""
    email = _or_none(_untrusted.text, user.get("email")) if isinstance(user, dict) else None
    return email.lower() if email else None


def _session(session, me):
    target = session.get("target") if isinstance(session.get("target"), dict) else {}
    email = _email(session.get("user"))
    return {
        "id": session["id"],
        "timestamp": session.get("timestamp"),
        "service_id": _or_none(_untrusted.service_id, target.get("id")),
        "connected": session.get("connected") if isinstance(session.get("connected"), bool) else None,
        "mine": (email == me) if email and me else None,
    }


def connection(answer):
    """A connect answer, checked field by field before anything uses it (see UnusableConnectError).

    A port proxy answered with only a url is reached at the url's host and port. A reverse proxy is reached at its
    url alone: a port beside it is dropped, so nothing takes it for a port proxy.
    """
    if answer is None:
        raise ResponseError("malformed API response: connect returned no connection")
    connection_id = answer.get("id")
    try:
        _untrusted.connection_id(connection_id)
    except ValueError as exc:
        raise _unusable("id: %s" % exc, None) from None
    reverse_proxy = answer.get("reverseProxy")
    reverse_proxy = False if reverse_proxy is None else reverse_proxy
    host, port, url, timeout = (answer.get(name) for name in ("host", "port", "url", "timeout"))
    if reverse_proxy is True:
        port = None
    session = answer.get("session")
    try:
        if session is not None and not isinstance(session, dict):
            raise ValueError("session: it is not an object")
        session = session or {}
        try:
            _untrusted.optional(_untrusted.connection_id, session.get("id"))
        except ValueError as exc:
            raise ValueError("session.id: %s" % exc) from None
        if reverse_proxy is False and isinstance(url, str) and (host is None or port is None):
            with contextlib.suppress(ValueError):  # a url whose port is no number fails as the url below
                address = urlsplit(url)
                host, port = address.hostname if host is None else host, address.port if port is None else port
        _untrusted.proxy_address(reverse_proxy, host, port, url)
        try:
            _untrusted.optional(_untrusted.timeout, timeout)
        except ValueError as exc:
            raise ValueError("timeout: %s" % exc) from None
    except ValueError as exc:
        raise _unusable(str(exc), connection_id) from None
    target = session.get("target") if isinstance(session.get("target"), dict) else {}
    target_device = target.get("device") if isinstance(target.get("device"), dict) else {}
    return {
        "id": connection_id,
        "session_id": session.get("id"),
        "reverse_proxy": reverse_proxy,
        "host": host if host is not None else urlsplit(url).hostname,
        "port": port,
        "url": url,
        "created": _or_none(_untrusted.timestamp, answer.get("created")),  # else: now
        "timeout": timeout,
        "service_name": _or_none(_untrusted.text, target.get("name")),
        "device_id": _or_none(_untrusted.service_id, target_device.get("id")),
        "device_name": _or_none(_untrusted.text, target_device.get("name")),
    }


def _unusable(problem, connection_id):
    return UnusableConnectError("remote.it answered connect with a connection that cannot be used: %s" % problem,
                                connection_id)


def _problem(item, checks):
    """What makes this item unusable, naming the field, or None."""
    for name, check in checks.items():
        try:
            check(item.get(name))
        except ValueError as exc:
            return "its %s: %s" % (name, exc)
    return None


def _or_none(check, value):
    """An informational field: kept where valid, else dropped (None)."""
    try:
        return _untrusted.optional(check, value)
    except ValueError:
        return None


def _whole_number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None
