# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the event source's tests: a sandbox per test, whose world the test changes as it goes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"  # holds the remoteit_sandbox package
if str(SANDBOX_DIR) not in sys.path:
    sys.path.insert(0, str(SANDBOX_DIR))

from remoteit_sandbox import Sandbox  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def make_sandbox():
    """Start sandboxes (the demo world by default); each stops with the test."""
    started = []

    def make(world=None):
        sandbox = Sandbox(world).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox):
    return make_sandbox()
