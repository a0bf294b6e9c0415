# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import sys

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ..plugin_utils.fakes import FakeClient

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates any string
    def trust_as_template(value):
        return value

SERVICE_ID = "80:00:00:00:01:00:01:01"


@pytest.fixture
def lookup(monkeypatch, tmp_path):
    """run(*terms, **keywords): the lookup with no key in the environment and an empty connections file."""
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    loader = DataLoader()
    play_vars = {"vault_secret": "YWJj"}
    plugin = lookup_loader.get("community.remoteit.remoteit_connection", loader=loader,
                               templar=Templar(loader, variables=play_vars))

    def run(*terms, variables=None, **keywords):
        keywords.setdefault("connections_file", str(tmp_path / "connections.json"))
        return plugin.run(list(terms), variables=dict(play_vars, **(variables or {})), **keywords)

    run.plugin = plugin
    return run


def test_missing_credentials_name_the_places_the_lookup_reads(lookup, tmp_path):
    missing = str(tmp_path / "no-credentials")
    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-kitchen/ssh", credentials_file=missing)
    assert (
        "community.remoteit.remoteit_connection lookup: no remote.it access_key_id and secret_access_key found. "
        "Looked in: the lookup's keywords (access_key_id, secret_access_key), the variables (remoteit_access_key_id, "
        "remoteit_secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY), the [remoteit] "
        "section of ansible.cfg (access_key_id, secret_access_key) and the credentials file %s (no such file)."
        % missing) in str(error.value)
    assert "task options" not in str(error.value)


def test_a_credentials_file_other_users_can_read_is_a_warning(lookup, tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text("[default]\nR3_ACCESS_KEY_ID=AK\nR3_SECRET_ACCESS_KEY=YWJj\n")
    os.chmod(path, 0o644)
    warnings = []
    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__].display, "warning", warnings.append)
    assert lookup(SERVICE_ID, credentials_file=str(path), on_missing="skip") == []
    assert warnings == ["the remote.it credentials file %s is readable by other users (mode 0644): chmod 600 %s"
                        % (path, path)]


def test_variables_are_templated_like_any_other(lookup, monkeypatch):
    used = []

    def build_client(options, *_sources):
        used.append(options["secret_access_key"])
        return FakeClient()

    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__], "build_client", build_client)
    variables = {"remoteit_access_key_id": "AK", "remoteit_secret_access_key": trust_as_template("{{ vault_secret }}")}
    assert lookup(SERVICE_ID, variables=variables, on_missing="skip") == []
    assert used == ["YWJj"]
