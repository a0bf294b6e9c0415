# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection and auth options every module and plugin shares, turned into a client and a store.

Modules get these options from their argument spec and plugins from Ansible's configuration
system; both hand the resulting dict here, so precedence and defaults are decided once. The event source
device_events reads them from its arguments and the environment: it runs in ansible-rulebook's Python, which
may lack ansible-core, so nothing here imports Ansible but what only plugins call.
"""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    DEFAULT_API_URL,
    RemoteitClient,
    normalize_api_url,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import InvalidInputError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import (
    DEFAULT_CONNECTIONS_FILE,
    ConnectionStore,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import (
    DEFAULT_CREDENTIALS_FILE,
    KEY_OPTIONS,
    CredentialSources,
    resolve_credentials,
)

# name: (type, default, environment variable)
CONNECTION_OPTIONS = {
    "access_key_id": ("str", None, "R3_ACCESS_KEY_ID"),
    "secret_access_key": ("str", None, "R3_SECRET_ACCESS_KEY"),
    "profile": ("str", "default", "REMOTEIT_PROFILE"),
    "credentials_file": ("path", DEFAULT_CREDENTIALS_FILE, "REMOTEIT_CREDENTIALS_FILE"),
    "api_url": ("str", DEFAULT_API_URL, "REMOTEIT_API_URL"),
    "validate_certs": ("bool", True, "REMOTEIT_VALIDATE_CERTS"),
    "request_timeout": ("int", 30, None),
    "retries": ("int", 3, None),
    "account_id": ("str", None, "REMOTEIT_ACCOUNT_ID"),
    "connections_file": ("path", DEFAULT_CONNECTIONS_FILE, "REMOTEIT_CONNECTIONS_FILE"),
}
SECRET_OPTIONS = frozenset(("secret_access_key",))


def plugin_options(plugin):
    """The shared options of a lookup or inventory plugin, after Ansible's own precedence rules."""
    return {name: plugin.get_option(name) for name in CONNECTION_OPTIONS}


def module_sources(task_args):
    """Where a module reads the key pair: its task options (module_defaults included), then the environment."""
    return direct_sources(task_args, "the task options")


def direct_sources(given, place):
    """Where the key pair is read when options are `given` directly (in `place`), then from the environment."""
    environment = {name: CONNECTION_OPTIONS[name][2] for name in KEY_OPTIONS}
    return CredentialSources(
        places=[(place, list(KEY_OPTIONS)), ("the environment", list(environment.values()))],
        origins={name: (place, name) if given.get(name) else ("the environment", environment[name])
                 for name in KEY_OPTIONS})


def plugin_sources(plugin, direct_place, variables=None, direct=None):
    """Where a lookup or inventory plugin reads the key pair, from its own option definitions.

    direct_place names its options set directly (a lookup's keywords, an inventory file's keys); variables
    and direct are what the plugin's set_options was given, so each value's origin is the one Ansible chose.
    """
    # Imported here, not at the top, for the event source (see the module's docstring).
    from ansible import constants as C  # pylint: disable=import-outside-toplevel

    definitions = C.config.get_configuration_definitions(plugin.plugin_type, plugin._load_name)
    places = [(direct_place, list(KEY_OPTIONS))]
    # In Ansible's order of precedence, as far as the plugin's option definitions (doc_fragments/api.py) read them.
    for kind, label in (("vars", "the variables"), ("env", "the environment"), ("ini", None)):
        entries = [entry for name in KEY_OPTIONS for entry in definitions[name].get(kind) or []]
        if entries:
            label = label or "the [%s] section of ansible.cfg" % entries[0]["section"]
            places.append((label, [entry.get("name") or entry["key"] for entry in entries]))
    origins = {}
    for name in KEY_OPTIONS:
        origin = C.config.get_config_value_and_origin(name, plugin_type=plugin.plugin_type, plugin_name=plugin._load_name,
                                                      variables=variables, direct=direct)[1]
        origins[name] = _plugin_origin(origin, name, direct_place, definitions[name])
    return CredentialSources(places, origins)


def _plugin_origin(origin, name, direct_place, definition):
    """(place, name) for an origin as Ansible's configuration reports it ('Direct', 'var: X', 'env: X', a cfg path)."""
    if origin == "default":
        return None
    if origin.lower() == "direct":
        return direct_place, name
    kind, _sep, source = origin.partition(": ")
    if kind == "var":
        return "the variables", source
    if kind == "env":
        return "the environment", source
    ini = definition["ini"][0]  # the one source left: the path of the ansible.cfg that set it
    return "the [%s] section of %s" % (ini["section"], origin), ini["key"]


def build_client(options, sources, warn):
    """The API client for these options; `sources` says where the caller reads the key pair, `warn` takes warnings."""
    if options["request_timeout"] <= 0:
        raise InvalidInputError("request_timeout must be a positive number of seconds")
    if options["retries"] < 0:
        raise InvalidInputError("retries must be 0 or more")
    api_url = normalize_api_url(options["api_url"])
    credentials = resolve_credentials(options.get("access_key_id"), options.get("secret_access_key"),
                                      options.get("profile"), options.get("credentials_file"), sources, warn)
    return RemoteitClient(credentials.key_id, credentials.secret, credentials.key_origin, api_url=api_url,
                          validate_certs=options["validate_certs"], request_timeout=options["request_timeout"],
                          retries=options["retries"], account_id=options.get("account_id") or None, warn=warn)


def build_store(options):
    return ConnectionStore(options["connections_file"])
