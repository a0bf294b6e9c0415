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
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import inert
from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    AmbiguousResultError,
    RemoteitError,
    UnusableConnectError,
    is_service_id,
    normalize_service_id,
    shown,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import (
    recorded_target,
    require_online,
    resolve_service,
)

LATCHING = "255.255.255.255"
PUBLIC = "0.0.0.0"
HOST_IP_ALIASES = {"latching": LATCHING, "public": PUBLIC}

# How long remote.it's word that a connection is alive is trusted before asking again.
CONFIRMATION_TTL = 30
# remote.it may not list a proxy nobody has used yet; such a record is trusted this long
# (the API's idle expiry) until remote.it lists it once.
UNCONFIRMED_GRACE = 900
# Seconds by which remote.it's clock and this controller's may differ when sessions are matched to intents.
CLOCK_SKEW = 5

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
        raise RemoteitError("host_ip %s is not valid: use latching, public, or one IPv4/IPv6 address that may "
                            "connect (restricted mode)" % shown(value), kind="invalid_input") from None


def public_warning(host_ip):
    if host_ip == PUBLIC:
        return ("host_ip public: anyone who learns this proxy's host and port can connect to the service until "
                "it closes. Prefer latching or a restricted address unless the service has its own authentication.")
    return None


def to_result(record, reused=False):
    """A record as modules, the lookup and the inventory return it. Its names are made inert (see
    _untrusted.inert): results are handed to later jobs as extra vars, where ansible-core templates them."""
    result = {field: record.get(field) for field in RESULT_FIELDS}
    result["service_name"], result["device_name"] = inert(result["service_name"]), inert(result["device_name"])
    result["reused"] = reused
    return result


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


