# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_floor
short_description: Hosts and host variables read from a local JSON file, and nothing else
description:
  - Used by bench/bench.py only; not part of the collection. It measures what ansible-core charges any inventory
    plugin for the hosts and variables the remoteit plugin sets, so the remoteit plugin's own cost is the difference.
options:
  plugin:
    description: Always C(bench_floor).
    required: true
    choices: [bench_floor]
  hostvars_file:
    description: A JSON file mapping each host name to its variables.
    required: true
    type: path
"""

import json

from ansible.plugins.inventory import BaseInventoryPlugin


class InventoryModule(BaseInventoryPlugin):
    NAME = "bench_floor"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith("floor.yml")

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        with open(self.get_option("hostvars_file"), encoding="utf-8") as handle:
            hostvars = json.load(handle)
        group = self.inventory.add_group("remoteit_active")
        for host, variables in hostvars.items():
            self.inventory.add_host(host)
            self.inventory.add_child(group, host)
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
