# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place that decides whether a recorded proxy is live, gone or cannot be told, and by which clock.

remote.it's sessions are its word on which proxies are open. It may list a session under the connection's id or
under a session id of its own, may not list a proxy nobody used yet, and closes a proxy at the end of its lifetime
or once nobody used it for its idle time, whichever comes first.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from ansible_collections.community.remoteit.plugins.plugin_utils._api import id_key
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import ProxyTimeoutError
from ansible_collections.community.remoteit.plugins.plugin_utils._records import parse_time, session_keys

# How long remote.it's word that a connection is alive is trusted before asking again.
CONFIRMATION_TTL = 30
# remote.it closes a proxy nobody used for this long. One it never listed is trusted, for this long from its
# opening, as unused yet; after that it is one whose session this controller cannot recognise.
IDLE_TIMEOUT = 900
# A proxy remote.it never listed is renewed once its idle clock has less than this left (or less than renew_before,
# if that is shorter): the caller may take a moment to connect. renew_before itself is about the lifetime, the
# time a whole play needs, which no idle proxy has.
IDLE_RENEW_BEFORE = 300
# Seconds by which remote.it's clock and this controller's may differ when sessions are matched to intents.
CLOCK_SKEW = 5

LIVE = "live"  # remote.it lists it, or it was opened or confirmed a moment ago
GONE = "gone"  # its lifetime ended, or remote.it listed it once and no longer does
UNUSED = "unused"  # never listed, and young enough to be a proxy nobody used yet
UNRECOGNISED = "unrecognised"  # never listed, and too old to be unused: remote.it lists it under an id not recorded


def lifetime_left(record, now):
    expires = parse_time(record.get("expires_at"))
    return (expires - now).total_seconds() if expires else float("inf")


def idle_left(record, now):
    """Seconds until the idle clock closes a proxy remote.it never listed: counted from its opening."""
    return IDLE_TIMEOUT - _age(record.get("created"), now)


def is_expired(record, now):
    return lifetime_left(record, now) <= 0


def trusted(record, now, trust):
    """Taken for live without asking remote.it: opened or confirmed less than `trust` seconds ago."""
    return min(_age(record.get("confirmed_at"), now), _age(record.get("created"), now)) < trust


def verdict(record, live_keys, now, margin=0):
    """LIVE, GONE, UNUSED or UNRECOGNISED, from remote.it's live session ids (see _records.session_keys).

    `margin`: the caller's renew_before. A proxy never listed with less than that (at most IDLE_RENEW_BEFORE) left
    on its idle clock is renewed, so it is replaced before the idle clock closes it.
    """
    if lifetime_left(record, now) <= 0:
        return GONE
    if session_keys(record) & live_keys:
        return LIVE
    if record.get("confirmed_at"):
        return GONE
    return UNUSED if idle_left(record, now) > min(margin, IDLE_RENEW_BEFORE) else UNRECOGNISED


def _age(timestamp, now):
    moment = parse_time(timestamp)
    return (now - moment).total_seconds() if moment else float("inf")


def port_answers(record, timeout=3.0):
    """Whether the proxy of this record accepts a TCP connection now (a probe also latches a latching proxy)."""
    try:
        with socket.create_connection((record.get("host"), record.get("port")), timeout=timeout):
            return True
    except (OSError, TypeError):
        return False


def wait_for_port(record, timeout, interval=0.5):
    """Block until the proxy accepts a TCP connection; returns seconds waited or raises ProxyTimeoutError."""
    host, port = record.get("host"), record.get("port")
    if port is None and record.get("url"):
        address = urlsplit(record["url"])
        host = address.hostname or host
        port = address.port or (443 if address.scheme == "https" else 80)
    start = time.monotonic()
    last_error = None
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(5.0, max(timeout, 0.1))):
                return round(time.monotonic() - start, 3)
        except OSError as exc:
            last_error = exc
        if time.monotonic() - start + interval > timeout:
            raise ProxyTimeoutError("proxy %s:%s did not accept connections within wait_timeout=%ss (%s)"
                                    % (host, port, timeout, last_error))
        time.sleep(interval)


class Sessions:
    """remote.it's live sessions, asked once and again only after something was opened or closed."""

    def __init__(self, client):
        self._client = client
        self._listed = None

    def listed(self):
        if self._listed is None:
            self._listed = self._client.sessions()
        return self._listed

    def live_keys(self):
        """The ids of every live session, in the form records are matched by (see _records.session_keys)."""
        return {id_key(session["id"]) for session in self.listed()}

    def changed(self):
        """Something was opened or closed: the next question asks remote.it again."""
        self._listed = None
