# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Event source community.remoteit.device_events: remote.it devices appearing, disappearing, coming online and
going offline, as events for ansible-rulebook."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys

DOCUMENTATION = r"""
---
module: device_events
short_description: Events when remote.it devices come online, go offline, appear or disappear
version_added: 0.1.0
description:
  - An ansible-rulebook event source that watches the devices of a remote.it account, so that a rulebook can
    configure a device behind NAT the moment it comes back online.
  - It asks remote.it for the account's devices every O(interval) seconds, one query per 1000 devices (with
    O(tags), one more for the account's tag names), and puts an
    event on the queue for each device that V(appeared), V(disappeared), came V(online) or went V(offline) since
    the last poll. A device that did not change never gets another event.
  - 'Each event is C({"remoteit": {"type": TYPE, "device": DEVICE}, "meta": {"hosts": HOST}}). DEVICE is the device
    as M(community.remoteit.remoteit_device_info) returns it (for V(disappeared), as it was last seen). HOST is the
    name the P(community.remoteit.remoteit#inventory) inventory plugin gives the device in an inventory of the
    account''s devices, so that C(run_playbook) runs on that host.'
  - Names are data that whoever registered the device chose, never templates. In every string of an event, an
    invisible U+2060 WORD JOINER follows each C({) that would start C({{), C({%) or C({#) (and a C({) that ends
    the string), and the C(#) of a C(#jinja2:) header that would set other delimiters, so that ansible-core
    cannot evaluate it when C(run_playbook) hands the event to a playbook; the text shows as it was. See the guide
    for what a rulebook or playbook that compares such names must do.
  - The first poll is the baseline and puts no event on the queue, unless O(initial=true).
  - A poll that fails, whatever the error (throttled with HTTP 429 after the client's own O(retries), a network or
    server error, a rejected key or query, an answer it cannot read), is logged and never ends the source; the
    next poll waits twice as long as the last, from twice O(interval) up to 15 minutes (or O(interval) if longer),
    and polling returns to O(interval) once a poll succeeds. Only errors in its own arguments end it, options that
    cannot work (an unknown or invalid option, no access key) at start, and an O(application) name that remote.it
    does not know when it is first looked up.
  - The source runs in ansible-rulebook's Python, which needs the Python library C(requests); see the guide
    R(Event-Driven Ansible,ansible_collections.community.remoteit.docsite.guide_eda) for a decision environment.
options:
  interval:
    description:
      - Seconds between two polls.
    type: int
    default: 60
  initial:
    description:
      - Whether the first poll puts one V(online) event on the queue for each device online at start.
      - By default it only records the devices, and the first events are the changes after it.
    type: bool
    default: false
  name_contains:
    description:
      - Watch only devices whose name contains this text, compared case-insensitively, as the option of
        M(community.remoteit.remoteit_device_info).
      - A device renamed so that it no longer matches V(disappeared); one renamed so that it matches V(appeared).
    type: str
  application:
    description:
      - Watch only devices with a service of this application type, by name such as V(ssh) or by id such as V(28),
        as the option of M(community.remoteit.remoteit_device_info).
    type: str
  tags:
    description:
      - Watch only devices with these remote.it tags (any of them, or all with O(tags_match=all)), compared
        case-insensitively, as the option of M(community.remoteit.remoteit_device_info).
      - remote.it selects the devices itself, so the account's other devices are never fetched; each poll then
        costs one more query, for the account's tag names.
      - A device that gets a tag so that it matches V(appeared); one that loses it V(disappeared). Each event's
        DEVICE has its tags in C(tags).
    type: list
    elements: str
  tags_match:
    description:
      - Whether a device needs V(any) of O(tags) or V(all) of them.
    type: str
    choices: [any, all]
    default: any
  access_key_id:
    description:
      - The remote.it access key id (R3_ACCESS_KEY_ID) that signs API requests.
      - If not set, the environment variable E(R3_ACCESS_KEY_ID) is used, then O(profile) in O(credentials_file).
    type: str
  secret_access_key:
    description:
      - The base64 secret of the access key. It is never logged.
      - If not set, the environment variable E(R3_SECRET_ACCESS_KEY) is used, then O(profile) in O(credentials_file).
    type: str
  profile:
    description:
      - The section of O(credentials_file) to read the access key from, matched case-insensitively.
      - If not set, the environment variable E(REMOTEIT_PROFILE) is used.
    type: str
    default: default
  credentials_file:
    description:
      - The remote.it credentials file, an INI file with C(R3_ACCESS_KEY_ID) and C(R3_SECRET_ACCESS_KEY) per profile.
      - If not set, the environment variable E(REMOTEIT_CREDENTIALS_FILE) is used.
    type: path
    default: ~/.remoteit/credentials
  api_url:
    description:
      - The remote.it GraphQL endpoint, such as the bundled sandbox's to try a rulebook without an account.
      - Requests go through the proxy that E(HTTPS_PROXY) (E(HTTP_PROXY) for C(http://), E(ALL_PROXY)) names, unless
        E(NO_PROXY) lists the host, by the rules of the Python library C(requests).
      - If not set, the environment variable E(REMOTEIT_API_URL) is used.
    type: str
    default: https://api.remote.it/graphql/v1
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Set E(REQUESTS_CA_BUNDLE) to trust a private CA instead of
        disabling it.
      - If not set, the environment variable E(REMOTEIT_VALIDATE_CERTS) is used.
    type: bool
    default: true
  request_timeout:
    description:
      - Seconds to wait for each HTTP request to the API.
    type: int
    default: 30
  retries:
    description:
      - How many times the client retries a request that was throttled (HTTP 429), met a gateway error or failed on
        the network, honouring C(Retry-After), before the poll counts as failed.
    type: int
    default: 3
  account_id:
    description:
      - The organisation account whose devices to watch, for access keys that belong to several accounts.
      - If not set, the environment variable E(REMOTEIT_ACCOUNT_ID) is used.
    type: str
notes:
  - An option set in the rulebook wins over its environment variable, which wins over the credentials file.
  - With O(application) given by name, the first poll also asks remote.it for its application types, once.
  - Where remote.it can reach a public URL of yours, its own online/offline webhooks and the C(ansible.eda.webhook)
    event source tell a rulebook without polling; the guide shows both.
seealso:
  - module: community.remoteit.remoteit_device_info
  - plugin: community.remoteit.remoteit
    plugin_type: inventory
  - plugin: community.remoteit.ssh
    plugin_type: connection
  - ref: ansible_collections.community.remoteit.docsite.guide_eda
    description: A rulebook that configures each device as it comes online.
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# In a rulebook's sources: the account's devices that have an SSH service, polled every minute; the key pair comes
# from the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY) or ~/.remoteit/credentials.
- community.remoteit.device_events:
    application: ssh

# The kiosks of an organisation account, every 5 minutes, with an event for each kiosk online at start.
- community.remoteit.device_events:
    account_id: "{{ remoteit_org_id }}"
    name_contains: kiosk-
    interval: 300
    initial: true

# Only the devices tagged canary in remote.it; a device tagged later appears, one untagged disappears.
- community.remoteit.device_events:
    tags: [canary]
"""


