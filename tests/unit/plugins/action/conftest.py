# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the collection's action plugins in-process, as the controller does, over a FakeClient."""

from __future__ import annotations

import datetime
from unittest.mock import MagicMock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins import loader as plugin_loaders
from ansible.plugins.loader import action_loader
from ansible.template import Templar

from ansible_collections.community.remoteit.plugins.plugin_utils import _action
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._records import iso, now_utc

ENVIRONMENT = ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE",
               "REMOTEIT_API_URL", "REMOTEIT_VALIDATE_CERTS", "REMOTEIT_ACCOUNT_ID", "REMOTEIT_CONNECTIONS_FILE")


@pytest.fixture
def connections_file(tmp_path):
    return str(tmp_path / "connections.json")


@pytest.fixture
def store(connections_file):
    """The connections file the tasks use, to look at what they recorded."""
    return ConnectionStore(connections_file)


@pytest.fixture
def run_action(monkeypatch, connections_file):
    """run(module, client, check_mode=False, diff=False, task_vars=None, **args) -> the task's result.

    Each call is a new task, as the next task of a play would be: a fresh ActionModule over the same
    connections file, whose client is `client`, or with client=None the real one its options make.
    """
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    real_build_client = _action.build_client

    def build_client(options, sources, warn):
        if run.client is None:
            return real_build_client(options, sources, warn)
        return run.client

    monkeypatch.setattr(_action, "build_client", build_client)

    def run(module, client, check_mode=False, diff=False, task_vars=None, **args):
        args.setdefault("connections_file", connections_file)
        task = Task()
        task.action = "community.remoteit.%s" % module
        task.args = args
        task.check_mode = check_mode
        task.diff = diff
        loader = DataLoader()
        connection = MagicMock()
        connection._shell.tmpdir = None
        action = action_loader.get(task.action, task=task, connection=connection, play_context=PlayContext(),
                                   loader=loader, templar=Templar(loader), shared_loader_obj=plugin_loaders)
        assert action is not None, "ansible-core found no action plugin %s" % task.action
        run.client = client
        return action.run(task_vars=task_vars or {})

    return run


@pytest.fixture
def make_old(store):
    """make_old(*ids): those records were opened, and last seen listed by remote.it, an hour ago, so remote.it's
    word on them is no longer trusted and the next task asks again."""

    def make_old(*ids):
        an_hour_ago = iso(now_utc() - datetime.timedelta(hours=1))
        with store.update() as records:
            for record in records:
                if record["id"] in ids:
                    record.update(created=an_hour_ago, confirmed_at=an_hour_ago)

    return make_old
