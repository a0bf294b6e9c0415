# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection and auth options every module and plugin shares, turned into a client and a store.

Modules get these options from their argument spec and plugins from Ansible's configuration
system; both hand the resulting dict here, so precedence and defaults are decided once.
"""

from __future__ import annotations

from ansible_collections.community.remoteit.plugins.plugin_utils._api import DEFAULT_API_URL, RemoteitClient, RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import (
    DEFAULT_CONNECTIONS_FILE,
    ConnectionStore,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import (
    DEFAULT_CREDENTIALS_FILE,
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


def build_client(options):
    if options["request_timeout"] <= 0:
        raise RemoteitError("request_timeout must be a positive number of seconds", kind="invalid_input")
    if options["retries"] < 0:
        raise RemoteitError("retries must be 0 or more", kind="invalid_input")
    key_id, secret = resolve_credentials(options.get("access_key_id"), options.get("secret_access_key"),
                                         options.get("profile"), options.get("credentials_file"))
    return RemoteitClient(key_id, secret, api_url=options["api_url"], validate_certs=options["validate_certs"],
                          request_timeout=options["request_timeout"], retries=options["retries"],
                          account_id=options.get("account_id") or None)


def build_store(options):
    return ConnectionStore(options["connections_file"])
