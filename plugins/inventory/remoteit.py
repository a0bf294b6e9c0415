# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: remoteit
short_description: remote.it devices as inventory hosts, optionally reachable through proxies
version_added: 0.1.0
description:
  - Makes one host per remote.it device, named after the device (characters other than letters, digits, C(.),
    C(_) and C(-) become C(_)), with host variables prefixed C(remoteit_), in the groups C(remoteit_active)
    and C(remoteit_inactive).
  - remote.it cannot connect to an inactive (offline) device, so a play over C(all) finds those hosts unreachable.
    Target the group C(remoteit_active), or set O(include_inactive=false).
  - With O(connect_service), every active device that has that service gets a proxy, reusing a live recorded one
    or opening a new one, and C(ansible_host)/C(ansible_port) point at it, so plays reach devices behind NAT
    directly.
  - Strings from the API are marked unsafe, so a device name can never be evaluated as a template.
  - The configuration file name must end with C(remoteit.yml) or C(remoteit.yaml).
options:
  plugin:
    description: The name of this plugin; makes the configuration file this plugin's.
    type: str
    required: true
    choices: [community.remoteit.remoteit]
  include_inactive:
    description:
      - Whether inactive (offline) devices become hosts, in the group C(remoteit_inactive).
      - V(false) leaves them out of the inventory entirely, so C(all) holds only the devices remote.it can reach now.
    type: bool
    default: true
  connect_service:
    description:
      - The name of a service, such as V(ssh), to open proxies to (compared case-insensitively).
      - Opened connections are recorded in O(connections_file) like those of M(community.remoteit.remoteit_connection),
        which closes them again (O(community.remoteit.remoteit_connection#module:state=absent)).
    type: str
  connect_host_ip:
    description:
      - The O(community.remoteit.remoteit_connection#module:host_ip) of the proxies O(connect_service) opens.
    type: str
    default: latching
  connect_renew_before:
    description:
      - A recorded connection that expires within this many seconds is not reused.
    type: int
    default: 300
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.plugins
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - With caching enabled, the device list comes from the cache, but O(connect_service) still checks that the
    recorded connections are alive, asking remote.it at most once per run.
  - For large fleets, most of the time to build the inventory is ansible-core storing each host variable. The cache
    saves the API calls, not that time. ansible-core 2.19 and later inspect every value they store, which makes
    this about three times slower than on 2.16.
seealso:
  - module: community.remoteit.remoteit_connection
  - module: community.remoteit.remoteit_device_info
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# Every device becomes a host, in the group remoteit_active or remoteit_inactive. To play only on the devices
# remote.it can reach now, target remoteit_active:
#   ansible remoteit_active -i fleet.remoteit.yml -m ansible.builtin.ping
# or leave inactive devices out of the inventory with include_inactive: false, as below.

# fleet.remoteit.yml: the active devices, SSH through a proxy, grouped by the services they have.
plugin: community.remoteit.remoteit
include_inactive: false
connect_service: ssh
compose:
  ansible_user: "'pi'"
keyed_groups:
  - key: remoteit_services | map(attribute='name') | list
    prefix: service
groups:
  kiosks: remoteit_device_name is match('kiosk-')
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/remoteit-inventory
cache_timeout: 600
"""

import json
import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

try:
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19 templates any string unless it is wrapped as unsafe
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText

    def make_untrusted(value):
        """wrap_var for the JSON the API returns: only strings can be templated, and skipping wrap_var's generic
        type checks halves the time to build a large inventory."""
        if isinstance(value, str):
            return AnsibleUnsafeText(value)
        if isinstance(value, dict):
            return {key: make_untrusted(item) for key, item in value.items()}
        if isinstance(value, list):
            return [make_untrusted(item) for item in value]
        return value
else:  # ansible-core 2.19+ never templates inventory data that no one marked as trusted
    def make_untrusted(value):
        return value

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import (
    ProxyManager,
    normalize_host_ip,
    public_warning,
    to_result,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import service_target

display = Display()

UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "community.remoteit.remoteit"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("remoteit.yml", "remoteit.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        options = plugin_options(self)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        devices = _from_cache(self._cache.get(cache_key)) if use_cache else None
        try:
            client = build_client(options, plugin_sources(self, "the inventory file %s" % path, self._vars, config),
                                  display.warning)
            if devices is None:
                devices = list(client.iter_devices())
                if self.get_option("cache"):
                    self._cache[cache_key] = _for_cache(devices)
            if not self.get_option("include_inactive"):
                devices = [device for device in devices if device["state"] == "active"]
            connections = self._connect(client, build_store(options), devices)
        except RemoteitError as exc:
            raise AnsibleParserError("remote.it inventory %s: %s" % (path, exc)) from None
        self._populate(devices, connections)

    def _connect(self, client, store, devices):
        """device id -> connection result, for each active device that has the connect_service."""
        service_name = self.get_option("connect_service")
        if not service_name:
            return {}
        host_ip = normalize_host_ip(self.get_option("connect_host_ip"))
        warning = public_warning(host_ip)
        if warning:
            display.warning(warning)
        manager = ProxyManager(client, store)
        connections = {}
        found = False
        for device in devices:
            service = next((item for item in device["services"] if item["name"].lower() == service_name.lower()),
                           None)
            found = found or service is not None
            if device["state"] != "active" or service is None:
                continue
            record, reused, _target = manager.ensure(service_target(device, service), host_ip,
                                                     self.get_option("connect_renew_before"))
            connections[device["id"]] = to_result(record, reused=reused)
        if not found:
            existing = sorted({item["name"] for device in devices for item in device["services"]}, key=str.lower)
            display.warning("remote.it inventory: connect_service %r: no device has a service of that name; the "
                            "service names that exist: %s" % (service_name, ", ".join(existing) or "none"))
        return connections

    def _populate(self, devices, connections):
        strict = self.get_option("strict")
        taken = set()
        for device in devices:
            host = _host_name(device, taken)
            self.inventory.add_host(host)
            state_group = "remoteit_active" if device["state"] == "active" else "remoteit_inactive"
            self.inventory.add_child(self.inventory.add_group(state_group), host)
            hostvars = {
                "remoteit_device_id": device["id"],
                "remoteit_device_name": device["name"],
                "remoteit_state": device["state"],
                "remoteit_online": device["online"],
                "remoteit_services": device["services"],
            }
            connection = connections.get(device["id"])
            if connection:
                hostvars.update(remoteit_connection=connection, ansible_host=connection["host"])
                if connection["port"] is not None:
                    hostvars["ansible_port"] = connection["port"]
            hostvars = make_untrusted(hostvars)
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)


def _for_cache(devices):
    """The device list as one compact JSON string: cache plugins copy and re-encode nested data value by value,
    which took 0.6 s of the 2.1 s that building an inventory of 10,000 devices took."""
    return json.dumps(devices, separators=(",", ":"))


def _from_cache(cached):
    """The cached device list, or None (fetch again) for anything that is not one."""
    try:
        devices = json.loads(cached)
    except (TypeError, ValueError):
        return None
    return devices if isinstance(devices, list) else None


def _host_name(device, taken):
    """The device name made safe as a host name, kept apart from a same-named device by its id."""
    name = UNSAFE_CHARACTERS.sub("_", device["name"]) or "device"
    if name in taken:
        name = "%s_%s" % (name, device["id"].replace(":", "")[-8:].lower())
    taken.add(name)
    return name
