# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Turning what a user names (a service id, or a device and service name) into one remote.it service."""

from __future__ import annotations

import itertools

from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import bounded, shown
from ansible_collections.community.remoteit.plugins.plugin_utils._api import checked_service_id, is_service_id, same_id
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    OfflineError,
)

MAX_LISTED = 20
MAX_NAME = 60
# remote.it's application types HTTP and HTTPS, which it serves through reverse proxies (a URL, no port).
REVERSE_PROXY_APPLICATIONS = (7, 8)


def resolve_service(client, service_id=None, device=None, service=None):
    """Return the selected service as a target: service and device ids, names and states.

    A bare service_id costs no API call: remote.it reports the names when the connection opens, and
    refuses to connect to an inactive device itself.
    """
    if service_id:
        return {"service_id": checked_service_id(service_id), "service_name": None,
                "device_id": None, "device_name": None, "device_state": None, "service_state": None}
    if not device:
        raise InvalidInputError("select the service with service_id, or with device (and service)")
    found = find_device(client, device)
    return service_target(found, _pick_service(found, service))


def service_target(device, service):
    """The target of one service of a device as the API listed it (see RemoteitClient.iter_devices); its application
    type tells a service remote.it serves through a reverse proxy before anything is opened."""
    return {"service_id": service["id"], "service_name": service["name"],
            "device_id": device["id"], "device_name": device["name"],
            "device_state": device["state"], "service_state": service.get("state"),
            "application": service.get("application")}


def recorded_target(record):
    """The target a connection record was opened for, as far as it tells (its states are the API's to say)."""
    return {"service_id": record["service_id"], "service_name": record.get("service_name"),
            "device_id": record.get("device_id"), "device_name": record.get("device_name"),
            "device_state": None, "service_state": None}


def require_online(target):
    """Fail clearly before connecting to a device or service that the API listed as not running."""
    if target["device_state"] not in (None, "active"):
        raise OfflineError("device %s is offline (state %s): remote.it can only connect to active devices"
                           % (shown(target["device_name"]), shown(target["device_state"])))
    if target["service_state"] not in (None, "active"):
        raise OfflineError("service %s of device %s is not running (state %s)"
                           % (shown(target["service_name"]), shown(target["device_name"]), shown(target["service_state"])))


def find_device(client, device):
    """The one device whose id, or whose name, is `device`; both compare without regard to case."""
    if is_service_id(device):
        matches = [item for item in client.devices_by_id([device]) if same_id(item["id"], device)]
        if matches:
            return matches[0]
    candidates = list(client.iter_devices(name=device))
    matches = [item for item in candidates if item["name"].lower() == device.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise AmbiguousError(
            "device name %s is ambiguous: %d devices match (%s). Select it by device id or service_id instead."
            % (shown(device), len(matches), listed("%s [%s]" % (shown(item["name"]), item["id"]) for item in matches)))
    if candidates:
        listing = "devices whose name contains it: %s" % listed_names(item["name"] for item in candidates)
    else:
        listing = "your devices: %s" % (listed_names(item["name"] for item in client.iter_devices()) or "none")
    raise NotFoundError("no device named %s; %s%s" % (shown(device), listing, _slash_hint(device)))


def _slash_hint(device):
    """DEVICE/SERVICE is the lookup's syntax; a module given it as its device needs the two options instead."""
    name, slash, service = device.rpartition("/")
    if not (slash and name and service):
        return ""
    return (". DEVICE/SERVICE is the lookup's syntax: the modules take the service as an option of its own "
            "(use device: %s and service: %s)" % (name, service))


def _pick_service(device, service):
    services = device["services"]
    listing = listed_names(item["name"] for item in services) or "none"
    if service is None:
        if len(services) == 1:
            return services[0]
        raise AmbiguousError("device %s has %d services (%s): choose one with service (DEVICE/SERVICE in the lookup)"
                             % (shown(device["name"]), len(services), listing))
    matches = [item for item in services if item["name"].lower() == service.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousError("service name %s is ambiguous on device %s (%s): use service_id instead"
                             % (shown(service), shown(device["name"]), listed(item["id"] for item in matches)))
    raise NotFoundError("device %s has no service named %s; its services: %s"
                        % (shown(device["name"]), shown(service), listing))


def listed_names(names):
    """Names for a message: each bounded (names are chosen by whoever registered a device), at most MAX_LISTED."""
    return listed(bounded(name, MAX_NAME) for name in names)


def listed(texts):
    """At most MAX_LISTED texts for a message, comma-separated."""
    texts = list(itertools.islice(texts, MAX_LISTED + 1))
    return ", ".join(texts[:MAX_LISTED]) + (", ..." if len(texts) > MAX_LISTED else "")