class ProxyManager:
    """The one place that finds, opens, reuses and closes proxies, keeping the connections file in step with remote.it.

    Modules, the lookup and the inventory plugin are adapters over it, so the rules for selecting a service,
    for reuse, for retries and for reconciling lost answers exist once.
    """

    def __init__(self, client, store, handed=(), warn=None):
        """`handed`: records an earlier job handed over as data (see handed_records); used as if they were in
        the connections file once remote.it confirms them, and then written into it. `warn` takes a warning
        about handed records that belong to another API endpoint."""
        self.client = client
        self.store = store
        self._sessions = None
        self._gone = set()  # ids of records remote.it no longer lists, found out in this run
        foreign = sorted({record["api_url"] for record in handed if record["api_url"] not in (None, client.api_url)})
        if foreign and warn:
            warn("ignored the connection records handed over for another API endpoint (%s); this task uses %s"
                 % (", ".join(foreign), client.api_url))
        self._handed = [dict(record, api_url=client.api_url) for record in handed
                        if record["api_url"] in (None, client.api_url)]

    # -- selection -----------------------------------------------------------------------------

    def recorded(self, service_id=None, host_ip=None, connection_id=None):
        """The records of this API endpoint (not intents) that match, the file's and those handed over."""
        return [record for record in self._records()
                if not record.get("intent") and self._matches(record, service_id, host_ip, connection_id)]

    def _records(self):
        """The file's records, then the handed-over ones it does not hold (the file's copy knows more)."""
        records = self.store.records()
        known = {record.get("id") for record in records}
        return records + [record for record in self._handed if record["id"] not in known]

    def _is_handed(self, record):
        """Whether another job opened this record: handed over now, or earlier and kept in the file since."""
        return bool(record.get("handed_over")) or any(record is handed for handed in self._handed)

    def _is_new_here(self, record):
        """Handed over and not in the file yet: remote.it has not confirmed it to this machine."""
        return any(record is handed for handed in self._handed)

    def _matches(self, record, service_id=None, host_ip=None, connection_id=None):
        return (record.get("api_url") == self.client.api_url
                and (service_id is None or record.get("service_id") == service_id)
                and (host_ip is None or record.get("host_ip") == host_ip)
                and (connection_id is None or record.get("id") == connection_id))

    def find(self, service_id=None, device=None, service=None):
        """(target, records) of a selection: the records first, remote.it only when they cannot tell.

        A service id, or a device and service named in records, need no API call; the target then has the
        names the records carry and no states. A device without a service always asks remote.it whether it has
        exactly one service: records only know the services this controller opened.
        """
        if service_id:
            target = resolve_service(self.client, service_id)
            return target, self.recorded(target["service_id"])
        if device and service is not None:
            matches = [record for record in self.recorded() if _names_match(record, device, service)]
            if len({record["service_id"] for record in matches}) == 1:
                return recorded_target(matches[-1]), matches
        target = resolve_service(self.client, service_id, device, service)
        return target, self.recorded(target["service_id"])

    # -- liveness ------------------------------------------------------------------------------

    def sessions(self):
        """remote.it's live sessions, asked once per manager (again after anything was opened or closed)."""
        if self._sessions is None:
            self._sessions = self.client.sessions()
        return self._sessions

    def alive(self, records, trust=CONFIRMATION_TTL, probe=False, adopt=True):
        """The subset of unexpired records remote.it still reports open, asking it at most once.

        A record opened or confirmed less than `trust` seconds ago is taken as alive without asking. One handed
        over from another job is always asked about once, and written into the connections file if alive
        (`adopt`). remote.it may not list a proxy nobody has used yet: such a handed record is alive only where
        the caller is about to connect to it anyway (`probe`) and its port answers, as a probe latches it.
        """
        now = now_utc()
        records = [record for record in records if not is_expired(record, now)]
        fresh = [record for record in records if not self._is_new_here(record)
                 and min(_age(record.get("confirmed_at"), now), _age(record.get("created"), now)) < trust]
        to_check = [record for record in records if record not in fresh]
        if not to_check:
            return fresh
        live_ids = {session["id"] for session in self.sessions()}
        listed = [record for record in to_check if _session_ids(record) & live_ids]
        unlisted_new = [record for record in to_check if record not in listed
                        and not record.get("confirmed_at")
                        and _age(record.get("created"), now) < UNCONFIRMED_GRACE
                        and (not self._is_new_here(record) or (probe and port_answers(record)))]
        self._gone |= {record["id"] for record in to_check if record not in listed and record not in unlisted_new}
        adopted = [record for record in listed + unlisted_new if self._is_new_here(record)] if adopt else []
        if listed or adopted:
            self._mark_confirmed({record["id"] for record in listed}, iso(now), adopted)
        return fresh + listed + unlisted_new

    def _mark_confirmed(self, ids, when, adopted=()):
        """Note remote.it's confirmation in the file, and keep the handed-over records it holds from now on."""
        for record in adopted:
            record["handed_over"] = True
            if record["id"] in ids:
                record["confirmed_at"] = when
        with self.store.update() as records:
            for record in records:
                if record["id"] in ids and self._matches(record):
                    record["confirmed_at"] = when
            known = {record.get("id") for record in records}
            records.extend(dict(record) for record in adopted if record["id"] not in known)
        self._handed = [record for record in self._handed if not any(record is done for done in adopted)]

    def reusable(self, records, host_ip, renew_before, trust=CONFIRMATION_TTL, probe=False, adopt=True):
        """The newest of these records with this host_ip that is alive and not about to expire (see alive)."""
        now = now_utc()
        candidates = [record for record in records
                      if record.get("host_ip") == host_ip and _remaining(record, now) > renew_before]
        if not candidates:
            return None
        alive = self.alive(candidates, trust, probe, adopt)
        return max(alive, key=lambda record: record.get("created") or "") if alive else None

    def unrecorded_sessions(self, service_id):
        """remote.it's live sessions of the service that no record here knows (the file was lost, another
        controller or the desktop app opened them)."""
        known = set()
        for record in self._records():
            known |= _session_ids(record)
        return [session for session in self.sessions()
                if session["service_id"] == service_id and session["id"] not in known]

    # -- ensure, open and close ------------------------------------------------------------------

    def ensure(self, selection, host_ip, renew_before, force=False, check_mode=False, trust=CONFIRMATION_TTL):
        """(record, reused, target): a live recorded proxy of the selected service and host_ip, else a new one.

        `selection` is a target (see _targets) or the keywords of find(). In check mode nothing is opened: record
        is None where one would be. force opens a new one anyway. Runs that ensure the same service and host_ip
        at once take turns, so forks that reach one device together (delegate_to) open one proxy, not one each.
        """
        if "service_id" in selection and "device_state" in selection:
            target = selection
        else:
            target, _records = self.find(**selection)
        if check_mode:
            return self._reusable_or_new(target, host_ip, renew_before, force, trust, check_mode)
        with self.store.exclusive("%s %s %s" % (self.client.api_url, target["service_id"], host_ip)):
            self.settle(target["service_id"])
            return self._reusable_or_new(target, host_ip, renew_before, force, trust, check_mode)

    def _reusable_or_new(self, target, host_ip, renew_before, force, trust, check_mode):
        if not force:
            # Outside check mode the caller connects to what it gets: it may probe and keep handed-over records.
            existing = self.reusable(self.recorded(target["service_id"]), host_ip, renew_before, trust,
                                     probe=not check_mode, adopt=not check_mode)
            if existing is not None:
                return existing, True, target
        if target["device_state"] is None and target["device_id"] is not None:
            target = resolve_service(self.client, device=target["device_id"], service=target["service_name"])
        require_online(target)
        if check_mode:
            return None, False, target
        return self.open(target, host_ip), False, target

    def open(self, target, host_ip):
        """Open a new proxy and record it; records of its key that expired or are gone are dropped, live ones kept.

        The intent is written to the connections file before connect is sent, and a lock is held until the answer
        is recorded, so a run that dies in between leaves a trace the next run reconciles (settle). A connect whose
        answer was lost is reconciled at once: the proxy it opened is found among the sessions and closed before
        connect is sent again.
        """
        intent_id = "intent-%s" % uuid.uuid4().hex
        with self.store.claim(intent_id):
            intent = self._write_intent(intent_id, target["service_id"], host_ip)
            connection = self._connect(intent, target, host_ip)
            record = self._record(target, host_ip, connection)
            now = now_utc()
            with self.store.update() as records:
                records[:] = [item for item in records
                              if item.get("id") != intent_id
                              and not (self._matches(item, record["service_id"], host_ip) and not item.get("intent")
                                       and (item["id"] in self._gone or is_expired(item, now)))] + [record]
        self._sessions = None
        return record

    def _connect(self, intent, target, host_ip):
        """The API's answer to connect. The intent is dropped where nothing can be left open; a run killed meanwhile
        (KeyboardInterrupt, SystemExit) leaves it for the next run to settle."""
        closed = []
        unsettled = []  # a lost answer whose proxy, if it opened one, is not closed yet

        def reconcile_lost_answer():
            unsettled.append(True)
            closed.extend(self._reconcile(intent))
            unsettled.clear()
            self._restart_intent(intent)

        try:
            return self.client.connect(target["service_id"], host_ip, after_lost_answer=reconcile_lost_answer)
        except AmbiguousResultError as exc:
            self._drop_intent(intent)
            raise RemoteitError(
                "connect to service %s failed %d times (last: %s); closed %d proxy(ies) the failed attempts had "
                "opened; nothing was recorded" % (target["service_id"], self.client.retries + 1, exc, len(closed)),
                kind="network") from None
        except UnusableConnectError as exc:
            raise self._close_unusable(exc, intent, target) from None
        except RemoteitError as exc:
            if unsettled:  # finding out what a lost connect opened failed too: its intent stays for the next run
                raise RemoteitError("%s; a connect to service %s whose answer was lost may have opened a proxy: its "
                                    "intent stays in %s, and the next open or close of this service closes that "
                                    "proxy" % (exc, target["service_id"], self.store.path), kind=exc.kind) from None
            if exc.kind == "response":  # an answer nobody can read may still have opened a proxy
                self._reconcile(intent)
            # Otherwise remote.it refused, or the request never left: nothing was opened.
            self._drop_intent(intent)
            raise

    def _close_unusable(self, error, intent, target):
        """Close the proxy of a connect answer that cannot be used, at once: by its id where the answer has one, else
        as a lost answer's. Its intent stays only where closing failed, for the next open or close to finish."""
        try:
            if error.connection_id is not None:
                self.client.disconnect(error.connection_id, target["service_id"])
                outcome = "the proxy it opened was closed"
            elif self._reconcile(intent):
                outcome = "the proxy it opened was closed"
            else:
                outcome = "remote.it lists no session that is surely the one it opened, so none was closed"
        except RemoteitError as exc:
            return RemoteitError("%s; closing the proxy it opened failed too (%s): its intent stays in %s, and the next "
                                 "open or close of this service closes it" % (error, exc, self.store.path),
                                 kind="response")
        self._drop_intent(intent)
        return RemoteitError("%s; %s, and nothing was recorded" % (error, outcome), kind="response")

    def _record(self, target, host_ip, connection):
        """The record of a new proxy, from a connect answer the client checked (see _api._connection)."""
        created = parse_time(connection["created"]) or now_utc()
        created = min(created, now_utc())  # a proxy opened in the future would be fresh for ever
        timeout = connection["timeout"]
        return {
            "id": connection["id"],
            "session_id": connection["session_id"],
            "api_url": self.client.api_url,
            "service_id": target["service_id"],
            "service_name": target.get("service_name") or connection["service_name"],
            "device_id": target.get("device_id") or connection["device_id"],
            "device_name": target.get("device_name") or connection["device_name"],
            "host": connection["host"],
            "port": connection["port"],
            "url": connection["url"],
            "reverse_proxy": connection["reverse_proxy"],
            "host_ip": host_ip,
            "created": iso(created),
            "expires_at": iso(created + datetime.timedelta(seconds=timeout)) if timeout else None,
            "timeout": timeout,
            "confirmed_at": None,
        }

    def closable(self, records):
        """The records that closing the selected service may disconnect.

        What this controller opened, it closes. A record another job handed over is closed only while remote.it
        lists its session and does not say it is another user's: whoever can set a job's variables must not be
        able to close somebody else's session with it.
        """
        handed = [record for record in records if self._is_handed(record)]
        if not handed:
            return list(records)
        ours = {session["id"] for session in self.sessions() if session.get("mine") is not False}
        return [record for record in records if not self._is_handed(record) or _session_ids(record) & ours]

    def retire(self, record):
        """Stop using a proxy that stopped answering: close it if this controller opened it; one another job handed
        over is only forgotten here, as it may answer its owner (latched to another address)."""
        if self._is_handed(record):
            self.forget([record])
        else:
            self.close([record["id"]], record["service_id"])

    def forget(self, records):
        """Drop these records here without closing anything."""
        ids = {record["id"] for record in records}
        with self.store.update() as stored:
            stored[:] = [item for item in stored if not (self._matches(item) and item.get("id") in ids)]
        self._handed = [item for item in self._handed if item["id"] not in ids]

    def close(self, connection_ids, service_id=None):
        """Disconnect each id and forget its record; returns the ids remote.it actually closed.

        A record is forgotten only once remote.it answered for it: a failure keeps it for the next try.
        """
        closed = []
        for connection_id in connection_ids:
            record_service = next((record.get("service_id") for record in self.recorded(connection_id=connection_id)),
                                  service_id)
            if self.client.disconnect(connection_id, record_service):
                closed.append(connection_id)
            with self.store.update() as records:
                records[:] = [record for record in records
                              if not self._matches(record, connection_id=connection_id)]
            self._handed = [record for record in self._handed if record["id"] != connection_id]
        self._sessions = None
        return closed

    # -- intents: connects whose answer is not recorded yet ---------------------------------------

    def _write_intent(self, intent_id, service_id, host_ip):
        intent = {"id": intent_id, "intent": True, "api_url": self.client.api_url, "service_id": service_id,
                  "host_ip": host_ip, "started": iso(now_utc())}
        with self.store.update() as records:
            records.append(intent)
        return intent

    def _restart_intent(self, intent):
        """The next connect attempt starts now: sessions it opens start after this."""
        intent["started"] = iso(now_utc())
        with self.store.update() as records:
            for record in records:
                if record.get("id") == intent["id"]:
                    record["started"] = intent["started"]

    def _drop_intent(self, intent):
        with self.store.update() as records:
            records[:] = [record for record in records if record.get("id") != intent["id"]]

    def settle(self, service_id):
        """Reconcile the intents a dead run left for this service: close what their connects opened.

        Costs nothing while no such intent exists; a query and a disconnect per orphan otherwise.
        """
        abandoned = [record for record in self.store.records()
                     if record.get("intent") and self._matches(record, service_id) and not self.store.claimed(record["id"])]
        closed = []
        for intent in abandoned:
            closed.extend(self._reconcile(intent))
            self._drop_intent(intent)
        return closed

    def _reconcile(self, intent):
        """Close the session the intent's connect opened, and nothing else; returns the ids closed.

        A session is taken for it only if it targets that service, started in the intent's window (clock skew
        allowed), is in use by nobody, is not another user's, and no record knows it. More than one such
        session cannot be told apart, so none of them is closed.
        """
        self._sessions = None
        started = parse_time(intent.get("started"))
        if started is None:
            return []
        earliest = started - datetime.timedelta(seconds=CLOCK_SKEW)
        latest = started + datetime.timedelta(seconds=self.client.request_timeout + CLOCK_SKEW)
        candidates = []
        for session in self.unrecorded_sessions(intent["service_id"]):
            opened = parse_time(session.get("timestamp"))
            if (opened is not None and earliest <= opened <= latest and session.get("connected") is not True
                    and session.get("mine") is not False):
                candidates.append(session)
        if len(candidates) != 1:
            return []
        closed = [session["id"] for session in candidates
                  if self.client.disconnect(session["id"], intent["service_id"])]
        self._sessions = None
        return closed


