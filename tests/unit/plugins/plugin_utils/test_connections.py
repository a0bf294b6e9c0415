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

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager

from .fakes import FakeClient

SERVICE = "80:00:00:00:01:00:00:01"
ANOTHER_UID = 65534  # nobody
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")


def proxy(record_id="c1", **fields):
    """A record of a port proxy as ProxyManager writes it."""
    return dict({"id": record_id, "session_id": record_id, "api_url": FakeClient.api_url, "service_id": SERVICE,
                 "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00", "device_name": "pi-kitchen",
                 "host": "proxy.example", "port": 33000, "url": "tcp://proxy.example:33000", "reverse_proxy": False,
                 "host_ip": "255.255.255.255", "created": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T08:00:00Z",
                 "timeout": 28800, "confirmed_at": None}, **fields)


def write(path, records, mode=0o600):
    path.write_text(json.dumps({"version": 1, "connections": records}))
    os.chmod(path, mode)
    return path


def test_records_round_trip_in_a_private_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "sub" / "connections.json"))
    assert store.records() == []
    with store.update() as records:
        records.append(proxy("c1"))
    assert store.records() == [proxy("c1")]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert json.loads(open(store.path).read())["version"] == 1


def test_an_unchanged_update_does_not_rewrite_the_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        records.append(proxy("c1"))
    before = os.stat(store.path).st_mtime_ns
    with store.update():
        pass
    assert os.stat(store.path).st_mtime_ns == before


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ('{"version": 1, "connections": {}}', "no 'connections' list"),
    ('{"version": 9, "connections": []}', "format version 9"),
    ('{"version": 1, "connections": [{"port": 1}]}', "its record connections[0] is not valid: id: "),
])
def test_a_corrupt_file_stops_with_a_clear_error_and_is_kept(tmp_path, content, reason):
    path = tmp_path / "connections.json"
    path.write_text(content)
    store = ConnectionStore(str(path))
    with pytest.raises(RemoteitError) as error:
        with store.update() as records:
            records.append(proxy("c2"))
    assert reason in str(error.value) and str(path) in str(error.value)
    assert error.value.kind == "connections_file"
    assert path.read_text() == content


def _add_records(path, worker, count):
    store = ConnectionStore(path)
    for index in range(count):
        with store.update() as records:
            records.append(proxy("%d-%d" % (worker, index)))


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


# ---- what another user could have planted ---------------------------------------------------------

def refusal(action, store):
    """The RemoteitError that action(store) raises, as the user reads it."""
    with pytest.raises(RemoteitError) as error:
        action(store)
    assert error.value.kind == "connections_file"
    return str(error.value)


def read(store):
    return store.records()


def change(store):
    with store.update() as records:
        records.append(proxy("c9"))


def lock(store):
    with store.exclusive("a key"):
        pass


def claim(store):
    with store.claim("intent-1"):
        pass


@pytest.mark.parametrize("action", [read, change, lock, claim])
def test_a_directory_writable_by_others_is_refused_with_the_chmod_that_fixes_it(tmp_path, action):
    directory = tmp_path / "open-to-all"
    directory.mkdir()
    os.chmod(directory, 0o777)
    path = write(directory / "connections.json", [proxy("planted")])
    message = refusal(action, ConnectionStore(str(path)))
    assert ("directory %s of connections file %s is writable by group or others (mode 0777), so they could put "
            "records there that tell ssh and the modules where to connect: chmod go-w %s, or set connections_file to "
            "a file in a private directory such as ~/.remoteit" % (directory, path, directory)) == message
    assert sorted(os.listdir(directory)) == ["connections.json"]


