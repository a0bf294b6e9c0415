# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Opening and closing proxies so that nothing stays open that no record knows, whatever remote.it answers.

An intent is written before connect is sent, an answer that was lost or cannot be used is reconciled at once, and
whether a connection is gone is decided from the sessions remote.it lists, never from an error's wording.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import threading
import uuid

from ansible_collections.community.remoteit.plugins.plugin_utils._api import id_key, same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AmbiguousResultError,
    CredentialsError,
    DependencyError,
    EndpointError,
    NetworkError,
    RemoteitError,
    ResponseError,
    TlsError,
    UnusableConnectError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import CLOCK_SKEW, is_expired
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    RUN_ID_FIELD,
    iso,
    matches,
    now_utc,
    parse_time,
    session_keys,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import RUN_ID_RE

# Failures of a request that never reached remote.it's word on anything: no answer, or not the API's.
NO_ANSWER = (NetworkError, TlsError, EndpointError, CredentialsError, DependencyError)
# Carries the run id from the controller to the workers it forks (see run_id).
RUN_ID_VARIABLE = "REMOTEIT_ANSIBLE_RUN_ID"
_RUN_ID_LOCK = threading.Lock()  # the inventory plugin opens proxies from threads: one id for them all


def run_id(inherited=True):
    """The id of the ansible-playbook run this process belongs to, which the records of the proxies it opens carry, so
    that the close_opened callback closes those and no others.

    The controller makes it (the callback as it loads, or the inventory plugin as it opens proxies before that) and the
    workers it forks, where modules and the connection plugin run, inherit it. It starts with the pid of the controller
    that made it: one made elsewhere (an ansible-playbook that a task started inherits its starter's) is replaced,
    so no run takes another's proxies for its own. `inherited`: whether the parent process's id counts (in a worker)."""
    # A worker is a multiprocessing child of its controller; an ansible-playbook that a lookup of the controller
    # started is not, and must not take the outer run's id for its own.
    worker = inherited and multiprocessing.parent_process() is not None
    owners = (str(os.getpid()), str(os.getppid())) if worker else (str(os.getpid()),)
    with _RUN_ID_LOCK:
        value = os.environ.get(RUN_ID_VARIABLE, "")
        if not RUN_ID_RE.match(value) or value.partition("-")[0] not in owners:
            value = "%d-%s" % (os.getpid(), uuid.uuid4().hex)
            os.environ[RUN_ID_VARIABLE] = value
        return value


def refused_this_connection(error):
    """Whether a failed disconnect is remote.it's refusal of this very connection, whatever its words: a GraphQL
    error about disconnect, or a malformed answer. A request that got no such answer (the network, a wrong endpoint,
    an access key rejected as a whole, a server error) says nothing about the connection."""
    if isinstance(error, NO_ANSWER):
        return False
    if error.field is not None:
        return error.field == "disconnect"
    return error.status is None or error.status < 400