def handed_records(connections=None, connection=None):
    """The connection records an earlier job handed over: a list (HANDED_LIST_VAR) and one host's (HANDED_HOST_VAR).

    They are results of community.remoteit.remoteit_connection, passed through JSON, extra vars or a fact cache.
    Anything in the list that is not such a record is an error naming the variable, not silently left out; the host
    variable is ignored unless it holds a record, as playbooks also use that name for other things (a registered
    result, a lookup of the connection).
    """
    if connections is not None and (isinstance(connections, (str, bytes)) or not isinstance(connections, Sequence)):
        raise RemoteitError("%s must be a list of connection records (the connection results of "
                            "community.remoteit.remoteit_connection), not %s" % (HANDED_LIST_VAR, type(connections).__name__),
                            kind="invalid_input")
    named = [("%s[%d]" % (HANDED_LIST_VAR, index), item) for index, item in enumerate(connections or [])]
    if _is_record(connection):
        named.append((HANDED_HOST_VAR, connection))
    records = {}
    for name, item in named:
        if item in (None, ""):  # a host that had nothing to publish
            continue
        record = _handed_record(name, item)
        records.setdefault(record["id"], record)
    return list(records.values())


def _is_record(item):
    return isinstance(item, Mapping) and all(isinstance(item.get(key), str) and item.get(key)
                                             for key in ("id", "service_id", "host_ip"))


