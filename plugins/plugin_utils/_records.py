# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a connection record is: its fields, how one is matched, shown to users and handed from job to job.

The records themselves live in the connections file (see _connections.ConnectionStore).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Mapping, Sequence

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._api import checked_service_id, id_key, same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import inert, shown

LATCHING = "255.255.255.255"
PUBLIC = "0.0.0.0"
HOST_IP_ALIASES = {"latching": LATCHING, "public": PUBLIC}

# The run that opened a record (see _lifecycle.run_id): only the close_opened callback reads it. It is no result field, so
# a record handed to another job never carries it, and nothing but the run that opened a proxy takes it for its own.
RUN_ID_FIELD = "run_id"
RESULT_FIELDS = ("id", "service_id", "service_name", "device_id", "device_name", "host", "port", "url",
                 "reverse_proxy", "host_ip", "created", "expires_at", "timeout", "session_id", "api_url")
# The variables that hand records from an earlier job to this one (an AWX workflow's set_stats artifact,
# a CI job's -e @file.json; a host's cached fact), read by modules, the lookup and the connection plugin.
HANDED_LIST_VAR = "remoteit_connections"
HANDED_HOST_VAR = "remoteit_connection"


def normalize_host_ip(value):
    """The API's hostIP for a host_ip option: latching, public, or one IPv4/IPv6 address."""
    text = (value or "").strip()
    if text.lower() in HOST_IP_ALIASES:
        return HOST_IP_ALIASES[text.lower()]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidInputError("host_ip %s is not valid: use latching, public, or one IPv4/IPv6 address that may "
                                "connect (restricted mode)" % shown(value)) from None


def public_warning(host_ip):
    if host_ip == PUBLIC:
        return ("host_ip public: anyone who learns this proxy's host and port can connect to the service until "
                "it closes. Prefer latching or a restricted address unless the service has its own authentication.")
    return None


def host_key_alias(service_id):
    """The name ssh checks a device's host key under (HostKeyAlias), in the connection plugin, the proxy role and
    every result: the proxy's address changes with each proxy, the service id does not."""
    return "remoteit-%s" % service_id.replace(":", "-").lower()


def to_result(record, reused=False):
    """A record as modules, the lookup and the inventory return it. Its names are made inert (see
    _untrusted.inert): results are handed to later jobs as extra vars, where ansible-core templates them."""
    result = {field: record.get(field) for field in RESULT_FIELDS}
    result["service_name"], result["device_name"] = inert(result["service_name"]), inert(result["device_name"])
    result["host_key_alias"] = host_key_alias(record["service_id"])
    result["reused"] = reused
    return result


def matches(record, api_url, service_id=None, host_ip=None, connection_id=None):
    """Whether a record of the connections file is of this API endpoint and selection; ids compare in any case."""
    return (record.get("api_url") == api_url
            and (service_id is None or same_id(record.get("service_id"), service_id))
            and (host_ip is None or record.get("host_ip") == host_ip)
            and (connection_id is None or same_id(record.get("id"), connection_id)))


def session_keys(record):
    """The ids remote.it may list this record's session under: its connection id, and the session id connect gave."""
    return {id_key(value) for value in (record.get("id"), record.get("session_id")) if value}


def names_match(record, device, service):
    device_matches = device.lower() in ((record.get("device_name") or "").lower(),
                                        (record.get("device_id") or "").lower())
    return device_matches and (service is None or (record.get("service_name") or "").lower() == service.lower())


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """An aware datetime for an ISO-8601 string, or None when the API sent something else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def handed_records(connections=None, connection=None):
    """The connection records an earlier job handed over: a list (HANDED_LIST_VAR) and one host's (HANDED_HOST_VAR).

    They are results of community.remoteit.remoteit_connection, passed through JSON, extra vars or a fact cache.
    Anything in the list that is not such a record is an error naming the variable, not silently left out; the host
    variable is ignored unless it holds a record, as playbooks also use that name for other things (a registered
    result, a lookup of the connection).
    """
    if connections is not None and (isinstance(connections, (str, bytes)) or not isinstance(connections, Sequence)):
        raise InvalidInputError("%s must be a list of connection records (the connection results of "
                                "community.remoteit.remoteit_connection), not %s"
                                % (HANDED_LIST_VAR, type(connections).__name__))
    named = [("%s[%d]" % (HANDED_LIST_VAR, index), item) for index, item in enumerate(connections or [])]
    if _is_record(connection):
        named.append((HANDED_HOST_VAR, connection))
    records = {}
    for name, item in named:
        if item in (None, ""):  # a host that had nothing to publish
            continue
        record = _handed_record(name, item)
        records.setdefault(id_key(record["id"]), record)
    return list(records.values())


def _is_record(item):
    return isinstance(item, Mapping) and all(isinstance(item.get(key), str) and item.get(key)
                                             for key in ("id", "service_id", "host_ip"))


def _handed_record(name, item):
    if not _is_record(item):
        raise InvalidInputError("%s is not a connection record: one has at least id, service_id and host_ip, as "
                                "community.remoteit.remoteit_connection returns it in connection" % name)
    record = {field: item.get(field) for field in RESULT_FIELDS}
    try:
        record["port"] = int(record["port"]) if record["port"] not in (None, "") else None
        record["timeout"] = int(record["timeout"]) if record["timeout"] not in (None, "") else None
    except (TypeError, ValueError):
        raise InvalidInputError("%s is not a connection record: its port and timeout must be numbers" % name) from None
    for field in ("id", "session_id", "api_url", "service_id", "service_name", "device_id", "device_name", "host",
                  "url", "host_ip", "created", "expires_at"):
        record[field] = str(record[field]) if record[field] is not None else None
    try:
        record["service_id"] = checked_service_id(record["service_id"])
        record["host_ip"] = normalize_host_ip(record["host_ip"])
    except RemoteitError as exc:
        raise InvalidInputError("%s is not a connection record: %s" % (name, exc)) from None
    record["reverse_proxy"] = _flag(record["reverse_proxy"])
    record["confirmed_at"] = None
    try:
        return _untrusted.record(record)
    except ValueError as exc:
        raise InvalidInputError("%s is not a connection record: %s" % (name, exc)) from None


def _flag(value):
    """A bool handed over as JSON or as text (extra vars may carry "true"); anything else is left to the check."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return False if value is None else value
