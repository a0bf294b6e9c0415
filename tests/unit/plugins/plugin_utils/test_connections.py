# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
import time

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore


def test_records_round_trip_in_a_private_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "sub" / "connections.json"))
    assert store.records() == []
    with store.update() as records:
        records.append({"id": "c1", "port": 30000})
    assert store.records() == [{"id": "c1", "port": 30000}]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert json.loads(open(store.path).read())["version"] == 1


def test_an_unchanged_update_does_not_rewrite_the_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        records.append({"id": "c1"})
    before = os.stat(store.path).st_mtime_ns
    with store.update():
        pass
    assert os.stat(store.path).st_mtime_ns == before


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ('{"version": 1, "connections": {}}', "no 'connections' list"),
    ('{"version": 9, "connections": []}', "format version 9"),
    ('{"version": 1, "connections": [{"port": 1}]}', "has no id"),
])
def test_a_corrupt_file_stops_with_a_clear_error_and_is_kept(tmp_path, content, reason):
    path = tmp_path / "connections.json"
    path.write_text(content)
    store = ConnectionStore(str(path))
    with pytest.raises(RemoteitError) as error:
        with store.update() as records:
            records.append({"id": "c2"})
    assert reason in str(error.value) and str(path) in str(error.value)
    assert error.value.kind == "connections_file"
    assert path.read_text() == content


def _add_records(path, worker, count):
    store = ConnectionStore(path)
    for index in range(count):
        with store.update() as records:
            records.append({"id": "%d-%d" % (worker, index)})


def test_concurrent_writers_lose_no_record(tmp_path):
    path = str(tmp_path / "connections.json")
    workers = [multiprocessing.Process(target=_add_records, args=(path, worker, 10)) for worker in range(10)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    ids = {record["id"] for record in ConnectionStore(path).records()}
    assert len(ids) == 100


def test_exclusive_keys_take_turns_across_threads_and_other_keys_do_not_wait(tmp_path):
    """The eager inventory opens proxies from threads; one key's holders must never overlap, in threads too."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    inside, overlaps = [], []

    def hold(key):
        with store.exclusive(key):
            if key in inside:
                overlaps.append(key)
            inside.append(key)
            time.sleep(0.05)
            inside.remove(key)

    threads = [threading.Thread(target=hold, args=("service-a",)) for _holder in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert overlaps == []
    with store.exclusive("service-a"):
        other = threading.Thread(target=hold, args=("service-b",))
        other.start()
        other.join(5)
        assert not other.is_alive(), "another key does not wait for this one"
