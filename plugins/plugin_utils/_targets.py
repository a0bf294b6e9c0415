# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Turning what a user names (a service id, or a device and service name) into one remote.it service."""

from __future__ import annotations

import itertools

from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    RemoteitError,
    is_service_id,
    normalize_service_id,
    shown,
)

MAX_LISTED = 20


def resolve_service(client, service_id=None, device=None, service=None):
    """Return the selected service as a target: service and device ids, names and states.

    A bare service_id costs no API call: remote.it reports the names when the connection opens, and
    refuses to connect to an inactive device itself.
    """
    if service_id:
        return {"service_id": normalize_service_id(service_id), "service_name": None,
                "device_id": None, "device_name": None, "device_state": None, "service_state": None}
    if not device:
        raise RemoteitError("select the service with service_id, or with device (and service)", kind="invalid_input")
    found = find_device(client, device)
    return service_target(found, _pick_service(found, service))


def service_target(device, service):
    """The target of one service of a device as the API listed it (see RemoteitClient.iter_devices)."""
    return {"service_id": service["id"].upper(), "service_name": service["name"],
            "device_id": device["id"], "device_name": device["name"],
            "device_state": device["state"], "service_state": service.get("state")}


def recorded_target(record):
    """The target a connection record was opened for, as far as it tells (its states are the API's to say)."""
    return {"service_id": record["service_id"], "service_name": record.get("service_name"),
            "device_id": record.get("device_id"), "device_name": record.get("device_name"),
            "device_state": None, "service_state": None}


def require_online(target):
    """Fail clearly before connecting to a device or service that the API listed as not running."""
    if target["device_state"] not in (None, "active"):
        raise RemoteitError("device %r is offline (state %r): remote.it can only connect to active devices"
                            % (target["device_name"], target["device_state"]), kind="offline")
    if target["service_state"] not in (None, "active"):
        raise RemoteitError("service %r of device %r is not running (state %r)"
                            % (target["service_name"], target["device_name"], target["service_state"]),
                            kind="offline")


def find_device(client, device):
    """The one device whose id, or whose name (case-insensitively), is `device`."""
    if is_service_id(device):
        matches = [item for item in client.devices_by_id([device.upper()]) if item["id"].upper() == device.upper()]
        if matches:
            return matches[0]
    candidates = list(client.iter_devices(name=device))
    matches = [item for item in candidates if item["name"].lower() == device.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RemoteitError(
            "device name %s is ambiguous: %d devices match (%s). Select it by device id or service_id instead."
            % (shown(device), len(matches), ", ".join("%s [%s]" % (item["name"], item["id"]) for item in matches)),
            kind="ambiguous")
    if candidates:
        listing = "devices whose name contains it: %s" % _names(item["name"] for item in candidates)
    else:
        listing = "your devices: %s" % (_names(item["name"] for item in client.iter_devices()) or "none")
    raise RemoteitError("no device named %s; %s%s" % (shown(device), listing, _slash_hint(device)), kind="not_found")


def _slash_hint(device):
    """DEVICE/SERVICE is the lookup's syntax; a module given it as its device needs the two options instead."""
    name, slash, service = device.rpartition("/")
    if not (slash and name and service):
        return ""
    return (". DEVICE/SERVICE is the lookup's syntax: the modules take the service as an option of its own "
            "(use device: %s and service: %s)" % (name, service))


def _pick_service(device, service):
    services = device["services"]
    listing = ", ".join(item["name"] for item in services) or "none"
    if service is None:
        if len(services) == 1:
            return services[0]
        raise RemoteitError("device %r has %d services (%s): choose one with service (DEVICE/SERVICE in the lookup)"
                            % (device["name"], len(services), listing), kind="ambiguous")
    matches = [item for item in services if item["name"].lower() == service.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RemoteitError("service name %r is ambiguous on device %r (%s): use service_id instead"
                            % (service, device["name"], ", ".join(item["id"] for item in matches)), kind="ambiguous")
    raise RemoteitError("device %r has no service named %s; its services: %s" % (device["name"], shown(service), listing),
                        kind="not_found")


def _names(names):
    shown = list(itertools.islice(names, MAX_LISTED + 1))
    text = ", ".join(shown[:MAX_LISTED])
    return text + (", ..." if len(shown) > MAX_LISTED else "")
