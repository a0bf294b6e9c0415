# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the collection derives from a device as RemoteitClient.iter_devices lists it.

remoteit_device_info and the event source device_events select devices with the same filters, and the
inventory plugin and device_events name a device's host the same way, so a rulebook's event reaches the host
that the inventory made of that device.
"""

from __future__ import annotations

import re

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, ResponseError
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import has_tags
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import listed_names

UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")
# A host name appears in every line Ansible prints about the host; a device's name may be 10 kB long.
MAX_HOST_NAME = 100


class UnknownApplication(InvalidInputError):
    """An application name that remote.it's application types do not have: an error in the caller's arguments."""


def application_id(client, application):
    """An application type id from an id or a name such as ssh, as remote.it's device filter needs."""
    if application.strip().isdigit():
        return int(application)
    types = client.application_types()
    for item in types:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == application.strip().lower():
            try:
                return int(item.get("id"))
            except (TypeError, ValueError, OverflowError):
                raise ResponseError("malformed API response: application type %s has no whole-number id"
                                    % shown(item.get("name"))) from None
    known = listed_names(sorted(str(item.get("name")) for item in types if isinstance(item, dict)))
    raise UnknownApplication("unknown application %s; remote.it knows: %s" % (shown(application), known))


def device_matches(device, name=None, name_contains=None, state=None, application=None, tags=None, tags_match="any"):
    """Whether a device passes the filters of remoteit_device_info; `application` is an id (application_id).

    Names and tags compare case-insensitively. The API documents its own filters loosely (on services, not devices),
    so a caller that also asks the API to filter still checks here.
    """
    if not has_tags(device, tags, tags_match):
        return False
    if name and device["name"].lower() != name.lower():
        return False
    if name_contains and name_contains.lower() not in device["name"].lower():
        return False
    if state and device["state"] != state:
        return False
    return application is None or any(service["application"] == application for service in device["services"])


def named_hosts(devices):
    """(host name, device) for each device: its name made safe as a host name and cut to MAX_HOST_NAME characters,
    kept apart from a same-named device listed before it by the end of its id.

    `devices` is the device list in the order the API lists it: the account's whole list, or the devices of the
    tags that the inventory plugin or device_events selects by. Both name hosts over it before any filter of theirs,
    so that both give a device the same name when they select the same tags.
    """
    taken = set()
    for device in devices:
        name = UNSAFE_CHARACTERS.sub("_", device["name"])[:MAX_HOST_NAME] or "device"
        if name in taken:
            name = "%s_%s" % (name, device["id"].replace(":", "")[-8:].lower())
        taken.add(name)
        yield name, device
