# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Opening, reusing and closing proxies, keeping the connections file in step with remote.it."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import time
from urllib.parse import urlsplit

from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    AmbiguousResultError,
    RemoteitError,
    is_service_id,
    normalize_service_id,
    shown,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import resolve_service

LATCHING = "255.255.255.255"
PUBLIC = "0.0.0.0"
HOST_IP_ALIASES = {"latching": LATCHING, "public": PUBLIC}

# How long remote.it's word that a connection is alive is trusted before asking again.
CONFIRMATION_TTL = 30
# remote.it may not list a proxy nobody has used yet; such a record is trusted this long
# (the API's idle expiry) until remote.it lists it once.
UNCONFIRMED_GRACE = 900
# How far back a session may start and still be taken for the one a lost connect opened.
RECONCILE_WINDOW = 120

RESULT_FIELDS = ("id", "service_id", "service_name", "device_id", "device_name", "host", "port", "url",
                 "reverse_proxy", "host_ip", "created", "expires_at", "timeout")


def normalize_host_ip(value):
    """The API's hostIP for a host_ip option: latching, public, or one IPv4/IPv6 address."""
    text = (value or "").strip()
    if text.lower() in HOST_IP_ALIASES:
        return HOST_IP_ALIASES[text.lower()]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise RemoteitError("host_ip %s is not valid: use latching, public, or one IPv4/IPv6 address that may "
                            "connect (restricted mode)" % shown(value), kind="invalid_input") from None


def public_warning(host_ip):
    if host_ip == PUBLIC:
        return ("host_ip public: anyone who learns this proxy's host and port can connect to the service until "
                "it closes. Prefer latching or a restricted address unless the service has its own authentication.")
    return None


