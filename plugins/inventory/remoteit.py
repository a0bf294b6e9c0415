# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: remoteit
short_description: remote.it devices as inventory hosts, reachable through proxies
version_added: 0.1.0
description:
  - Makes one host per remote.it device, named after the device (characters other than letters, digits, C(.),
    C(_) and C(-) become C(_)), with host variables prefixed C(remoteit_), in the groups C(remoteit_active)
    and C(remoteit_inactive).
  - A device whose host name a device listed before it already has gets the last 8 hex digits of its id appended.
    Names are given over all the account's devices (with O(tags), over the devices remote.it lists for them),
    inactive ones included whatever O(include_inactive) says, so a host keeps its name as devices go offline, and the
    Event-Driven Ansible event source C(community.remoteit.device_events) gives the same name (with the same
    O(tags) and O(tags_match)).
  - Each host's remote.it tags are in the host variable C(remoteit_tags); O(keyed_groups) keyed on C(remoteit_tags)
    makes a group per tag (see the examples). Tag names are data that whoever can tag a device chose; like device
    names, they are never evaluated as templates, and a group name made of one has every character other than
    letters, digits and C(_) replaced by C(_).
  - remote.it cannot connect to an inactive (offline) device, so a play over C(all) finds those hosts unreachable
    (with O(connect_service), the message says the device is offline). Target the group C(remoteit_active), or set
    O(include_inactive=false).
  - With O(connect_service), every device that has that service is made reachable through it, as O(connect_mode)
    says. By default (V(on_demand)) nothing is opened while the inventory is built; each such host uses the
    P(community.remoteit.ssh#connection) connection plugin, which opens or reuses a proxy the first time a play
    uses the host.
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
      - The name of a service, such as V(ssh), that makes every device that has it reachable, as O(connect_mode)
        says (compared case-insensitively). Devices without it are left as they are. With V(eager), inactive devices
        are left as they are too; with V(on_demand), they get the connection plugin as well, which reports them
        offline when a play uses them (and reaches them once they are back).
      - A name that no device has is a warning that lists the service names that exist.
    type: str
  connect_mode:
    description:
      - How O(connect_service) makes a device reachable.
      - V(on_demand) opens nothing while the inventory is built, so C(ansible-inventory), an AWX inventory sync or a
        run with C(--limit) opens no proxy that no play uses. Each host gets the host variables
        C(ansible_connection=community.remoteit.ssh), C(remoteit_service) (the service's name),
        C(remoteit_device) (the device id, so that devices whose names differ only in case stay apart) and
        C(remoteit_inventory_selection) (those two and the service's id), with which the connection plugin opens
        a proxy in one request to remote.it while they still select the host's service. A device that is offline
        while the inventory is built, and a service that remote.it serves through a reverse proxy, get no
        C(remoteit_inventory_selection), so that the connection plugin looks the device up and what it reports
        (offline, or not a service for SSH) names the device. The
        P(community.remoteit.ssh#connection) connection plugin reuses or opens the host's proxy the first time a
        play uses the host. For SSH services.
      - V(eager) opens the proxies while the inventory is built, O(connect_workers) at a time, reusing live recorded
        ones, and points C(ansible_host) and C(ansible_port) at them; the host variable C(remoteit_connection) holds
        the connection, shaped like the result of M(community.remoteit.remoteit_connection). For services that are
        not SSH, such as a web interface (a reverse proxy, reached at C(remoteit_connection.url)) or a database port,
        that tasks on the controller reach. Every build of the inventory opens what is missing, whether a play uses
        it or not. A device whose proxy cannot be opened (it went offline meanwhile, remote.it refused, or answered
        with values that cannot be used) is left out of the inventory, with a warning naming it, so that no task
        reaches it at its name instead; only when no proxy can be opened at all does the inventory fail.
      - Either way, the proxies are recorded in O(connections_file) like those of
        M(community.remoteit.remoteit_connection), which closes them again
        (O(community.remoteit.remoteit_connection#module:state=absent)); neither closes a proxy by itself.
    type: str
    choices: [on_demand, eager]
    default: on_demand
    version_added: 0.1.0
  connect_workers:
    description:
      - With O(connect_mode=eager), how many proxies are opened at the same time, each by a thread with a client
        of its own.
      - V(1) opens them one after the other. More make the inventory of a large fleet faster to build but send
        remote.it more requests at once; throttled requests (HTTP 429) are retried as O(retries) says.
    type: int
    default: 10
    version_added: 0.1.0
  connect_host_ip:
    description:
      - The O(community.remoteit.remoteit_connection#module:host_ip) of the proxies, V(latching), V(public) or an
        IPv4/IPv6 address.
      - With O(connect_mode=eager), the proxies that are opened while the inventory is built.
      - With O(connect_mode=on_demand), set in the configuration file, it is handed to the hosts as the host
        variable C(remoteit_host_ip), which the connection plugin reads; not set, the connection plugin's default
        (V(latching)) or your own C(remoteit_host_ip) variable applies.
    type: str
    default: latching
  connect_renew_before:
    description:
      - A recorded connection that expires within this many seconds is not reused; a new one is opened.
      - With O(connect_mode=on_demand), set in the configuration file, it is handed to the hosts as the host
        variable C(remoteit_renew_before), which the connection plugin reads.
    type: int
    default: 300
extends_documentation_fragment:
  - community.remoteit.device_filters
  - community.remoteit.api
  - community.remoteit.api.plugins
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - With O(connect_mode=on_demand), the shared options that the configuration file sets, except the access key
    (O(access_key_id), O(secret_access_key)), are handed to the hosts as the variables the connection plugin reads
    (C(remoteit_api_url), C(remoteit_account_id), C(remoteit_connections_file), ...), so it uses the same account
    and records. The access key is never made a host variable, where C(ansible-inventory) would show it; give the
    connection plugin the key through the environment, the credentials file, or vault-encrypted
    C(remoteit_access_key_id) and C(remoteit_secret_access_key) variables.
  - With caching enabled, the device list comes from the cache. The cache holds one list per configuration file
    and account, which O(api_url), the access key and O(account_id) select, so another account (set in the
    environment or by a profile, for instance) never gets this one's devices; the access key id goes into the
    cache key only through a hash, and a build from the cache still needs the access key. With
    O(connect_mode=eager), O(connect_service) still checks that the recorded connections are alive, asking
    remote.it at most once per build when none has to be opened; with O(connect_mode=on_demand), a build from the
    cache sends no request at all.
  - For large fleets, most of the time to build the inventory is ansible-core storing each host variable. The cache
    saves the API calls, not that time. ansible-core 2.19 and later inspect every value they store, which makes
    this about three times slower than on 2.16.
  - In the inventory file, O(access_key_id) and O(secret_access_key) may be templates, a lookup of the environment
    (with the C(ansible.builtin.env) lookup) or of a secret store, or a vault-encrypted variable given with
    C(--extra-vars). The other options, and values from the environment or variables, are used as they are.
  - When the inventory cannot be built (a wrong access key, an API that does not answer), ansible-core warns and
    goes on without its hosts, so a play over them matches no host and succeeds. Where that must fail, as in CI, set
    E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true) (C([inventory] unparsed_is_failed = true) in C(ansible.cfg)), or
    E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) when other inventory sources come with it.
  - Only a file whose name ends in C(remoteit.yml) or C(remoteit.yaml) (C(fleet.remoteit.yml), for instance) is
    read by this plugin; ansible-core tries other inventory plugins on any other name.
seealso:
  - plugin: community.remoteit.ssh
    plugin_type: connection
  - module: community.remoteit.remoteit_connection
  - module: community.remoteit.remoteit_device_info
  - ref: ansible_collections.community.remoteit.docsite.guide_reaching_devices
    description: The ways to reach devices through remote.it, and when each fits.
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# Every device becomes a host, in the group remoteit_active or remoteit_inactive. To play only on the devices
# remote.it can reach now, target remoteit_active:
#   ansible remoteit_active -i fleet.remoteit.yml -m ansible.builtin.ping
# or leave inactive devices out of the inventory with include_inactive: false, as below.

# fleet.remoteit.yml: the active devices, each reached over SSH through a proxy that the connection plugin
# community.remoteit.ssh opens the first time a play uses the host; grouped by the services they have.
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


# canary.remoteit.yml, another file: only the devices tagged canary in remote.it (remote.it selects them, so the
# account's other devices are never fetched), in a group per tag: tag_canary, tag_eu_west, ...
#
#   plugin: community.remoteit.remoteit
#   tags: [canary]
#   connect_service: ssh
#   keyed_groups:
#     - key: remoteit_tags
#       prefix: tag


# web.remoteit.yml, another file: a proxy to every device's web interface, opened while the inventory is built,
# up to 20 at once. Tasks on the controller reach it, for instance with ansible.builtin.uri, url
# "{{ remoteit_connection.url }}" and delegate_to localhost:
#
#   plugin: community.remoteit.remoteit
#   include_inactive: false
#   name_contains: kiosk-
#   application: http
#   connect_service: web
#   connect_mode: eager
#   connect_workers: 20
"""

import difflib
import hashlib
import json
import os
import re
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.plugins.loader import connection_loader
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

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import KEY_OPTIONS
from ansible_collections.community.remoteit.plugins.plugin_utils._devices import application_id, device_matches, named_hosts
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    CONNECTION_OPTIONS,
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._tags import api_filter, checked_tags, tag_key
from ansible_collections.community.remoteit.plugins.plugin_utils._records import normalize_host_ip, public_warning, to_result
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import (
    REVERSE_PROXY_APPLICATIONS,
    listed_names,
    service_target,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

display = Display()
SUFFIXES = ("remoteit.yml", "remoteit.yaml")
# The line that names this plugin in an inventory file, looked for in the first bytes of a file of another name.
PLUGIN_LINE = re.compile(r"""^plugin:[ \t]*["']?community\.remoteit\.remoteit["']?[ \t]*(#.*)?$""", re.MULTILINE)
PLUGIN_LINE_WITHIN = 4096

CONNECTION_PLUGIN = "community.remoteit.ssh"
# The shared options an inventory file may set that the connection plugin reads as remoteit_<name> host variables.
# The key pair is not among them: a host variable shows in `ansible-inventory --list`.
HANDED_TO_HOSTS = tuple(name for name in CONNECTION_OPTIONS if name not in KEY_OPTIONS)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "community.remoteit.remoteit"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        if path.endswith(SUFFIXES):
            return True
        if _names_this_plugin(path):
            display.warning("%s names the %s inventory plugin, which reads only files whose name ends in %s: rename it "
                            "(fleet.remoteit.yml, for instance)" % (shown(path), self.NAME, " or ".join(SUFFIXES)))
        return False

    def _render_key_templates(self, options, sources, place):
        """The access key as the inventory file may give it: a template (a lookup of the environment or of a secret
        store, a vault-encrypted variable of --extra-vars) is rendered, as other cloud inventories do. Only the file's
        own values are templates; a value from the environment or the variables is used as it is."""
        self.templar.available_variables = self._vars
        for name in KEY_OPTIONS:
            value, origin = options.get(name), sources.origins.get(name)
            if origin and origin[0] == place and isinstance(value, str) and self.templar.is_template(value):
                options[name] = self.templar.template(value)

    def _filtered(self, client, hosts, tags):
        """(host, device) of the devices the filters let through. Filtered after naming, over the whole list (of the
        tags selected), so a device's host name is the same whatever the other filters (and device_events names it
        alike)."""
        application = self.get_option("application")
        application = application_id(client, application) if application else None
        state = None if self.get_option("include_inactive") else "active"
        return [(host, device) for host, device in hosts
                if device_matches(device, self.get_option("name"), self.get_option("name_contains"), state, application,
                                  tags, self.get_option("tags_match"))]

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        _refuse_unknown_options(config, self._options, path)
        options = plugin_options(self)
        devices = None
        try:
            place = "the inventory file %s" % path
            sources = plugin_sources(self, place, self._vars, config)
            self._render_key_templates(options, sources, place)
            client = build_client(options, sources, display.warning)
            tags = checked_tags(self.get_option("tags"), "tags")
            cache_key = self._account_cache_key(path, client, tags) if self.get_option("cache") else None
            if cache_key is not None and cache:
                devices = _from_cache(self._cache.get(cache_key))
            if devices is None:
                devices = list(client.iter_devices(tag=api_filter(client, tags, self.get_option("tags_match"))))
                if cache_key is not None:
                    self._cache[cache_key] = _for_cache(devices)
            # Named over every device before include_inactive leaves some out, as device_events names its hosts.
            hosts = self._filtered(client, named_hosts(devices), tags)
            targets = self._targets([device for _host, device in hosts])
            if self.get_option("connect_mode") == "eager":
                extra_vars, unreached = self._connect(client, lambda: build_client(options, sources, _ignore),
                                                      build_store(options), targets)
                # Without its proxy a host would be reached at its name, which whoever registered the device chose.
                hosts = [(host, device) for host, device in hosts if device["id"] not in unreached]
            else:
                extra_vars = self._on_demand(client, config or {}, targets)
        except RemoteitError as exc:
            raise AnsibleParserError("remote.it inventory %s: %s" % (path, exc)) from None
        self._populate(hosts, extra_vars)

    def _account_cache_key(self, path, client, tags):
        """The cache key of the device list that `client` gets for the inventory file `path`.

        Cacheable's key names the file alone; the account is part of this one (the api_url as the client
        normalized it, the access key id, the account_id), so that another account, from the environment or a
        profile, is never served this one's devices, and so are the tags that remote.it selected the devices by. The
        key is hashed: with a cache plugin such as jsonfile, the key is a file name, which would show the access key id.
        """
        account = json.dumps([client.api_url, client.key_id, client.account_id,
                              sorted(tag_key(tag) for tag in tags), self.get_option("tags_match") if tags else None])
        return "%s_%s" % (self.get_cache_key(path), hashlib.sha256(account.encode("utf-8")).hexdigest()[:16])

    def _targets(self, devices):
        """(device, service, target) of each device that has the connect_service; warns when no device has it."""
        service_name = self.get_option("connect_service")
        if not service_name:
            return []
        targets = []
        found = False
        for device in devices:
            service = next((item for item in device["services"] if item["name"].lower() == service_name.lower()),
                           None)
            found = found or service is not None
            if service is not None:
                targets.append((device, service, service_target(device, service)))
        if not found:
            existing = sorted({item["name"] for device in devices for item in device["services"]}, key=str.lower)
            display.warning("remote.it inventory: connect_service %r: no device has a service of that name; the "
                            "service names that exist: %s" % (service_name, listed_names(existing) or "none"))
        return targets

    def _on_demand(self, client, config, targets):
        """device id -> (host vars from the API, other host vars) that let the connection plugin open the proxy when
        a play first uses the host.

        What the inventory file set of the shared options (the key pair aside) and of connect_host_ip and
        connect_renew_before is handed on, so that the connection plugin uses the same account and records.
        """
        common = {}
        for name in HANDED_TO_HOSTS:
            if config.get(name) is not None:
                common["remoteit_" + name] = client.api_url if name == "api_url" else self.get_option(name)
        if config.get("connect_host_ip") is not None:
            normalize_host_ip(self.get_option("connect_host_ip"))  # an invalid value fails here, not in every task
            common["remoteit_host_ip"] = self.get_option("connect_host_ip").strip()
        if config.get("connect_renew_before") is not None:
            common["remoteit_renew_before"] = self.get_option("connect_renew_before")
        if any(service.get("application") in REVERSE_PROXY_APPLICATIONS for _device, service, _target in targets):
            display.warning("remote.it inventory: connect_service %r is an HTTP(S) service, which remote.it serves "
                            "through reverse proxies that SSH cannot use: set connect_mode: eager, and reach it at "
                            "the host variable remoteit_connection.url" % self.get_option("connect_service"))
        common["ansible_connection"] = CONNECTION_PLUGIN
        if targets:
            # Loaded here, in the controller, so that every worker forked for a task on these hosts has it already:
            # loading it (its modules, its documented options) in each worker costs each task and host (bench/README.md).
            connection_loader.get(CONNECTION_PLUGIN, class_only=True)
        return {device["id"]: (_selection_vars(device, service), common) for device, service, _target in targets}

    def _connect(self, client, new_client, store, targets):
        """(device id -> (host vars from the API, {}) of its proxy, reused or opened now (connect_mode eager); the ids
        of the devices whose proxy could not be opened).

        Live recorded proxies are found first, asking remote.it at most once; the missing ones are opened by up to
        connect_workers threads, each with a client (and an HTTP session) and a ProxyManager of its own. The
        connections file is written under a lock, so the threads' records all land.
        """
        workers = self.get_option("connect_workers")
        if workers < 1:
            raise InvalidInputError("connect_workers must be 1 or more")
        host_ip = normalize_host_ip(self.get_option("connect_host_ip"))
        renew_before = self.get_option("connect_renew_before")
        targets = [(device, service, target) for device, service, target in targets if device["state"] == "active"]
        warning = public_warning(host_ip)
        if warning and targets:
            display.warning(warning)
        manager = ProxyManager(client, store, warn=display.warning)
        connections, missing, refused = {}, [], {}
        for device, _service, target in targets:
            try:
                record, _reused, _target = _attempt(device, manager.ensure, target, host_ip, renew_before,
                                                    check_mode=True)
                if record is not None:
                    _attempt(device, manager.settle, target["service_id"])  # a lost connect of an earlier run
            except RemoteitError as exc:  # such as a service that is not running
                refused[device["id"]] = exc
                continue
            if record is None:
                missing.append((device, target))
            else:
                connections[device["id"]] = to_result(record, reused=True)

        local = threading.local()
        stop = threading.Event()  # set by an unexpected error or an interrupt: open nothing more

        def ensure(device, target):
            """The device's connection, or the RemoteitError that kept it from having one."""
            if stop.is_set():
                return None
            try:
                if getattr(local, "manager", None) is None:
                    local.manager = ProxyManager(new_client(), store, warn=display.warning)
                record, reused, _target = _attempt(device, local.manager.ensure, target, host_ip, renew_before)
            except RemoteitError as exc:
                return exc
            except BaseException:
                stop.set()
                raise
            return to_result(record, reused=reused)

        if missing:
            futures = []
            pool = ThreadPoolExecutor(max_workers=min(workers, len(missing)), thread_name_prefix="remoteit-connect")
            try:
                futures = [pool.submit(ensure, device, target) for device, target in missing]
                wait(futures, return_when=FIRST_EXCEPTION)
            finally:  # what is on its way is recorded before the inventory fails or the interrupt goes on
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
            failures = [future.exception() for future in futures
                        if not future.cancelled() and future.exception() is not None]
            if failures:
                raise failures[0]
            for (device, _target), future in zip(missing, futures):
                if isinstance(future.result(), RemoteitError):
                    refused[device["id"]] = future.result()
                else:
                    connections[device["id"]] = future.result()
        if refused and not connections:
            raise next(iter(refused.values()))  # nothing could be reached: the inventory cannot be what was meant
        for error in refused.values():
            display.warning("remote.it inventory: %s; the device is left out of this inventory" % error)
        return {device_id: (_connection_vars(connection), {})
                for device_id, connection in connections.items()}, set(refused)

    def _populate(self, hosts, extra_vars):
        """A host for each (host name, device) of `hosts`."""
        strict = self.get_option("strict")
        for host, device in hosts:
            self.inventory.add_host(host)
            state_group = "remoteit_active" if device["state"] == "active" else "remoteit_inactive"
            self.inventory.add_child(self.inventory.add_group(state_group), host)
            hostvars = {
                "remoteit_device_id": device["id"],
                "remoteit_device_name": device["name"],
                "remoteit_state": device["state"],
                "remoteit_online": device["online"],
                "remoteit_services": device["services"],
                "remoteit_tags": device["tags"],
            }
            from_api, own = extra_vars.get(device["id"], ({}, {}))
            hostvars.update(from_api)
            hostvars = make_untrusted(hostvars)
            hostvars.update(own)  # values of this plugin and of the inventory file, not from the API
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)


def _ignore(_warning):
    """Warnings of the workers' clients: the inventory's own client gave them already."""


def _attempt(device, function, *args, **kwargs):
    """function(*args, **kwargs), its RemoteitError naming the device it was for."""
    try:
        return function(*args, **kwargs)
    except RemoteitError as exc:
        raise type(exc)("device %s [%s]: %s" % (shown(device["name"]), device["id"], exc), status=exc.status,
                        field=exc.field) from None


def _selection_vars(device, service):
    """Host vars that select the service for the connection plugin (connect_mode on_demand).

    The device id and service name are what a play that closes the proxies selects by. The service id lets the
    plugin open a cold proxy with one request, connect, while a variable of the user's own has not chosen another
    device or service; it is left out for a device that was offline, or a service
    remote.it serves through a reverse proxy, so that the plugin looks the device up and what it reports (offline,
    or not a service for SSH) names the device.
    """
    selection = {"remoteit_device": device["id"], "remoteit_service": service["name"]}
    if device["state"] == "active" and service.get("application") not in REVERSE_PROXY_APPLICATIONS:
        selection["remoteit_inventory_selection"] = {"device": device["id"], "service": service["name"],
                                                     "service_id": service["id"]}
    return selection


def _connection_vars(connection):
    """Host vars that point Ansible at a proxy: ansible_host and, unless it is a reverse proxy, ansible_port."""
    hostvars = {"remoteit_connection": connection, "ansible_host": connection["host"]}
    if connection["port"] is not None:
        hostvars["ansible_port"] = connection["port"]
    return hostvars


def _for_cache(devices):
    """The device list as one compact JSON string: cache plugins copy and re-encode nested data value by value,
    which took 0.6 s of the 2.1 s that building an inventory of 10,000 devices took."""
    return json.dumps(devices, separators=(",", ":"))


def _from_cache(cached):
    """The cached device list, or None (fetch again) for anything that is not one: a cache may sit where others
    write, so it is checked as the API's answer is (see RemoteitClient._device)."""
    try:
        devices = json.loads(cached)
        for device in devices:
            _cached(device, DEVICE_SHAPE)
            for service in device["services"]:
                _cached(service, SERVICE_SHAPE)
            if not all(isinstance(tag, str) for tag in device["tags"]):
                raise ValueError("tags")
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
        return None
    return devices if isinstance(devices, list) else None


def _cached(item, shape):
    """Raise unless each field of `shape` is in item with a value of its types (a check function's are strings)."""
    for field, kinds in shape.items():
        value = item[field]
        if callable(kinds):
            kinds(value)
        elif not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            raise ValueError(field)


DEVICE_SHAPE = {"id": _untrusted.service_id, "name": (str,), "state": (str, type(None)), "online": (bool, type(None)),
                "services": (list,), "tags": (list,)}
SERVICE_SHAPE = {"id": _untrusted.service_id, "name": (str,), "application": (int, type(None)),
                 "application_name": (str, type(None)), "port": (int, type(None)), "host": (str, type(None)),
                 "state": (str, type(None)), "enabled": (bool, type(None))}


def _names_this_plugin(path):
    """Whether a file Ansible would not give this plugin (its name) says it is for this plugin. Only a regular file is
    read: a pipe (-i <(...)) holds what the next inventory plugin must read."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as config:
            head = config.read(PLUGIN_LINE_WITHIN).decode("utf-8", errors="replace")
    except OSError:
        return False
    return PLUGIN_LINE.search(head) is not None


def _refuse_unknown_options(config, options, path):
    """A misspelt option would otherwise be ignored without a word: name it, and the option it may have meant."""
    unknown = sorted(str(key) for key in config if key not in options)
    if unknown:
        hints = ["%s%s" % (shown(key), "".join(" (did you mean %s?)" % near
                                               for near in difflib.get_close_matches(str(key), list(options), n=1)))
                 for key in unknown]
        raise AnsibleParserError("%s: unknown option%s %s" % (shown(path), "s" if len(unknown) > 1 else "", ", ".join(hints)))
