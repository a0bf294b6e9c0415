# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading remote.it access keys from the credentials file the remote.it tools write."""

from __future__ import annotations

import base64
import binascii
import collections
import configparser
import os
import stat

try:  # ansible-core 2.22 and later keep a registered secret out of everything they display
    from ansible.module_utils.secrets import register_secret as _register_with_core
except ImportError:  # earlier cores display what they are given: no_log and the collection's own messages protect it
    _register_with_core = None

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import CredentialsError
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

DEFAULT_CREDENTIALS_FILE = "~/.remoteit/credentials"
KEY_OPTIONS = ("access_key_id", "secret_access_key")
# The credentials file's key for each option (configparser lower-cases keys).
FILE_KEYS = {"access_key_id": "r3_access_key_id", "secret_access_key": "r3_secret_access_key"}

# Where a caller reads the key pair before the credentials file, so that messages send a user to the right place.
# places: [(label, [names])] in the caller's order of precedence, e.g. ("the environment", ["R3_ACCESS_KEY_ID", ...]);
# origins: option name -> (label, name) of where a value the caller was given came from.
CredentialSources = collections.namedtuple("CredentialSources", "places origins")
# key_origin says where the key pair came from, for the advice when remote.it rejects it.
Credentials = collections.namedtuple("Credentials", "key_id secret key_origin")
# Core masks a registered value wherever it appears, however short: a short password would mask ordinary words.
SHORTEST_MASKED = 8


def keep_out_of_output(*values):
    """Have ansible-core (2.22+) mask these secrets in all it displays (-vvv, warnings and errors included).
    Too short values and non-strings (unset options) are left alone."""
    if _register_with_core is None:
        return
    for value in values:
        if isinstance(value, str) and len(value) >= SHORTEST_MASKED:
            _register_with_core(value)


def resolve_credentials(access_key_id, secret_access_key, profile, credentials_file, sources, warn):
    """Fill in whichever of the key pair the caller left unset from the profile.

    Raises CredentialsError naming every place looked at; `warn` receives a warning for a credentials file
    that other users can read.
    """
    values = {"access_key_id": access_key_id, "secret_access_key": secret_access_key}
    origins = {name: sources.origins[name] for name, value in values.items() if value}
    path = os.path.expanduser(credentials_file or DEFAULT_CREDENTIALS_FILE)
    profile = profile or "default"
    looked_in = None
    if not all(values.values()):
        credentials = _CredentialsFile(path, warn)
        section = credentials.profile(profile)
        place = "profile %s of %s" % (shown(profile), path)
        for name in KEY_OPTIONS:
            if not values[name] and (section or {}).get(FILE_KEYS[name]):
                values[name] = section[FILE_KEYS[name]]
                origins[name] = (place, None)
        looked_in = credentials.describe(profile, section, place)
    missing = [name for name in KEY_OPTIONS if not values[name]]
    if missing:
        places = [_place(label, names) for label, names in sources.places] + [looked_in]
        raise CredentialsError(
            "no remote.it %s found. Looked in: %s and %s. Create an access key in the remote.it web portal "
            "(Account > Access keys) and put it in one of those places."
            % (" and ".join(missing), ", ".join(places[:-1]), places[-1]))
    _check_base64(values["secret_access_key"], origins["secret_access_key"])
    keep_out_of_output(values["secret_access_key"])
    return Credentials(values["access_key_id"], values["secret_access_key"], _describe_origin(origins))


def _describe_origin(origins):
    """Where the key pair came from, in words: the first place to check when remote.it rejects it."""
    (key_label, key_name), (secret_label, secret_name) = origins["access_key_id"], origins["secret_access_key"]
    if key_label == secret_label:
        return "the access key id and secret came from %s" % _place(key_label, [key_name, secret_name])
    return "the access key id came from %s and the secret from %s" % (
        _place(key_label, [key_name]), _place(secret_label, [secret_name]))


def _place(label, names):
    names = [name for name in names if name]
    return "%s (%s)" % (label, ", ".join(names)) if names else label


def _check_base64(secret, origin):
    """A secret that cannot sign is reported where it was read, before any request is sent (never the value)."""
    label, name = origin
    try:
        base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CredentialsError(
            "the secret access key from %s is not valid base64: copy it again from your remote.it account "
            "(Account > Access keys) and fix it there" % _place(label, [name])) from None


class _CredentialsFile:
    """The profiles of one credentials file, read once, with names matched case-insensitively."""

    def __init__(self, path, warn):
        self.path = path
        self.exists = True
        self.sections = {}
        try:
            with open(path, encoding="utf-8") as handle:
                mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
                text = handle.read()
        except FileNotFoundError:
            self.exists = False
            return
        except OSError as exc:
            raise CredentialsError("cannot read credentials file %s: %s" % (path, exc.strerror)) from None
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warn("the remote.it credentials file %s is readable by other users (mode %04o): chmod 600 %s"
                 % (path, mode, path))
        self.sections = _parse(path, text)

    def profile(self, profile):
        """The profile's keys (an exact-case match wins), or None when the file has no such profile."""
        if profile in self.sections:
            return self.sections[profile]
        return next((keys for name, keys in self.sections.items() if name.lower() == profile.lower()), None)

    def describe(self, profile, section, place):
        """What this file offered, for the list of places looked at."""
        if not self.exists:
            return "the credentials file %s (no such file)" % self.path
        if section is None:
            return "%s, which has no profile %s (its profiles: %s)" % (
                self.path, shown(profile), ", ".join(self.sections) or "none")
        absent = [FILE_KEYS[name].upper() for name in KEY_OPTIONS if not section.get(FILE_KEYS[name])]
        return "%s (it has no %s)" % (place, " or ".join(absent)) if absent else place


def _parse(path, text):
    """Profile name -> keys; a file with no section header is the default profile."""
    # default_section names no real section, so [DEFAULT] is an ordinary profile whose keys never
    # leak into the others as configparser's defaults would.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        try:
            parser.read_string(text, source=path)
        except configparser.MissingSectionHeaderError:
            parser.read_string("[default]\n" + text, source=path)
    except configparser.Error as exc:
        raise CredentialsError("credentials file %s is not a valid INI file: %s" % (path, exc.message.splitlines()[0])) from None
    return {name: {key: _unquoted(value) for key, value in parser.items(name)} for name in parser.sections()}


def _unquoted(value):
    """A value without the matching quotes around it that the remote.it CLI also accepts (KEY="abc=")."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
