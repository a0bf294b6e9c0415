# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The proxy manager every module, lookup, inventory and connection plugin talks to.

It selects, reuses, opens and closes proxies through the rules of _records (what a record is), _liveness (live,
gone or cannot be told) and _lifecycle (open, close, reconcile), so those rules exist once.
"""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._api import id_key, is_service_id, same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._lifecycle import Lifecycle
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import (
    CONFIRMATION_TTL,
    GONE,
    LIVE,
    UNRECOGNISED,
    UNUSED,
    Sessions,
    lifetime_left,
    port_answers,
    trusted,
    verdict,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    iso,
    matches,
    names_match,
    now_utc,
    session_keys,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import (
    recorded_target,
    require_online,
    resolve_service,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown


class ProxyManager:
    """The one place that finds, opens, reuses and closes proxies, keeping the connections file in step with remote.it.

    Modules, the lookup and the inventory plugin are adapters over it, so the rules for selecting a service,
    for reuse, for retries and for reconciling lost answers exist once.
    """

    def __init__(self, client, store, handed=(), warn=None, read_only=False):
        """`handed`: records an earlier job handed over as data (see _records.handed_records); used as if they were in
        the connections file once remote.it confirms them, and then written into it. `warn` takes warnings about
        handed records of another API endpoint and about proxies that could not be closed. `read_only`: what this
        manager learns is never written to the connections file (a lookup, an info module, check mode)."""
        self.client = client
        self.store = store
        self.read_only = read_only
        self._warn = warn
        self._sessions = Sessions(client)
        self._lifecycle = Lifecycle(client, store, self._sessions, self._records, self._warning)
        self._gone = set()  # keys of records remote.it no longer lists, found out in this run
        self._unrecognised = set()  # keys of records remote.it never listed and that are too old to be unused
        foreign = sorted({record["api_url"] for record in handed if record["api_url"] not in (None, client.api_url)})
        if foreign:
            self._warning("ignored the connection records handed over for another API endpoint (%s); this task uses %s"
                          % (", ".join(foreign), client.api_url))
        self._handed = [dict(record, api_url=client.api_url) for record in handed
                        if record["api_url"] in (None, client.api_url)]

    def _warning(self, message):
        if self._warn is not None:
            self._warn(message)

    # -- selection -----------------------------------------------------------------------------

    def recorded(self, service_id=None, host_ip=None, connection_id=None):
        """The records of this API endpoint (not intents) that match, the file's and those handed over."""
        return [record for record in self._records(service_id)
                if not record.get("intent") and matches(record, self.client.api_url, service_id, host_ip, connection_id)]

    def recorded_by_id(self, connection_id, service_id=None):
        """The records of a connection id: looked for among the service's records first, which is cheap, then among
        all (the service given may not be the record's)."""
        return ((service_id and self.recorded(service_id, connection_id=connection_id))
                or self.recorded(connection_id=connection_id))

    def _records(self, service_id=None):
        """The file's records, then the handed-over ones it does not hold (the file's copy knows more, whatever service
        a handed record claims); of one service only if given, which is all a task needs and costs it about the same
        whatever the file holds."""
        handed = [record for record in self._handed if service_id is None or same_id(record["service_id"], service_id)]
        records = self.store.records() if service_id is None else self.store.records(
            [service_id], ids=[record["id"] for record in handed])
        known = {id_key(record.get("id")) for record in records}
        return records + [record for record in handed if id_key(record["id"]) not in known]

    def _is_handed(self, record):
        """Whether another job opened this record: handed over now, or earlier and kept in the file since."""
        return bool(record.get("handed_over")) or self._is_new_here(record)

    def _is_new_here(self, record):
        """Handed over and not in the file yet: remote.it has not confirmed it to this machine."""
        return any(record is handed for handed in self._handed)

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
            found = [record for record in self.recorded() if names_match(record, device, service)]
            if len({id_key(record["service_id"]) for record in found}) == 1:
                return recorded_target(found[-1]), found
        target = resolve_service(self.client, service_id, device, service)
        return target, self.recorded(target["service_id"])

    # -- liveness ------------------------------------------------------------------------------

    def sessions(self):
        """remote.it's live sessions, asked once per manager (again after anything was opened or closed)."""
        return self._sessions.listed()

    def alive(self, records, trust=CONFIRMATION_TTL, probe=False, adopt=True, margin=0):
        """The subset of records remote.it still reports open (see _liveness.verdict), asking it at most once.

        A record opened or confirmed less than `trust` seconds ago is taken as alive without asking. One handed
        over from another job is always asked about once, and written into the connections file if alive
        (`adopt`). remote.it may not list a proxy nobody has used yet: such a handed record is alive only where
        the caller is about to connect to it anyway (`probe`) and its port answers, as a probe latches it.
        """
        now = now_utc()
        records = [record for record in records if lifetime_left(record, now) > 0]
        fresh = [record for record in records if not self._is_new_here(record) and trusted(record, now, trust)]
        to_check = [record for record in records if not any(record is done for done in fresh)]
        if not to_check:
            return fresh
        live_keys = self._sessions.live_keys()
        listed, unused = [], []
        for record in to_check:
            found = verdict(record, live_keys, now, margin)
            if found == LIVE:
                listed.append(record)
            elif found == UNUSED and (not self._is_new_here(record) or (probe and port_answers(record))):
                unused.append(record)
            elif found == UNRECOGNISED:
                self._unrecognised.add(id_key(record["id"]))
            elif found in (GONE, UNUSED):
                self._gone.add(id_key(record["id"]))
        adopted = [record for record in listed + unused if self._is_new_here(record)] if adopt else []
        if listed or adopted:
            self._mark_confirmed(listed, iso(now), adopted)
        return fresh + listed + unused

    def _mark_confirmed(self, listed, when, adopted=()):
        """Note remote.it's confirmation of the listed records, and keep the handed-over records it holds from now on:
        in the connections file, unless this manager is read-only."""
        keys = {id_key(record["id"]) for record in listed}
        for record in adopted:
            record["handed_over"] = True
            if id_key(record["id"]) in keys:
                record["confirmed_at"] = when
        if self.read_only:
            return
        with self.store.update([record["service_id"] for record in list(listed) + list(adopted)],
                               ids=[record["id"] for record in adopted]) as records:
            for record in records:
                if id_key(record.get("id")) in keys and matches(record, self.client.api_url):
                    record["confirmed_at"] = when
            known = {id_key(record.get("id")) for record in records}
            records.extend(dict(record) for record in adopted if id_key(record["id"]) not in known)
        self._handed = [record for record in self._handed if not any(record is done for done in adopted)]

    def reusable(self, records, host_ip, renew_before, trust=CONFIRMATION_TTL, probe=False, adopt=True):
        """The newest of these records with this host_ip that is alive with more than renew_before seconds left of
        its lifetime, and, if remote.it never listed it, enough left of its idle time (see _liveness.verdict); or None."""
        now = now_utc()
        candidates = [record for record in records
                      if record.get("host_ip") == host_ip and lifetime_left(record, now) > renew_before]
        if not candidates:
            return None
        alive = self.alive(candidates, trust, probe, adopt and not self.read_only, margin=renew_before)
        return max(alive, key=lambda record: record.get("created") or "") if alive else None

    def unrecorded_sessions(self, service_id):
        """remote.it's live sessions of the service that no record here knows (the file was lost, another
        controller or the desktop app opened them)."""
        return self._lifecycle.unrecorded_sessions(service_id)

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
        if check_mode or self.read_only:
            return self._reusable_or_new(target, host_ip, renew_before, force, trust, check_mode=True)
        with self.store.exclusive("%s %s %s" % (self.client.api_url, id_key(target["service_id"]), host_ip)):
            self.settle(target["service_id"])
            return self._reusable_or_new(target, host_ip, renew_before, force, trust, check_mode=False)

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
        """Open a new proxy and record it (see _lifecycle.Lifecycle.open). Records of its key that remote.it no longer
        lists are dropped; those it never listed and that are too old to be unused are closed, not dropped: a proxy
        whose session this controller cannot recognise may still be open."""
        same_key = self.recorded(target["service_id"], host_ip)
        unrecognised = [record for record in same_key if id_key(record["id"]) in self._unrecognised]
        record = self._lifecycle.open(target, host_ip, superseded=[
            record["id"] for record in same_key if id_key(record["id"]) in self._gone])
        for stale in unrecognised:
            self._close_quietly(stale)
        return record

    def _close_quietly(self, record):
        """Close a record this run stopped trusting; where that fails, it stays for the next run, with a warning."""
        try:
            if self._is_handed(record):
                self.forget([record])
            else:
                self.close([record["id"]], record["service_id"])
        except RemoteitError as exc:
            self._warning("could not close the proxy %s that remote.it never listed as this controller's (%s); its "
                          "record stays in %s for the next run to close" % (record["id"], exc, self.store.path))

    def closable(self, records):
        """The records that closing the selected service may disconnect.

        What this controller opened, it closes. A record another job handed over is closed only while remote.it
        lists its session and does not say it is another user's: whoever can set a job's variables must not be
        able to close somebody else's session with it.
        """
        handed = [record for record in records if self._is_handed(record)]
        if not handed:
            return list(records)
        ours = {id_key(session["id"]) for session in self.sessions() if session.get("mine") is not False}
        return [record for record in records if not self._is_handed(record) or session_keys(record) & ours]

    def retire(self, record):
        """Stop using a proxy that stopped answering: close it if this controller opened it; one another job handed
        over is only forgotten here, as it may answer its owner (latched to another address)."""
        if self._is_handed(record):
            self.forget([record])
        else:
            self.close([record["id"]], record["service_id"])

    def forget(self, records):
        """Drop these records here without closing anything."""
        self._forget({id_key(record["id"]) for record in records}, [record["service_id"] for record in records])

    def _forget(self, keys, services=None):
        if not self.read_only:
            with self.store.update(services) as stored:
                stored[:] = [item for item in stored
                             if not (matches(item, self.client.api_url) and id_key(item.get("id")) in keys)]
        self._handed = [item for item in self._handed if id_key(item["id"]) not in keys]

    def close(self, connection_ids, service_id=None):
        """Disconnect each id and forget its record; returns the ids remote.it actually closed.

        A record is forgotten once remote.it closed it or it is gone (see _lifecycle.Lifecycle.close); a failure
        raises and keeps it, saying so, for the next try.
        """
        closed = []
        for given in connection_ids:
            record = next(iter(self.recorded_by_id(given, service_id)), None)
            connection_id = record["id"] if record else given  # the id as remote.it gave it
            try:
                if self._lifecycle.close(connection_id, record["service_id"] if record else service_id, record):
                    closed.append(connection_id)
            except RemoteitError as exc:
                if record is None:
                    raise
                raise type(exc)("%s; its record stays in %s for the next try" % (exc, self.store.path),
                                status=exc.status, field=exc.field) from None
            self._forget({id_key(connection_id)}, [record["service_id"]] if record else None)
        self._sessions.changed()
        return closed

    def settle(self, service_id):
        """Reconcile the intents a dead run left for this service: close what their connects opened."""
        return self._lifecycle.settle(service_id)


def parse_selector(text):
    """A service id, "device/service", or a device name alone, as lookups and filters accept them."""
    text = (text or "").strip()
    if is_service_id(text):
        return {"service_id": text, "device": None, "service": None}
    device, slash, service = text.rpartition("/")
    if not slash:
        device, service = text, None
    if not device or (slash and not service):
        raise InvalidInputError("%s does not select a service: use a service id, DEVICE/SERVICE, or DEVICE" % shown(text))
    return {"service_id": None, "device": device, "service": service}
