# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks of every value that crosses the trust boundary before anything uses it.

API answers come over a network, device and service names are chosen by whoever registered a device, and a
connections file may have been written by someone else: a host becomes an argument of ssh, a port a socket
address, an id an ssh option. Each check raises ValueError saying what is wrong with the value; callers name
the field and where it came from.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from urllib.parse import urlsplit

# \Z, not $: $ also matches before a final line break.
SERVICE_ID_RE = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){7}\Z")
# Connection and session ids are the API's own tokens (the sandbox's are uuids): letters, digits and . _ : -
CONNECTION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
RUN_ID_RE = re.compile(r"^[0-9]{1,10}-[0-9a-f]{32}\Z")
HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The characters RFC 3986 allows in a URL: no braces, quotes, spaces or backslashes (a template, a shell word).
URL_RE = re.compile(r"^[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+\Z")
# Put after each "{" that could start a Jinja delimiter, and after the "#" of a "#jinja2:" header at the start (it
# would set other delimiters): invisible, not whitespace, and no Jinja delimiter with it.
WORD_JOINER = "\u2060"
TEMPLATE_START = re.compile(r"\{(?=[{%#]|\Z)|\A#(?=jinja2:)")
# What an IPv6 zone (fe80::1%eth0) may hold: ipaddress takes anything after the %, ssh's %h would pass it on.
ZONE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
MAX_TIMEOUT = 10 * 365 * 24 * 3600
EARLIEST, LATEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc), datetime.datetime(
    2200, 1, 1, tzinfo=datetime.timezone.utc)
PORT_PROXY_URL_SCHEMES = ("tcp", "http", "https")
REVERSE_PROXY_URL_SCHEMES = ("http", "https")
TEXT_LIMIT = 200


def bounded(value, limit=TEXT_LIMIT):
    """Data for a message: control and other unprintable characters escaped, cut to `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    escaped = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                      for char in text)
    return escaped if len(escaped) <= limit else "%s...(%d characters)" % (escaped[:limit], len(text))


def shown(value, limit=60):
    """A value quoted for a message: a user's, or a name from the API. repr escapes control characters, and a
    pasted blob or a hostile 10 kB name is cut short so it cannot flood the output."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(str(value))


def _describe(value):
    return shown(value) if value is None or isinstance(value, (str, bool, int, float)) else type(value).__name__


def service_id(value):
    """A remote.it device or service id: 8 hex octets separated by colons, in either case, returned as given."""
    if not isinstance(value, str) or not SERVICE_ID_RE.match(value):
        raise ValueError("%s is not a remote.it id (8 hex octets separated by colons)" % _describe(value))
    return value


def connection_id(value):
    if not isinstance(value, str) or not CONNECTION_ID_RE.match(value):
        raise ValueError("%s is not a connection id (up to 128 letters, digits, '.', '_', ':' or '-', not "
                         "starting with '-')" % _describe(value))
    return value


def port(value):
    """A TCP port: an integer 1-65535 (a bool or a numeric string is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError("%s is not a port (an integer from 1 to 65535)" % _describe(value))
    return value


def host(value):
    """A host name or an IP address as ssh and sockets take it, never anything they could read otherwise (an option,
    a list, a shell word): no brackets, and an IPv6 zone of letters, digits and . _ - only."""
    if isinstance(value, str) and _is_host(value):
        return value
    raise ValueError("%s is not a host name or IP address" % _describe(value))


# Checks of strings are cached: a connections file repeats its api_url and hosts in every record, and is read
# several times a task.
@functools.lru_cache(maxsize=4096)
def _is_host(value):
    if not value or len(value) > 253:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    if all(HOST_LABEL_RE.match(label) for label in labels):
        return True  # a host name, or an IPv4 address written as one
    address, percent, zone = value.partition("%")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return not percent or (":" in address and bool(ZONE_RE.match(zone)))  # only IPv6 addresses have zones


def url(value, schemes):
    """A URL of one of `schemes` whose host is a host and whose port, if any, is a port."""
    if isinstance(value, str) and _is_url(value, tuple(schemes)):
        return value
    raise ValueError("%s is not a URL (%s)" % (_describe(value), ", ".join(schemes)))


@functools.lru_cache(maxsize=4096)
def _is_url(value, schemes):
    if len(value) > 2048 or not URL_RE.match(value):
        return False
    parts = urlsplit(value)
    try:
        valid_port = parts.port is None or 1 <= parts.port <= 65535
    except ValueError:
        return False
    return (parts.scheme.lower() in schemes and bool(parts.hostname) and valid_port and "@" not in parts.netloc
            and _is_host(parts.hostname))


def timeout(value):
    """Seconds a proxy lives, 0 where the API does not say."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMEOUT:
        raise ValueError("%s is not a number of seconds from 0 to %d" % (_describe(value), MAX_TIMEOUT))
    return value