def _collections_root(path):
    """The directory holding the ansible_collections tree this file was installed in, or None.

    ansible-rulebook runs an event source by its path, so the collection's own code is importable only once
    that directory is on sys.path: .../ansible_collections/community/remoteit/extensions/eda/plugins/event_source/.
    """
    parts = os.path.abspath(path).split(os.sep)
    if len(parts) > 8 and parts[-8] == "ansible_collections":
        return os.sep.join(parts[:-8])
    return None


_ROOT = _collections_root(__file__)
if _ROOT and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# pylint: disable=wrong-import-position
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import inert, shown  # noqa: E402
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, RemoteitError  # noqa: E402
from ansible_collections.community.remoteit.plugins.plugin_utils._transport import http_library  # noqa: E402
from ansible_collections.community.remoteit.plugins.plugin_utils._devices import (  # noqa: E402
    UnknownApplication,
    application_id,
    device_matches,
    named_hosts,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import MATCHES, api_filter, checked_tags  # noqa: E402
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (  # noqa: E402
    CONNECTION_OPTIONS,
    SECRET_OPTIONS,
    build_client,
    direct_sources,
)

LOGGER = logging.getLogger("community.remoteit.device_events")

# This source's own options, name: (type, default), read like the shared ones but from the rulebook alone.
SOURCE_OPTIONS = {
    "interval": ("int", 60),
    "initial": ("bool", False),
    "name_contains": ("str", None),
    "application": ("str", None),
    "tags": ("list", None),
    "tags_match": ("str", "any"),
}
# The shared options of CONNECTION_OPTIONS the source takes: it opens no proxy, so it records none.
SHARED_OPTIONS = tuple(name for name in CONNECTION_OPTIONS if name != "connections_file")
ARGUMENTS_PLACE = "the event source's arguments in the rulebook"
# A failed poll waits twice as long as the one before, up to this many seconds (or interval, if longer).
MAX_BACKOFF = 900
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


async def main(queue, args):
    """ansible-rulebook's entry point: poll until the rulebook stops (cancels this task)."""
    await DeviceWatcher(args, os.environ).run(queue)


class DeviceWatcher:
    """The account's devices as last seen, and the events that tell a rulebook how they changed."""

    def __init__(self, args, environ):
        """Check the options and build the API client; RemoteitError (invalid_input, credentials, dependency) if they
        cannot work, which ends the source at start: no later poll could fix them."""
        unknown = sorted(name for name in args if name not in SOURCE_OPTIONS and name not in SHARED_OPTIONS
                         and not name.startswith("eda_"))  # ansible-rulebook's own, such as eda_feedback_queue
        if unknown:
            raise InvalidInputError("community.remoteit.device_events: unknown option %s; it takes: %s"
                                    % (", ".join(unknown), ", ".join(list(SOURCE_OPTIONS) + list(SHARED_OPTIONS))))
        own = {name: _option(name, kind, args.get(name), default) for name, (kind, default) in SOURCE_OPTIONS.items()}
        if own["interval"] < 1:
            raise InvalidInputError("community.remoteit.device_events: interval must be 1 second or more")
        self.interval = own["interval"]
        self.initial = own["initial"]
        self.name_contains = own["name_contains"]
        self.application = own["application"]
        self.tags = checked_tags(own["tags"], "community.remoteit.device_events: tags")
        if own["tags_match"] not in MATCHES:
            raise InvalidInputError("community.remoteit.device_events: tags_match must be %s, not %s"
                                    % (" or ".join(MATCHES), shown(own["tags_match"])))
        self.tags_match = own["tags_match"]
        self.client = build_client(connection_options(args, environ), direct_sources(args, ARGUMENTS_PLACE),
                                   LOGGER.warning)
        http_library()  # the first request would need it: a missing library ends the source now, not each poll
        self.application_id = None
        self.known = None  # device id -> (host name, device) after the baseline

    def poll(self):
        """Look at the account once and return the events since the last look (the baseline's, the first time).

        Blocking: run() calls it in a thread, so the rulebook's event loop goes on meanwhile.
        """
        if self.application and self.application_id is None:
            self.application_id = application_id(self.client, self.application)
        seen = {}
        # Host names are given over all the account's devices (of the tags), in the API's order, as the inventory
        # gives them.
        listed = self.client.iter_devices(tag=api_filter(self.client, self.tags, self.tags_match))
        for host, device in named_hosts(listed):
            if device_matches(device, name_contains=self.name_contains, application=self.application_id,
                              tags=self.tags, tags_match=self.tags_match):
                seen[device["id"]] = (host, device)
        known, self.known = self.known, seen
        if known is None:
            return [_event("online", host, device) for host, device in seen.values()
                    if self.initial and device["state"] == "active"]
        events = []
        for device_id, (host, device) in seen.items():
            before = known.get(device_id)
            if before is None:
                events.append(_event("appeared", host, device))
            elif before[1]["state"] != device["state"]:
                events.append(_event("online" if device["state"] == "active" else "offline", host, device))
        events.extend(_event("disappeared", host, device) for device_id, (host, device) in known.items()
                      if device_id not in seen)
        return events

    def backoff(self, failures):
        """Seconds to wait after `failures` polls in a row failed."""
        return min(self.interval * 2 ** failures, max(self.interval, MAX_BACKOFF))

    async def run(self, queue, sleep=asyncio.sleep):
        """Poll, put the events on the queue, wait; forever. `sleep` is the wait (tests step through polls).

        Only an `application` that remote.it does not know ends it: an error in the rulebook. Any other error of a
        poll, even one remote.it calls invalid input or one of this code's own on data it did not expect, fails
        that poll alone: what the source knew is kept, and the next poll comes later.
        """
        failures = 0
        while True:
            try:
                events = await asyncio.to_thread(self.poll)
            except UnknownApplication:
                raise
            except RemoteitError as exc:
                failures += 1
                delay = self.backoff(failures)
                LOGGER.warning("remote.it: poll %d in a row failed (%s): %s; next poll in %d s",
                               failures, exc.kind, exc, delay)
            except Exception:  # pylint: disable=broad-exception-caught
                failures += 1
                delay = self.backoff(failures)
                LOGGER.exception("remote.it: poll %d in a row failed (unexpected error); next poll in %d s",
                                 failures, delay)
            else:
                if failures:
                    LOGGER.info("remote.it: polling works again after %d failed polls", failures)
                failures = 0
                delay = self.interval
                for event in events:
                    LOGGER.info("remote.it: device %s [%s] %s", event["meta"]["hosts"],
                                event["remoteit"]["device"]["id"], event["remoteit"]["type"])
                    await queue.put(event)
            await sleep(delay)


def connection_options(args, environ):
    """The shared options: set in the rulebook, else from their environment variable, else the default."""
    options = {}
    for name in SHARED_OPTIONS:
        kind, default, variable = CONNECTION_OPTIONS[name]
        value = args.get(name)
        if value is None and variable:
            value = environ.get(variable) or None
        options[name] = _option(name, kind, value, default)
    return options


def _event(kind, host, device):
    return inert({"remoteit": {"type": kind, "device": device}, "meta": {"hosts": host}})


def _option(name, kind, value, default):
    """An option's value as its type says; a string (from the environment or a template) is converted."""
    if value is None:
        return default
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return str(value).strip().lower() in TRUE_WORDS
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            return int(value)
    elif kind == "list":
        if isinstance(value, list):
            return value  # its items are checked where they are used (checked_tags)
        if isinstance(value, str):
            return [item.strip() for item in value.split(",")]  # as Ansible reads a list option given as text
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
    elif isinstance(value, (str, int)) and not isinstance(value, bool):  # application: 28 is a YAML integer
        return str(value)
    raise InvalidInputError("community.remoteit.device_events: %s must be %s, not %s"
                            % (name, {"bool": "true or false", "int": "a whole number"}.get(kind, "a string"),
                               "that" if name in SECRET_OPTIONS else shown(value)))
