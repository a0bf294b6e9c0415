# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The device filters that remoteit_device_info and the inventory plugin share (_devices.device_matches applies
    # them); the event source device_events documents its own name_contains and application alike.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Only the device with exactly this name, compared case-insensitively.
    type: str
  name_contains:
    description:
      - Only devices whose name contains this text, compared case-insensitively.
    type: str
  application:
    description:
      - Only devices with a service of this application type, by name such as V(ssh) or by id such as V(28).
      - A name costs one request for remote.it's application types; an id costs none.
    type: str
"""
