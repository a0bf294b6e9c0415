# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A stand-in for RemoteitClient at the level of its methods, for logic above the transport."""

from __future__ import annotations

import datetime
import itertools

from ansible_collections.community.remoteit.plugins.plugin_utils import _graphql
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import AmbiguousResultError


def device(name, device_id, state="active", services=(("ssh", "01"),)):
    return {"id": device_id, "name": name, "state": state, "online": state == "active",
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

    def __init__(self, devices=(), sessions=()):
        self.devices = list(devices)
        self.session_list = list(sessions)
        self.calls = []
        self.connect_failures = []
        self.before_connect = None  # called with each attempt, to look at the world as it is sent
        self.answer = {}  # fields of the connect answer replaced, as a hostile API would answer
        self._ids = itertools.count(1)

    def iter_devices(self, name=None, state=None, application=None):
        self.calls.append(("devices", name))
        return iter([item for item in self.devices if name is None or name.lower() in item["name"].lower()])

    def devices_by_id(self, ids):
        self.calls.append(("device", ids))
        return [item for item in self.devices if item["id"] in ids]

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