@pytest.mark.parametrize("action", [read, change, lock, claim])
def test_a_shared_sticky_directory_like_tmp_is_refused_even_without_a_file(tmp_path, action):
    """The sticky bit keeps others from replacing a file in /tmp, not from planting one before it exists."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    os.chmod(directory, 0o1777)
    message = refusal(action, ConnectionStore(str(directory / "connections.json")))
    assert "directory %s of connections file %s is writable by group or others (mode 1777)" % (
        directory, directory / "connections.json") in message
    assert "chmod" not in message and "set connections_file to a file in a private directory" in message
    assert os.listdir(directory) == []


def test_a_group_writable_directory_is_refused(tmp_path):
    directory = tmp_path / "team"
    directory.mkdir()
    os.chmod(directory, 0o770)
    assert "(mode 0770)" in refusal(change, ConnectionStore(str(directory / "connections.json")))
    assert os.listdir(directory) == []


def test_a_missing_directory_is_created_private_and_reading_it_creates_nothing(tmp_path):
    store = ConnectionStore(str(tmp_path / "new" / "connections.json"))
    assert store.records() == [] and not (tmp_path / "new").exists()
    change(store)
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700


@needs_root
@pytest.mark.parametrize("action", [read, change, lock, claim])
def test_a_directory_of_another_user_is_refused(tmp_path, action):
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o755)
    os.chown(directory, ANOTHER_UID, -1)
    path = write(directory / "connections.json", [proxy("planted")])
    message = refusal(action, ConnectionStore(str(path)))
    assert "directory %s of connections file %s is owned by uid %d, not by you (uid 0) or root" % (
        directory, path, ANOTHER_UID) in message
    assert sorted(os.listdir(directory)) == ["connections.json"]


@needs_root
@pytest.mark.parametrize("action", [read, change])
def test_a_file_of_another_user_is_refused_and_kept(tmp_path, action):
    path = write(tmp_path / "connections.json", [proxy("planted")])
    os.chown(path, ANOTHER_UID, -1)
    before = path.read_text()
    message = refusal(action, ConnectionStore(str(path)))
    assert message == (
        "connections file %s is owned by uid %d, not by you (uid 0): its owner could have written records that tell "
        "ssh and the modules where to connect; move it aside or set connections_file to a file of your own in a "
        "private directory" % (path, ANOTHER_UID))
    assert path.read_text() == before and os.stat(path).st_uid == ANOTHER_UID


@needs_root
def test_a_directory_of_root_is_trusted_but_a_file_of_root_only_by_root(tmp_path, monkeypatch):
    """As OpenSSH does: only root can write to a directory of root's that is not writable by group or others."""
    path = write(tmp_path / "connections.json", [proxy("c1")])
    monkeypatch.setattr(os, "geteuid", lambda: ANOTHER_UID)
    assert "connections file %s is owned by uid 0, not by you (uid %d)" % (path, ANOTHER_UID) in refusal(
        read, ConnectionStore(str(path)))
    os.chown(path, ANOTHER_UID, -1)
    assert ConnectionStore(str(path)).records() == [proxy("c1")]


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_file_writable_by_group_or_others_is_refused(tmp_path, mode):
    path = write(tmp_path / "connections.json", [proxy("c1")], mode)
    message = refusal(read, ConnectionStore(str(path)))
    assert message == ("connections file %s is writable by group or others (mode %04o), so they could have written "
                       "records that tell ssh and the modules where to connect: move it aside, or check its records "
                       "and chmod go-w %s" % (path, mode, path))


def test_a_connections_file_that_is_a_symbolic_link_is_neither_read_nor_replaced(tmp_path):
    target = write(tmp_path / "elsewhere.json", [proxy("planted")])
    link = tmp_path / "connections.json"
    link.symlink_to(target)
    for action in (read, change):
        assert "%s is a symbolic link; the connections file and its locks are never opened through one" % link in (
            refusal(action, ConnectionStore(str(link))))
    assert link.is_symlink() and json.loads(target.read_text())["connections"] == [proxy("planted")]


def lock_link(tmp_path, name, points_to):
    link = tmp_path / name
    link.symlink_to(points_to)
    return ConnectionStore(str(tmp_path / "connections.json")), link


@pytest.mark.parametrize("action, name", [
    (change, "connections.json.lock"),
    (claim, "connections.json.intent-1.lock"),
    (lambda store: store.claimed("intent-1"), "connections.json.intent-1.lock"),
])
def test_a_lock_file_that_is_a_symbolic_link_is_refused_and_nothing_is_created_where_it_points(tmp_path, action, name):
    victim = tmp_path / "victim"
    store, link = lock_link(tmp_path, name, victim)
    message = refusal(action, store)
    assert message == ("%s (a lock of connections file %s) is a symbolic link; the connections file and its locks are "
                       "never opened through one, and nothing was created where it points: remove the link, or set "
                       "connections_file to a file in a private directory such as ~/.remoteit" % (link, store.path))
    assert not victim.exists() and link.is_symlink()
    assert not os.path.exists(store.path)