class Lifecycle:
    """Opens, closes and reconciles the proxies of one API endpoint, writing each step to the connections file."""

    def __init__(self, client, store, sessions, records, warn):
        """`records()` returns every record a session may belong to: the file's, and those handed over from other jobs.
        `warn` takes a warning about a proxy that could not be closed."""
        self.client = client
        self.store = store
        self.sessions = sessions
        self._records = records
        self._warn = warn

    # -- open ----------------------------------------------------------------------------------

    def open(self, target, host_ip, superseded=()):
        """Open a new proxy and record it, dropping the records of `superseded` ids (gone or expired ones of its key).

        The intent is written to the connections file before connect is sent, and a lock is held until the answer
        is recorded, so a run that dies in between leaves a trace the next run reconciles (settle). A connect whose
        answer was lost is reconciled at once: the proxy it opened is found among the sessions and closed before
        connect is sent again.
        """
        intent_id = "intent-%s" % uuid.uuid4().hex
        dropped = {id_key(connection_id) for connection_id in superseded}
        with self.store.claim(intent_id):
            intent = self._write_intent(intent_id, target["service_id"], host_ip)
            connection = self._connect(intent, target, host_ip)
            record = self._record(target, host_ip, connection)
            now = now_utc()
            with self.store.update([target["service_id"]]) as records:
                records[:] = [item for item in records
                              if item.get("id") != intent_id
                              and not (matches(item, self.client.api_url, record["service_id"], host_ip)
                                       and not item.get("intent")
                                       and (id_key(item["id"]) in dropped or is_expired(item, now)))] + [record]
        self.sessions.changed()
        return record

    def _connect(self, intent, target, host_ip):
        """The API's answer to connect. The intent is dropped where nothing can be left open; a run killed meanwhile
        (KeyboardInterrupt, SystemExit) leaves it for the next run to settle."""
        closed = []
        unsettled = []  # a lost answer whose proxy, if it opened one, is not closed yet

        def reconcile_lost_answer():
            unsettled.append(True)
            closed.extend(self.reconcile(intent))
            unsettled.clear()
            self._restart_intent(intent)

        try:
            return self.client.connect(target["service_id"], host_ip, after_lost_answer=reconcile_lost_answer)
        except AmbiguousResultError as exc:
            self._drop_intent(intent)
            raise NetworkError(
                "connect to service %s failed %d times (last: %s); closed %d proxy(ies) the failed attempts had "
                "opened; nothing was recorded" % (target["service_id"], self.client.retries + 1, exc, len(closed))
            ) from None
        except UnusableConnectError as exc:
            raise self._close_unusable(exc, intent, target) from None
        except RemoteitError as exc:
            if unsettled:  # finding out what a lost connect opened failed too: its intent stays for the next run
                raise type(exc)("%s; a connect to service %s whose answer was lost may have opened a proxy: its "
                                "intent stays in %s, and the next open or close of this service closes that proxy"
                                % (exc, target["service_id"], self.store.path), status=exc.status) from None
            if isinstance(exc, ResponseError):  # an answer nobody can read may still have opened a proxy
                self.reconcile(intent)
            # Otherwise remote.it refused, or the request never left: nothing was opened.
            self._drop_intent(intent)
            raise

    def _close_unusable(self, error, intent, target):
        """Close the proxy of a connect answer that cannot be used, at once: by its id where the answer has one, else
        as a lost answer's. Its intent stays only where closing failed, for the next open or close to finish."""
        try:
            if error.connection_id is not None:
                outcome = ("the proxy it opened was closed" if self.close(error.connection_id, target["service_id"])
                           else "remote.it says the proxy it opened is closed already")
            elif self.reconcile(intent):
                outcome = "the proxy it opened was closed"
            else:
                outcome = "remote.it lists no session that is surely the one it opened, so none was closed"
        except RemoteitError as exc:
            return ResponseError("%s; closing the proxy it opened failed too (%s): its intent stays in %s, and the "
                                 "next open or close of this service closes it" % (error, exc, self.store.path))
        self._drop_intent(intent)
        return ResponseError("%s; %s, and nothing was recorded" % (error, outcome))

    def _record(self, target, host_ip, connection):
        """The record of a new proxy, from a connect answer the client checked (see _graphql)."""
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
            RUN_ID_FIELD: run_id(),
        }

    # -- close ---------------------------------------------------------------------------------

    def close(self, connection_id, service_id, record=None):
        """True when this call closed the connection, False when it was gone already; raises while it may be open.

        Gone is remote.it's word: disconnect answered false, or it refused this connection (see
        refused_this_connection) and no longer lists its session (under the connection's id or the session id `record`
        knows). Any other failure raises, and the caller keeps the record.
        """
        try:
            return self.client.disconnect(connection_id, service_id)
        except RemoteitError as exc:
            if not refused_this_connection(exc):
                raise
            refusal = exc
        self.sessions.changed()
        keys = session_keys(record) if record else {id_key(connection_id)}
        if keys & self.sessions.live_keys():
            raise type(refusal)("closing connection %s failed, and remote.it still lists it: %s"
                                % (connection_id, refusal), status=refusal.status, field=refusal.field)
        return False

    # -- intents: connects whose answer is not recorded yet ---------------------------------------

    def _write_intent(self, intent_id, service_id, host_ip):
        intent = {"id": intent_id, "intent": True, "api_url": self.client.api_url, "service_id": service_id,
                  "host_ip": host_ip, "started": iso(now_utc())}
        with self.store.update([service_id]) as records:
            records.append(intent)
        return intent

    def _restart_intent(self, intent):
        """The next connect attempt starts now: sessions it opens start after this."""
        intent["started"] = iso(now_utc())
        with self.store.update([intent["service_id"]]) as records:
            for record in records:
                if record.get("id") == intent["id"]:
                    record["started"] = intent["started"]

    def _drop_intent(self, intent):
        with self.store.update([intent["service_id"]]) as records:
            records[:] = [record for record in records if record.get("id") != intent["id"]]

    def settle(self, service_id):
        """Reconcile the intents a dead run left for this service: close what their connects opened.

        Costs nothing while no such intent exists; a query and a disconnect per orphan otherwise.
        """
        abandoned = [record for record in self.store.records([service_id])
                     if record.get("intent") and matches(record, self.client.api_url, service_id)
                     and not self.store.claimed(record["id"])]
        closed = []
        for intent in abandoned:
            closed.extend(self.reconcile(intent))
            self._drop_intent(intent)
        return closed

    def reconcile(self, intent):
        """Close the session the intent's connect opened, and nothing else; returns the ids closed.

        A session is taken for it only if it targets that service, started in the intent's window (clock skew
        allowed), is in use by nobody, is not another user's, and no record knows it. More than one such
        session cannot be told apart, so none of them is closed.
        """
        self.sessions.changed()
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
        (session,) = candidates
        try:
            closed = [session["id"]] if self.close(session["id"], intent["service_id"]) else []
        except RemoteitError as exc:
            if not refused_this_connection(exc):
                raise
            # remote.it lists it under a session id of its own and closes connections only by theirs, which nobody
            # received: nothing can close it, and as nobody knows its address, nobody uses it until it idles out.
            self._warn("remote.it lists a session %s that a connect whose answer was lost opened, and refuses to close "
                       "it by that id (%s): it closes on its own once idle, in about 15 minutes" % (session["id"], exc))
            closed = []
        self.sessions.changed()
        return closed

    def unrecorded_sessions(self, service_id):
        """remote.it's live sessions of the service that no record knows (the file was lost, another controller or
        the desktop app opened them)."""
        known = set()
        for record in self._records():  # any record, of any service, may know a session: never close one it knows
            known |= session_keys(record)
        return [session for session in self.sessions.listed()
                if same_id(session["service_id"], service_id) and id_key(session["id"]) not in known]
