# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A local stand-in for the remote.it GraphQL API, so the demo and every test run without an account.

See tests/sandbox/README.md. `Sandbox` is the in-process API; `python -m remoteit_sandbox` the CLI.
"""

from .server import Sandbox
from .world import WorldError, generate_world, load_world

__all__ = ["Sandbox", "WorldError", "generate_world", "load_world"]