def timestamp(value):
    """An ISO-8601 time within reason: one centuries away would overflow the arithmetic of expiry."""
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
        if EARLIEST <= moment <= LATEST:
            return value
    except (AttributeError, ValueError):
        pass
    raise ValueError("%s is not an ISO-8601 time between 2000 and 2200" % _describe(value))


def text(value):
    """A name: any string (it is shown bounded and never templated or run), or nothing."""
    if value is not None and not isinstance(value, str):
        raise ValueError("%s is not a string" % _describe(value))
    return value


def inert(value):
    """`value` (a string, or a dict or list of them) copied, with WORD_JOINER after each "{" in its strings that is
    followed by "{", "%" or "#" or ends the string, and after a leading "#" of "#jinja2:".

    Why: names are hostile and reach playbooks where no unsafe mark survives: ansible-rulebook's run_playbook writes
    events untagged to the file ansible-playbook gets as -e @file, and a later job reads the records an earlier one
    handed over the same way. Strings there are templated on use (core 2.16-2.18) or trusted as templates (2.19+).
    Text without "{{", "{%", "{#" or a "#jinja2:" header is no template on any core, and it looks the same.
    """
    if isinstance(value, str):
        return TEMPLATE_START.sub(lambda match: match.group() + WORD_JOINER, value)
    if isinstance(value, dict):
        return {inert(key): inert(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [inert(item) for item in value]
    return value


def optional(check, value, *args):
    return None if value is None else check(value, *args)


def proxy_address(reverse_proxy, host_value, port_value, url_value):
    """The checks that make an answer or a record usable: a port proxy has a host and a port, a reverse proxy an
    http(s) url and no port. Raises ValueError naming the field."""
    if not isinstance(reverse_proxy, bool):
        raise ValueError("reverse_proxy: %s is not true or false" % _describe(reverse_proxy))
    if reverse_proxy:
        if port_value is not None:
            raise ValueError("port: a reverse proxy has no port, yet %s was given" % _describe(port_value))
        if url_value is None:
            raise ValueError("url: a reverse proxy needs one")
        _field("url", url, url_value, REVERSE_PROXY_URL_SCHEMES)
        _field("host", optional, host, host_value)
        return
    _field("host", host, host_value)
    _field("port", port, port_value)
    _field("url", optional, url, url_value, PORT_PROXY_URL_SCHEMES)


def _field(name, check, *args):
    try:
        return check(*args)
    except ValueError as exc:
        raise ValueError("%s: %s" % (name, exc)) from None


def _address(value):
    """host_ip as the API takes it: one IPv4 or IPv6 address (latching and public are addresses too)."""
    if isinstance(value, str) and _is_address(value):
        return value
    raise ValueError("%s is not an IP address" % _describe(value))


@functools.lru_cache(maxsize=1024)
def _is_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _intent_id(value):
    if not (isinstance(value, str) and value.startswith("intent-") and CONNECTION_ID_RE.match(value)):
        raise ValueError("%s is not an intent id" % _describe(value))
    return value


def _run_id(value):
    """The run that opened a record (see _lifecycle.run_id): the controller's pid, "-", and a random hex token."""
    if not (isinstance(value, str) and RUN_ID_RE.match(value)):
        raise ValueError("%s is not a run id (a process id, '-' and 32 hex digits)" % _describe(value))
    return value


# The fields of a record in the connections file and their checks; a missing optional field is None.
RECORD_FIELDS = {
    "id": connection_id,
    "session_id": lambda value: optional(connection_id, value),
    "api_url": lambda value: optional(url, value, REVERSE_PROXY_URL_SCHEMES),  # none in one handed over
    "service_id": service_id,
    "service_name": text,
    "device_id": lambda value: optional(service_id, value),
    "device_name": text,
    "host_ip": _address,
    "created": lambda value: optional(timestamp, value),
    "expires_at": lambda value: optional(timestamp, value),
    "confirmed_at": lambda value: optional(timestamp, value),
    "timeout": lambda value: optional(timeout, value),
    "run_id": lambda value: optional(_run_id, value),  # none in a record of an older version, or handed over
}
INTENT_FIELDS = {
    "id": _intent_id,
    "api_url": lambda value: url(value, REVERSE_PROXY_URL_SCHEMES),
    "service_id": service_id,
    "host_ip": RECORD_FIELDS["host_ip"],
    "started": timestamp,
}


def record(item):
    """Check one record of the connections file (a proxy, or the intent of a connect not answered yet).

    Raises ValueError naming the field; unknown fields are left alone for a newer version of the collection.
    """
    if not isinstance(item, dict):
        raise ValueError("it is not an object")
    for name, check in (INTENT_FIELDS if item.get("intent") is True else RECORD_FIELDS).items():
        try:
            check(item.get(name))
        except ValueError as exc:
            raise ValueError("%s: %s" % (name, exc)) from None
    if item.get("intent") is not True:
        proxy_address(item.get("reverse_proxy"), item.get("host"), item.get("port"), item.get("url"))
    return item
