# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading remote.it access keys from the credentials file the remote.it tools write."""

from __future__ import annotations

import configparser
import os

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError

DEFAULT_CREDENTIALS_FILE = "~/.remoteit/credentials"
KEY_ID = "r3_access_key_id"
SECRET = "r3_secret_access_key"


def resolve_credentials(access_key_id, secret_access_key, profile, credentials_file):
    """Fill in whichever of the key pair the task and environment left unset from the profile.

    Returns (access_key_id, secret_access_key); raises RemoteitError naming every place looked at.
    """
    if access_key_id and secret_access_key:
        return access_key_id, secret_access_key
    path = os.path.expanduser(credentials_file or DEFAULT_CREDENTIALS_FILE)
    profile = profile or "default"
    section = _read_profile(path, profile)
    access_key_id = access_key_id or section.get(KEY_ID)
    secret_access_key = secret_access_key or section.get(SECRET)
    if access_key_id and secret_access_key:
        return access_key_id, secret_access_key
    missing = " and ".join(name for name, value in (("access_key_id", access_key_id),
                                                    ("secret_access_key", secret_access_key)) if not value)
    where = ("profile %r of %s" % (profile, path)) if os.path.exists(path) else ("%s (no such file)" % path)
    raise RemoteitError(
        "no remote.it %s found. Looked in: the task options (access_key_id, secret_access_key), the environment "
        "(R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY) and %s. Create an access key in the remote.it web portal "
        "(Account > Access keys) and put it in one of those places." % (missing, where),
        kind="credentials")


def _read_profile(path, profile):
    """The profile's keys, matched case-insensitively; a file with no section header is the default profile."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RemoteitError("cannot read credentials file %s: %s" % (path, exc.strerror), kind="credentials") from None
    # default_section names no real section, so [DEFAULT] is an ordinary profile whose keys never
    # leak into the others as configparser's defaults would.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        try:
            parser.read_string(text, source=path)
        except configparser.MissingSectionHeaderError:
            parser.read_string("[default]\n" + text, source=path)
    except configparser.Error as exc:
        raise RemoteitError("credentials file %s is not a valid INI file: %s" % (path, exc.message.splitlines()[0]),
                            kind="credentials") from None
    matches = [name for name in parser.sections() if name.lower() == profile.lower()]
    if not matches:
        return {}
    chosen = profile if profile in matches else matches[0]
    return dict(parser.items(chosen))
