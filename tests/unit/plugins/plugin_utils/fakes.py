# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A stand-in for RemoteitClient at the level of its methods, for logic above the transport."""

from __future__ import annotations

import datetime
import itertools

from ansible_collections.community.remoteit.plugins.plugin_utils import _graphql
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import AmbiguousResultError, RemoteitError


def device(name, device_id, state="active", services=(("ssh", "01"),), tags=()):
    return {"id": device_id, "name": name, "state": state, "online": state == "active", "tags": list(tags),
            "services": [{"id": device_id[:-2] + suffix, "name": service_name, "application": 28,
                          "application_name": "SSH", "port": 22, "host": "localhost", "state": "active",
                          "enabled": True} for service_name, suffix in services]}


class FakeClient:
    """Devices and sessions in memory; connect behaves like RemoteitClient.connect over its retry loop.

    connect_failures holds what each connect attempt meets, in order: an AmbiguousResultError opens a proxy
    and loses the answer, any other error is a refusal that opens nothing.
    """

    api_url = "https://api.example/graphql/v1"
    retries = 2
    request_timeout = 30

    def __init__(self, devices=(), sessions=(), account_tags=None):
        self.devices = list(devices)
        # The account's tag names (by default, those its devices hold), and how tag mutations answer: see the
        # sandbox's switches of the same names (tests/sandbox/README.md, "The API's unknowns").
        self.tag_names = list(account_tags) if account_tags is not None else list(
            dict.fromkeys(tag for item in self.devices for tag in item["tags"]))
        self.tags_case_sensitive = True
        self.add_tag_undefined = "create"
        self.remove_tag_absent = "true"
        self.tag_device_id = "accepted"
        self.session_list = list(sessions)
        self.calls = []
        self.connect_failures = []
        self.before_connect = None  # called with each attempt, to look at the world as it is sent
        self.answer = {}  # fields of the connect answer replaced, as a hostile API would answer
        self._ids = itertools.count(1)

    def iter_devices(self, name=None, state=None, application=None, tag=None):
        self.calls.append(("devices", name) if tag is None else ("devices", name, tag))
        return iter([item for item in self.devices
                     if (name is None or name.lower() in item["name"].lower()) and self._tagged(item, tag)])

    def devices_by_id(self, ids):
        self.calls.append(("device", ids))
        return [dict(item, tags=list(item["tags"])) for item in self.devices if item["id"] in ids]

    def _same_tag(self, held, given):
        return held == given if self.tags_case_sensitive else held.casefold() == given.casefold()

    def _tagged(self, item, tag):
        if tag is None:
            return True
        found = [any(self._same_tag(held, value) for held in item["tags"]) for value in tag["values"]]
        return all(found) if tag["operator"] == "ALL" else any(found)

    def account_tags(self):
        self.calls.append(("tags",))
        return list(self.tag_names)

    def define_tags(self, names):
        self.calls.append(("setTag", names))
        self.tag_names += [name for name in names if not any(self._same_tag(held, name) for held in self.tag_names)]
        return True

    def _tag_targets(self, ids):
        """The devices that serviceId names, as the sandbox's tag_device_id says; a GraphQL error for any other id."""
        targets = []
        for given in ids:
            found = [item for item in self.devices
                     if (given == item["id"] and self.tag_device_id == "accepted")
                     or any(given == service["id"] for service in item["services"])]
            if not found:
                raise RemoteitError("remote.it API error: Service not found: %s" % given)
            targets.extend(found)
        return targets

    def add_tags(self, names, ids):
        self.calls.append(("addTag", names, ids))
        targets = self._tag_targets(ids)
        for name in names:
            if not any(self._same_tag(held, name) for held in self.tag_names):
                if self.add_tag_undefined == "error":
                    raise RemoteitError("remote.it API error: Tag not found: %s" % name)
                self.tag_names.append(name)
        for item in targets:
            item["tags"] = item["tags"] + [name for name in names if not any(self._same_tag(held, name) for held in item["tags"])]
        return True

    def remove_tags(self, names, ids):
        self.calls.append(("removeTag", names, ids))
        targets = self._tag_targets(ids)
        absent = [name for name in names for item in targets if not any(self._same_tag(held, name) for held in item["tags"])]
        if absent and self.remove_tag_absent == "error":
            raise RemoteitError("remote.it API error: Tag %s is not on that service" % absent[0])
        for item in targets:
            item["tags"] = [held for held in item["tags"] if not any(self._same_tag(held, name) for name in names)]
        return not absent or self.remove_tag_absent == "true"

    def sessions(self):
        self.calls.append(("sessions",))
        return list(self.session_list)

    def add_session(self, service_id, connection_id=None, age=0, connected=False, mine=True):
        """A live session as remote.it lists it, opened `age` seconds ago."""
        connection_id = connection_id or "conn-%d" % next(self._ids)
        opened = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age)
        self.session_list.append({"id": connection_id, "timestamp": opened.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  "service_id": service_id, "connected": connected, "mine": mine})
        return connection_id

    def connect(self, service_id, host_ip, after_lost_answer=None):
        for attempt in itertools.count():
            self.calls.append(("connect", service_id, host_ip))
            if self.before_connect:
                self.before_connect()
            if not self.connect_failures:
                connection_id = self.add_session(service_id)
                return _graphql.connection(dict({
                    "id": connection_id, "host": "proxy.example", "port": 33000, "url": "tcp://proxy.example:33000",
                    "reverseProxy": False, "created": self.session_list[-1]["timestamp"], "timeout": 28800,
                    "session": {"id": connection_id,
                                "target": {"name": "ssh", "device": {"id": "80:00:00:00:00:00:00:0D", "name": "dev"}}}},
                    **self.answer))
            failure = self.connect_failures.pop(0)
            if not isinstance(failure, AmbiguousResultError):
                raise failure  # refused: nothing opened
            self.add_session(service_id)  # opened, but the answer is lost
            if after_lost_answer is None:
                raise failure
            after_lost_answer()
            if attempt == self.retries:
                raise failure
            self.pause(attempt)

    def pause(self, attempt, response=None):
        self.calls.append(("pause", attempt))

    def disconnect(self, connection_id, service_id=None):
        self.calls.append(("disconnect", connection_id))
        before = len(self.session_list)
        self.session_list = [item for item in self.session_list if item["id"] != connection_id]
        return len(self.session_list) < before

    def count(self, kind):
        return sum(1 for call in self.calls if call[0] == kind)