def to_result(record, reused=False):
    result = {field: record.get(field) for field in RESULT_FIELDS}
    result["reused"] = reused
    return result


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """An aware datetime for an ISO-8601 string, or None when the API sent something else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


class ProxyManager:
    """Connections of one API endpoint: what the connections file holds and what remote.it reports alive."""

    def __init__(self, client, store):
        self.client = client
        self.store = store
        self._sessions = None

    def recorded(self, service_id=None, host_ip=None, connection_id=None):
        return [record for record in self.store.records() if self._matches(record, service_id, host_ip, connection_id)]

    def _matches(self, record, service_id=None, host_ip=None, connection_id=None):
        return (record.get("api_url") == self.client.api_url
                and (service_id is None or record.get("service_id") == service_id)
                and (host_ip is None or record.get("host_ip") == host_ip)
                and (connection_id is None or record.get("id") == connection_id))

    def select(self, service_id=None, device=None, service=None, ask_api=True):
        """Recorded connections of the selected service, found by the names recorded with them.

        Only when no record carries those names (and ask_api allows) is remote.it asked which service
        they mean.
        """
        if service_id:
            return self.recorded(normalize_service_id(service_id))
        if not device:
            return self.recorded()
        matches = [record for record in self.recorded() if _names_match(record, device, service)]
        if not matches:
            if not ask_api:
                return []
            target = resolve_service(self.client, device=device, service=service, require_online=False)
            return self.recorded(target["service_id"])
        services = sorted({record.get("service_name") or record["service_id"] for record in matches})
        if len(services) > 1:
            raise RemoteitError("device %r has connections to several services (%s): name the service"
                                % (device, ", ".join(services)), kind="ambiguous")
        return matches

    # -- liveness ------------------------------------------------------------------------------

    def sessions(self):
        """remote.it's live sessions, asked once per manager."""
        if self._sessions is None:
            self._sessions = self.client.sessions()
        return self._sessions

    def alive(self, records):
        """The subset of unexpired records remote.it still reports open, asking it at most once."""
        now = now_utc()
        records = [record for record in records if not is_expired(record, now)]
        fresh = [record for record in records if _age(record.get("confirmed_at"), now) < CONFIRMATION_TTL]
        to_check = [record for record in records if record not in fresh]
        if not to_check:
            return fresh
        live_ids = {session["id"] for session in self.sessions()}
        listed = [record for record in to_check if _session_ids(record) & live_ids]
        unlisted_new = [record for record in to_check if record not in listed
                        and not record.get("confirmed_at")
                        and _age(record.get("created"), now) < UNCONFIRMED_GRACE]
        if listed:
            self._mark_confirmed({record["id"] for record in listed}, iso(now))
        return fresh + listed + unlisted_new

    def _mark_confirmed(self, ids, when):
        with self.store.update() as records:
            for record in records:
                if record["id"] in ids and self._matches(record):
                    record["confirmed_at"] = when

    def reusable(self, records, host_ip, renew_before):
        """The newest of these records with this host_ip that is alive and not about to expire."""
        now = now_utc()
        candidates = [record for record in records
                      if record.get("host_ip") == host_ip and _remaining(record, now) > renew_before]
        if not candidates:
            return None
        alive = self.alive(candidates)
        return max(alive, key=lambda record: record.get("created") or "") if alive else None

    # -- open and close ------------------------------------------------------------------------

    def open(self, target, host_ip):
        """Open a new proxy and record it, dropping this key's other records (expired, gone or expiring).

        A connect whose answer was lost may still have opened a proxy; it is found among the
        sessions and closed, so no proxy is left open that nobody recorded, and connect is tried again.
        """
        attempts = self.client.retries + 1
        orphans = 0
        for attempt in range(attempts):
            started = now_utc()
            try:
                connection = self.client.connect(target["service_id"], host_ip)
                break
            except AmbiguousResultError as exc:
                orphans += self._close_orphans(target["service_id"], started)
                if attempt + 1 == attempts:
                    raise RemoteitError(
                        "connect to service %s failed %d times (last: %s); closed %d proxy(ies) the failed attempts "
                        "had opened; nothing was recorded" % (target["service_id"], attempts, exc, orphans),
                        kind="network") from None
                self.client.pause(attempt)
        record = self._record(target, host_ip, connection)
        with self.store.update() as records:
            records[:] = [item for item in records
                          if not self._matches(item, record["service_id"], host_ip)] + [record]
        return record

    def _close_orphans(self, service_id, started):
        self._sessions = None
        recorded = set()
        for record in self.store.records():
            recorded |= _session_ids(record)
        closed = 0
        for session in self.sessions():
            opened = parse_time(session.get("timestamp"))
            if (session["service_id"] == service_id and session["id"] not in recorded and opened is not None
                    and (started - opened).total_seconds() <= RECONCILE_WINDOW):
                closed += bool(self.client.disconnect(session["id"], service_id))
        self._sessions = None
        return closed

    def _record(self, target, host_ip, connection):
        session = connection.get("session") or {}
        reported = session.get("target") or {}
        reported_device = reported.get("device") or {}
        created = parse_time(connection.get("created")) or now_utc()
        timeout = connection.get("timeout") if isinstance(connection.get("timeout"), int) else None
        url = connection.get("url")
        address = urlsplit(url) if url else None
        reverse_proxy = bool(connection.get("reverseProxy"))
        port = connection.get("port")
        if port is None and not reverse_proxy and address is not None:
            port = address.port
        return {
            "id": str(connection["id"]),
            "session_id": str(session["id"]) if session.get("id") else None,
            "api_url": self.client.api_url,
            "service_id": target["service_id"],
            "service_name": target.get("service_name") or reported.get("name"),
            "device_id": target.get("device_id") or reported_device.get("id"),
            "device_name": target.get("device_name") or reported_device.get("name"),
            "host": connection.get("host") or (address.hostname if address else None),
            "port": int(port) if port is not None else None,
            "url": url,
            "reverse_proxy": reverse_proxy,
            "host_ip": host_ip,
            "created": iso(created),
            "expires_at": iso(created + datetime.timedelta(seconds=timeout)) if timeout else None,
            "timeout": timeout,
            "confirmed_at": None,
        }

    def close(self, connection_ids, service_id=None):
        """Disconnect each id and forget its record; returns the ids remote.it actually closed."""
        closed = []
        for connection_id in connection_ids:
            record_service = next((record.get("service_id") for record in self.recorded(connection_id=connection_id)),
                                  service_id)
            if self.client.disconnect(connection_id, record_service):
                closed.append(connection_id)
            with self.store.update() as records:
                records[:] = [record for record in records
                              if not self._matches(record, connection_id=connection_id)]
        return closed


def parse_selector(text):
    """A service id, "device/service", or a device name alone, as lookups and filters accept them."""
    text = (text or "").strip()
    if is_service_id(text):
        return {"service_id": text, "device": None, "service": None}
    device, slash, service = text.rpartition("/")
    if not slash:
        device, service = text, None
    if not device or (slash and not service):
        raise RemoteitError("%s does not select a service: use a service id, DEVICE/SERVICE, or DEVICE" % shown(text),
                            kind="invalid_input")
    return {"service_id": None, "device": device, "service": service}


def _names_match(record, device, service):
    device_matches = device.lower() in ((record.get("device_name") or "").lower(),
                                        (record.get("device_id") or "").lower())
    return device_matches and (service is None or (record.get("service_name") or "").lower() == service.lower())


def is_expired(record, now=None):
    return _remaining(record, now or now_utc()) <= 0


def _session_ids(record):
    return {value for value in (record.get("id"), record.get("session_id")) if value}


def _age(timestamp, now):
    moment = parse_time(timestamp)
    return (now - moment).total_seconds() if moment else float("inf")


def _remaining(record, now):
    expires = parse_time(record.get("expires_at"))
    return (expires - now).total_seconds() if expires else float("inf")


def wait_for_port(record, timeout, interval=0.5):
    """Block until the proxy accepts a TCP connection; returns seconds waited or raises RemoteitError."""
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
            raise RemoteitError("proxy %s:%s did not accept connections within wait_timeout=%ss (%s)"
                                % (host, port, timeout, last_error), kind="timeout")
        time.sleep(interval)
