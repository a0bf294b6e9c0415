# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import sys

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ..plugin_utils.fakes import FakeClient, device

FLEET = [
    device("pi-kitchen", "80:00:00:00:01:00:00:00"),
    device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
]


@pytest.fixture
def build_inventory(tmp_path, monkeypatch):
    """build(client=None, **options) -> InventoryData from a devices.remoteit.yml with these options."""
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    plugin = inventory_loader.get("community.remoteit.remoteit")

    def build(client=None, **options):
        if client is not None:
            monkeypatch.setattr(sys.modules[type(plugin).__module__], "build_client",
                                lambda *_args: client)
        path = tmp_path / "devices.remoteit.yml"
        path.write_text(json.dumps(dict(options, plugin="community.remoteit.remoteit")))
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=False)
        return inventory

    return build


def test_inactive_devices_are_hosts_in_their_own_group_by_default(build_inventory):
    inventory = build_inventory(FakeClient(FLEET))
    assert sorted(inventory.hosts) == ["gateway-01", "pi-kitchen"]
    assert [host.name for host in inventory.groups["remoteit_active"].get_hosts()] == ["pi-kitchen"]
    assert [host.name for host in inventory.groups["remoteit_inactive"].get_hosts()] == ["gateway-01"]


def test_include_inactive_false_leaves_inactive_devices_out(build_inventory):
    inventory = build_inventory(FakeClient(FLEET), include_inactive=False)
    assert sorted(inventory.hosts) == ["pi-kitchen"]
    assert "remoteit_inactive" not in inventory.groups


def test_missing_credentials_name_the_places_the_inventory_reads(build_inventory, tmp_path):
    missing = str(tmp_path / "no-credentials")
    with pytest.raises(AnsibleParserError) as error:
        build_inventory(credentials_file=missing)
    path = tmp_path / "devices.remoteit.yml"
    assert (
        "no remote.it access_key_id and secret_access_key found. Looked in: the inventory file %s (access_key_id, "
        "secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY), the [remoteit] section of "
        "ansible.cfg (access_key_id, secret_access_key) and the credentials file %s (no such file)."
        % (path, missing)) in str(error.value)
