# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: remoteit_connection
short_description: Read the live remote.it connection recorded for a service
version_added: 0.1.0
description:
  - Returns, for each term, the connection that M(community.remoteit.remoteit_connection) opened and recorded
    in O(connections_file), while remote.it still lists it as active, as a dictionary shaped like that module's
    RV(community.remoteit.remoteit_connection#module:connection) result.
  - Read-only. It never opens or closes a connection, so it suits host variables in pipelines where one job opens
    connections and later jobs use them.
  - Results are cached within one process for 30 seconds, and remote.it's answer is shared with the modules through
    the connections file, so evaluating it in every task costs no API call.
options:
  _terms:
    description:
      - The services, each a service id such as V(80:00:00:00:01:02:03:04), V(DEVICE/SERVICE) such as
        V(pi-kitchen/ssh), or a device name alone when the device has exactly one service (remote.it is asked).
      - Names are compared case-insensitively, first with the names recorded with the connections, else as remote.it
        knows them.
    type: list
    elements: str
    required: true
  on_missing:
    description:
      - What to do when a term has no live recorded connection.
      - V(error) fails, naming the module that opens one, or saying that the device is offline when remote.it,
        asked which service the term names, reports it so; V(warn) warns so and returns nothing for the term;
        V(skip) silently returns nothing for it.
    type: str
    choices: [error, warn, skip]
    default: error
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.plugins
  - community.remoteit.api.vars
  - community.remoteit.api.records
seealso:
  - module: community.remoteit.remoteit_connection
  - module: community.remoteit.remoteit_connection_info
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# Host variables for devices whose SSH proxy an earlier job opened:
# ansible_host: "{{ lookup('community.remoteit.remoteit_connection', inventory_hostname ~ '/ssh').host }}"
# ansible_port: "{{ lookup('community.remoteit.remoteit_connection', inventory_hostname ~ '/ssh').port }}"

- name: Show where a device's SSH proxy listens
  ansible.builtin.debug:
    msg: "{{ lookup('community.remoteit.remoteit_connection', 'pi-kitchen/ssh') }}"

- name: Look several up at once, skipping those without a live connection
  ansible.builtin.debug:
    msg: "{{ query('community.remoteit.remoteit_connection', 'pi-kitchen/ssh', '80:00:00:00:01:02:03:04', on_missing='skip') }}"
"""

RETURN = r"""
_raw:
  description:
    - One connection per term that has one, shaped like the result of
      M(community.remoteit.remoteit_connection), with C(reused=true).
  type: list
  elements: dict
  contains:
    id:
      description: The connection id.
      type: str
    host:
      description: The proxy's host name.
      type: str
    port:
      description: The proxy's TCP port; V(null) for reverse proxies.
      type: int
    url:
      description: The proxy's URL.
      type: str
    host_key_alias:
      description: The name ssh checks the device's host key under (C(-o HostKeyAlias=...)).
      type: str
"""

import os
import time

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import OfflineError, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    CONNECTION_OPTIONS,
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import CONFIRMATION_TTL
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager, parse_selector
from ansible_collections.community.remoteit.plugins.plugin_utils._records import HANDED_HOST_VAR, HANDED_LIST_VAR, handed_records, to_result
from ansible_collections.community.remoteit.plugins.plugin_utils._targets import require_online

display = Display()

# (api_url, connections file, its mtime, term) -> (monotonic time, connection or None for none): lookups
# in host vars are evaluated many times per task; the file's mtime keeps a closed connection from lingering.
_CACHE = {}
# Non-empty while the lookup templates the variables that hand records over. One of them may be this very lookup
# (remoteit_connection: "{{ lookup('community.remoteit.remoteit_connection', ...) }}"): that call then reads the
# records without them instead of templating them again, endlessly.
_TEMPLATING_HANDED = []


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        variables = self._option_variables(variables)
        self.set_options(var_options=variables, direct=kwargs)
        options = plugin_options(self)
        on_missing = self.get_option("on_missing")
        manager = None
        results = []
        try:
            store = build_store(options)
            handed = handed_records(self.get_option(HANDED_LIST_VAR), self.get_option(HANDED_HOST_VAR))
            handed_ids = tuple(sorted(record["id"] for record in handed))
            for term in terms:
                key = (options["api_url"], store.path, _mtime(store.path), handed_ids, term)
                cached = _CACHE.get(key)
                if cached and time.monotonic() - cached[0] < CONFIRMATION_TTL:
                    connection, offline = cached[1:]
                else:
                    manager = manager or ProxyManager(self._client(options, variables, kwargs), store, handed, read_only=True)
                    connection, offline = self._live_connection(manager, term)
                    # A miss is cached too: on_missing skip or warn in host vars must not ask remote.it each time.
                    _CACHE[(options["api_url"], store.path, _mtime(store.path), handed_ids, term)] = (
                        time.monotonic(), connection, offline)
                if connection is None:
                    where = "%s%s" % (store.path, " or in the records handed over" if handed else "")
                    if offline:
                        message = "%s; no live remote.it connection to it is recorded in %s" % (offline, where)
                    else:
                        message = ("no live remote.it connection is recorded for %r in %s; open one first with the "
                                   "community.remoteit.remoteit_connection module (state: present)" % (term, where))
                    if on_missing == "error":
                        raise AnsibleLookupError(message)
                    if on_missing == "warn":
                        display.warning(message)
                    continue
                results.append(connection)
        except RemoteitError as exc:
            raise AnsibleLookupError("community.remoteit.remoteit_connection lookup: %s" % exc) from None
        return results

    def _option_variables(self, variables):
        """The variables the options read (doc_fragments/api.py VARS and RECORDS), templated.

        Ansible hands a lookup its variables as written, so remoteit_secret_access_key: "{{ vault_secret }}"
        would otherwise reach remote.it as that very text.
        """
        variables = variables or {}
        templated = {name: self._templar.template(variables[name])
                     for name in ("remoteit_" + option for option in CONNECTION_OPTIONS) if name in variables}
        if _TEMPLATING_HANDED:
            return templated
        for name in (HANDED_LIST_VAR, HANDED_HOST_VAR):
            if name in variables:
                _TEMPLATING_HANDED.append(name)
                try:
                    templated[name] = self._templar.template(variables[name])
                finally:
                    _TEMPLATING_HANDED.pop()
        return templated

    def _client(self, options, variables, keywords):
        sources = plugin_sources(self, "the lookup's keywords", variables, keywords)
        return build_client(options, sources, display.warning)

    @staticmethod
    def _live_connection(manager, term):
        """(the newest live connection or None, and why there is none when remote.it said the device is offline)."""
        target, candidates = manager.find(**parse_selector(term))
        alive = manager.alive(candidates)
        if alive:
            return to_result(max(alive, key=lambda record: record.get("created") or ""), reused=True), None
        try:
            require_online(target)  # states are known when remote.it was asked which service the term names
        except OfflineError as exc:
            return None, str(exc)
        return None, None


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None
