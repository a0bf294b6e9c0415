# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the event source's tests: a sandbox per test, whose world the test changes as it goes."""

from __future__ import annotations

# The sandbox's tests start sandboxes already (with local stand-ins for device services): the same fixtures.
from ..sandbox.conftest import echo_port, http_port, make_sandbox, sandbox  # noqa: F401  pylint: disable=unused-import