def _handed_record(name, item):
    if not _is_record(item):
        raise RemoteitError("%s is not a connection record: one has at least id, service_id and host_ip, as "
                            "community.remoteit.remoteit_connection returns it in connection" % name, kind="invalid_input")
    record = {field: item.get(field) for field in RESULT_FIELDS}
    try:
        record["port"] = int(record["port"]) if record["port"] not in (None, "") else None
        record["timeout"] = int(record["timeout"]) if record["timeout"] not in (None, "") else None
    except (TypeError, ValueError):
        raise RemoteitError("%s is not a connection record: its port and timeout must be numbers" % name,
                            kind="invalid_input") from None
    for field in ("id", "session_id", "api_url", "service_id", "service_name", "device_id", "device_name", "host",
                  "url", "host_ip", "created", "expires_at"):
        record[field] = str(record[field]) if record[field] is not None else None
    try:
        record["service_id"] = normalize_service_id(record["service_id"])
        record["host_ip"] = normalize_host_ip(record["host_ip"])
    except RemoteitError as exc:
        raise RemoteitError("%s is not a connection record: %s" % (name, exc), kind="invalid_input") from None
    record["reverse_proxy"] = _flag(record["reverse_proxy"])
    record["confirmed_at"] = None
    try:
        return _untrusted.record(record)
    except ValueError as exc:
        raise RemoteitError("%s is not a connection record: %s" % (name, exc), kind="invalid_input") from None


def _flag(value):
    """A bool handed over as JSON or as text (extra vars may carry "true"); anything else is left to the check."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return False if value is None else value


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


def port_answers(record, timeout=3.0):
    """Whether the proxy of this record accepts a TCP connection now."""
    try:
        with socket.create_connection((record.get("host"), record.get("port")), timeout=timeout):
            return True
    except (OSError, TypeError):
        return False


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