@pytest.mark.parametrize("existing", [True, False])
def test_a_lock_directory_that_is_a_symbolic_link_is_refused_and_nothing_is_created_where_it_points(tmp_path, existing):
    victim = tmp_path / "victim"
    if existing:
        victim.mkdir()
    store, link = lock_link(tmp_path, "connections.json.locks", victim)
    assert "%s (a lock of connections file %s) is a symbolic link" % (link, store.path) in refusal(lock, store)
    assert (os.listdir(victim) == []) if existing else not os.path.lexists(victim)


def test_a_lock_in_the_lock_directory_that_is_a_symbolic_link_is_refused(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    lock(store)
    bucket = next((tmp_path / "connections.json.locks").iterdir())
    bucket.unlink()
    bucket.symlink_to(tmp_path / "victim")
    with pytest.raises(RemoteitError, match="is a symbolic link"):
        with store.exclusive("a key"):
            pass
    assert not (tmp_path / "victim").exists()


# ---- records that must not be used --------------------------------------------------------------

@pytest.mark.parametrize("fields, problem", [
    ({"port": "abc"}, "port: 'abc' is not a port (an integer from 1 to 65535)"),
    ({"port": 0}, "port: 0 is not a port"),
    ({"port": 70000}, "port: 70000 is not a port"),
    ({"port": True}, "port: True is not a port"),
    ({"host": 5}, "host: 5 is not a host name or IP address"),
    ({"host": "-oProxyCommand=x"}, "host: '-oProxyCommand=x' is not a host name or IP address"),
    ({"host": "proxy.example -oProxyCommand=x"}, "host: 'proxy.example -oProxyCommand=x' is not a host name"),
    ({"host": "proxy.example\nProxyCommand x"}, "host: 'proxy.example\\nProxyCommand x' is not a host name"),
    ({"url": "file:///etc/passwd", "host": None, "port": None}, "host: None is not a host name or IP address"),
    ({"url": "file:///etc/passwd", "host": None, "port": None, "reverse_proxy": True},
     "url: 'file:///etc/passwd' is not a URL (http, https)"),
    ({"url": "https://x.p18.rt3.io", "reverse_proxy": True}, "port: a reverse proxy has no port, yet 33000 was given"),
    ({"reverse_proxy": "no"}, "reverse_proxy: 'no' is not true or false"),
    ({"service_id": "80:00:00:00:01:00:00:01' -oProxyCommand='x"}, "service_id: "),
    ({"host_ip": "latching; x"}, "host_ip: 'latching; x' is not an IP address"),
])
def test_a_malformed_record_is_an_error_naming_the_file_the_record_and_the_field(tmp_path, fields, problem):
    path = write(tmp_path / "connections.json", [proxy("c1"), proxy("c2", **fields)])
    before = path.read_text()
    for action in (read, change):
        message = refusal(action, ConnectionStore(str(path)))
        assert message.startswith("connections file %s cannot be used: its record connections[1] (id c2) is not valid: "
                                  % path)
        assert problem in message
        assert message.endswith("It was left as it is: repair it, or move it aside to start a new one (proxies it "
                                "recorded stay open until they expire).")
    assert path.read_text() == before


def test_a_record_that_is_not_an_object_or_a_malformed_intent_is_an_error(tmp_path):
    path = write(tmp_path / "connections.json", ["c1"])
    assert "its record connections[0] is not valid: it is not an object" in refusal(read, ConnectionStore(str(path)))
    intent = {"id": "../../../etc/x", "intent": True, "api_url": FakeClient.api_url, "service_id": SERVICE,
              "host_ip": "255.255.255.255", "started": "2026-01-01T00:00:00Z"}
    write(path, [intent])
    assert "connections[0] (id ../../../etc/x) is not valid: id: '../../../etc/x' is not an intent id" in refusal(
        read, ConnectionStore(str(path)))


def test_the_id_of_a_malformed_record_is_shown_escaped_and_cut(tmp_path):
    path = write(tmp_path / "connections.json", [proxy("\x1b[2J" + "x" * 500)])
    message = refusal(read, ConnectionStore(str(path)))
    assert "(id \\x1b[2J" + "x" * 193 + "...(504 characters)) is not valid" in message
    assert "\x1b" not in message


def test_records_this_code_writes_are_read_back(tmp_path):
    """Port and reverse proxies and the intent of a connect waiting for its answer, as ProxyManager writes them."""
    client = FakeClient()
    store = ConnectionStore(str(tmp_path / "connections.json"))
    manager = ProxyManager(client, store)
    intents = []
    client.before_connect = lambda: intents.extend(record for record in store.records() if record.get("intent"))
    target = {"service_id": SERVICE, "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00",
              "device_name": "pi-kitchen", "device_state": "active", "service_state": "active"}
    port_proxy = manager.open(target, "255.255.255.255")
    client.answer = {"host": None, "port": None, "url": "https://x.p18.rt3.io", "reverseProxy": True}
    reverse_proxy = manager.open(target, "0.0.0.0")
    assert len(intents) == 2 and intents[0]["id"].startswith("intent-")
    assert ConnectionStore(store.path).records() == [port_proxy, reverse_proxy]
    assert reverse_proxy["reverse_proxy"] is True and reverse_proxy["port"] is None


def test_a_record_is_checked_once_per_process_and_again_once_it_changes(tmp_path, monkeypatch):
    from ansible_collections.community.remoteit.plugins.plugin_utils import _connections
    monkeypatch.setattr(_connections, "_CHECKED", set())
    store = ConnectionStore(str(write(tmp_path / "connections.json", [proxy("c1"), proxy("c2")])))
    checked = []
    real_check = _connections._untrusted.record
    monkeypatch.setattr(_connections._untrusted, "record", lambda item: checked.append(item["id"]) or real_check(item))
    assert [record["id"] for record in store.records()] == ["c1", "c2"]
    assert [record["id"] for record in store.records()] == ["c1", "c2"]
    assert checked == ["c1", "c2"]
    os.replace(write(tmp_path / "next.json", [proxy("c1"), proxy("c3")]), store.path)  # another process's write
    assert [record["id"] for record in store.records()] == ["c1", "c3"]
    assert checked == ["c1", "c2", "c3"]
    os.replace(write(tmp_path / "next.json", [proxy("c1"), proxy("c3", port="22; touch x")]), store.path)
    with pytest.raises(RemoteitError, match=r"connections\[1\] \(id c3\) is not valid: port"):
        store.records()


def test_an_edit_in_place_of_the_same_size_is_read(tmp_path):
    path = write(tmp_path / "connections.json", [proxy("c1", port=33000)])
    store = ConnectionStore(str(path))
    assert store.records()[0]["port"] == 33000
    path.write_text(path.read_text().replace("33000", "33001"))
    later = os.stat(path).st_mtime_ns + 10 ** 9  # an editor's write, a moment later
    os.utime(path, ns=(later, later))
    assert store.records()[0]["port"] == 33001


def test_a_record_a_caller_changes_is_not_changed_in_the_next_read(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        records.append(proxy("c1"))
    store.records()[0]["port"] = 1
    with store.update() as records:
        records[0]["host"] = "changed.example"
        assert records[0]["port"] == 33000
    assert store.records() == [proxy("c1", host="changed.example")]
    assert json.loads(open(store.path).read())["connections"] == [proxy("c1", host="changed.example")]


def test_a_checked_record_does_not_vouch_for_one_that_differs_only_in_a_values_type(tmp_path, monkeypatch):
    from ansible_collections.community.remoteit.plugins.plugin_utils import _connections
    monkeypatch.setattr(_connections, "_CHECKED", set())
    store = ConnectionStore(str(write(tmp_path / "connections.json", [proxy("c1", port=1, url="tcp://proxy.example:1")])))
    assert store.records()[0]["port"] == 1
    os.replace(write(tmp_path / "next.json", [proxy("c1", port=True, url="tcp://proxy.example:1")]), store.path)
    with pytest.raises(RemoteitError, match=r"connections\[0\] \(id c1\) is not valid: port"):
        store.records()
