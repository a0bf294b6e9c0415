# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The example rulebook, what it refers to, and the guide that shows it (end to end: tests/e2e/test_device_events.py)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COLLECTION_ROOT = Path(__file__).resolve().parents[3]
RULEBOOK = COLLECTION_ROOT / "extensions" / "eda" / "rulebooks" / "configure_online_devices.yml"
GUIDE = COLLECTION_ROOT / "docs" / "docsite" / "rst" / "guide_eda.rst"


def guide_yaml_blocks():
    """The text of each `.. code-block:: yaml` of the guide, unindented."""
    blocks = re.findall(r"^\.\. code-block:: yaml\n\n((?:  .*\n|\n)+)", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    return ["\n".join(line[2:] for line in block.splitlines()) for block in blocks]


def test_the_guide_shows_the_example_rulebook_as_it_is():
    shown = [block for block in guide_yaml_blocks() if block.startswith("# extensions/eda/rulebooks/%s" % RULEBOOK.name)]
    assert len(shown) == 1
    assert yaml.safe_load(shown[0]) == yaml.safe_load(RULEBOOK.read_text(encoding="utf-8"))


def test_the_example_rulebook_names_the_collections_own_source_and_playbook():
    ruleset = yaml.safe_load(RULEBOOK.read_text(encoding="utf-8"))[0]
    sources = [name for source in ruleset["sources"] for name in source if name != "name"]
    playbooks = [rule["action"]["run_playbook"]["name"] for rule in ruleset["rules"] if "run_playbook" in rule["action"]]
    assert sources == ["community.remoteit.device_events"]
    assert (COLLECTION_ROOT / "extensions" / "eda" / "plugins" / "event_source" / "device_events.py").is_file()
    assert playbooks == ["community.remoteit.eda_configure_device"]
    assert (COLLECTION_ROOT / "playbooks" / "eda_configure_device.yml").is_file()
