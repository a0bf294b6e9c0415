# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import stat
import threading
import time

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils import _connections
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
    """A connections file of format 1, as versions before the journal wrote it."""
    path.write_text(json.dumps({"version": 1, "connections": records}))
    os.chmod(path, mode)
    return path


def write_journal(path, records, generation="0123456789abcdef", mode=0o600):
    """A connections file of format 2: a header and a put per record."""
    path.write_text("".join(json.dumps(line) + "\n" for line in [{"version": 2, "generation": generation}]
                            + [{"put": record} for record in records]))
    os.chmod(path, mode)
    return path


def lines(path):
    """The journal's complete lines, parsed: its header first."""
    complete = open(path, "rb").read().rpartition(b"\n")[0]
    return [json.loads(line) for line in complete.split(b"\n")] if complete else []


def fold(path):
    """The records a journal leaves, folded here independently of the code under test."""
    records = {}
    for line in lines(path)[1:]:
        if "put" in line:
            records[line["put"]["id"]] = line["put"]
        else:
            records.pop(line["delete"], None)  # as the collection folds a delete of a record already gone
    return list(records.values())


def forget_what_this_process_read(monkeypatch):
    """This process reads the file afresh, as another one would."""
    monkeypatch.setattr(_connections, "_JOURNALS", {})


def in_another_process(action, *args):
    """Run action(*args) in a forked process (as Ansible's workers are): what it reads and writes does not reach
    this process's cache."""
    worker = multiprocessing.get_context("fork").Process(target=action, args=args)
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0


def test_records_round_trip_in_a_private_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "sub" / "connections.json"))
    assert store.records() == []
    with store.update() as records:
        records.append(proxy("c1"))
    assert store.records() == [proxy("c1")]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    header = lines(store.path)[0]
    assert list(header) == ["version", "generation", "records"] and header["version"] == 2 and header["records"] == 1
    assert re.fullmatch("[0-9a-f]{16}", header["generation"])
    assert fold(store.path) == [proxy("c1")]


def test_an_unchanged_update_does_not_rewrite_the_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        records.append(proxy("c1"))
    before = os.stat(store.path).st_mtime_ns
    with store.update():
        pass
    assert os.stat(store.path).st_mtime_ns == before


HEADER = '{"version": 2, "generation": "0123456789abcdef"}\n'
PUT = json.dumps({"put": proxy("c1")}) + "\n"


@pytest.mark.parametrize("content, reason", [
    ("{not json", "it is not valid JSON"),
    ('{"version": 1, "connections": {}}', "it has no 'connections' list"),
    ('{"version": 9, "connections": []}', "its format version 9 is neither 1 nor 2"),
    ('{"version": 3, "generation": "ab"}\n{"put": {}}\n', "its format version 3 is neither 1 nor 2"),
    ('{"version": 1, "connections": [{"port": 1}]}', "its record connections[0] is not valid: id: "),
    (HEADER + PUT + '{"put": {"id": "c2", "port": 1\n' + PUT, "its line 3 is not valid JSON (Expecting"),
    (HEADER + PUT + "\n", "its line 3 is not valid JSON"),
    (HEADER + '{"put": {"port": 1}}\n', "its record on line 2 is not valid: id: "),
    (HEADER + '{"put": "c1"}\n', "its record on line 2 is not valid: it is not an object"),
    (HEADER + PUT + '{"delete": 5}\n', 'its line 3 is neither {"put": record} nor {"delete": id}'),
    (HEADER + '{"put": %s, "delete": "c1"}\n' % json.dumps(proxy("c1")), "its line 2 is neither"),
    (HEADER + PUT + "[]\n", "its line 3 is neither"),
])
def test_a_corrupt_file_stops_with_a_clear_error_and_is_kept(tmp_path, content, reason):
    path = tmp_path / "connections.json"
    path.write_text(content)
    store = ConnectionStore(str(path))
    for action in (read, change):
        with pytest.raises(RemoteitError) as error:
            action(store)
        assert ("connections file %s cannot be used: %s" % (path, reason)) in str(error.value)
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
@pytest.mark.parametrize("write_file, where", [(write, "connections[1]"), (write_journal, "on line 3")])
def test_a_malformed_record_is_an_error_naming_the_file_the_record_and_the_field(
        tmp_path, fields, problem, write_file, where):
    path = write_file(tmp_path / "connections.json", [proxy("c1"), proxy("c2", **fields)])
    before = path.read_text()
    for action in (read, change):
        message = refusal(action, ConnectionStore(str(path)))
        assert message.startswith("connections file %s cannot be used: its record %s (id c2) is not valid: "
                                  % (path, where))
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


def test_a_record_is_checked_once_per_process_and_a_later_line_is_checked_as_it_is_read(tmp_path, monkeypatch):
    store = ConnectionStore(str(write_journal(tmp_path / "connections.json", [proxy("c1"), proxy("c2")])))
    checked = []
    real_check = _connections._untrusted.record
    monkeypatch.setattr(_connections._untrusted, "record", lambda item: checked.append(item["id"]) or real_check(item))
    assert [record["id"] for record in store.records()] == ["c1", "c2"]
    assert [record["id"] for record in store.records()] == ["c1", "c2"]
    assert checked == ["c1", "c2"]
    with open(store.path, "a") as journal:  # another process's change
        journal.write(json.dumps({"put": proxy("c3")}) + "\n" + json.dumps({"delete": "c2"}) + "\n")
    assert [record["id"] for record in store.records()] == ["c1", "c3"]
    assert checked == ["c1", "c2", "c3"]
    with open(store.path, "a") as journal:
        journal.write(json.dumps({"put": proxy("c1", port=True, url="tcp://proxy.example:1")}) + "\n")
    with pytest.raises(RemoteitError, match=r"its record on line 6 \(id c1\) is not valid: port: True is not a port"):
        store.records()
    with pytest.raises(RemoteitError, match="on line 6"):
        store.records()  # the line is refused again, not skipped


@pytest.mark.parametrize("write_file", [write, write_journal])
def test_an_edit_in_place_of_the_same_size_is_read(tmp_path, write_file):
    """A journal edited in place (its last line, as an editor that keeps the inode would) or replaced by a file that
    keeps its generation is read again in full."""
    path = write_file(tmp_path / "connections.json", [proxy("c1", port=33000)])
    store = ConnectionStore(str(path))
    assert store.records()[0]["port"] == 33000
    path.write_text(path.read_text().replace("33000", "33001"))
    later = os.stat(path).st_mtime_ns + 10 ** 9  # an editor's write, a moment later
    os.utime(path, ns=(later, later))
    assert store.records()[0]["port"] == 33001
    os.replace(write_file(tmp_path / "edited.json", [proxy("c1", port=33002)]), path)
    assert store.records()[0]["port"] == 33002


def test_a_record_a_caller_changes_is_not_changed_in_the_next_read(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        records.append(proxy("c1"))
    store.records()[0]["port"] = 1
    with store.update() as records:
        records[0]["host"] = "changed.example"
        assert records[0]["port"] == 33000
    assert store.records() == [proxy("c1", host="changed.example")]
    assert fold(store.path) == [proxy("c1", host="changed.example")]


def test_a_record_the_caller_keeps_after_the_change_is_not_the_one_recorded(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    with store.update() as records:
        kept = proxy("c1")
        records.append(kept)
    kept["port"] = 1
    assert store.records() == [proxy("c1")]


# ---- the journal ---------------------------------------------------------------------------------

def put(store, *records):
    with store.update() as stored:
        known = {record["id"]: index for index, record in enumerate(stored)}
        for record in records:
            if record["id"] in known:
                stored[known[record["id"]]] = record
            else:
                stored.append(record)


def delete(store, record_id):
    with store.update() as records:
        records[:] = [record for record in records if record["id"] != record_id]


def test_a_change_appends_its_line_to_the_same_file(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"), proxy("c2"))
    inode, size = os.stat(store.path).st_ino, os.stat(store.path).st_size
    put(store, proxy("c2", port=33002))
    assert os.stat(store.path).st_ino == inode
    assert open(store.path, "rb").read()[size:] == (json.dumps({"put": proxy("c2", port=33002)}, sort_keys=True)
                                                    + "\n").encode()
    assert lines(store.path)[-1] == {"put": proxy("c2", port=33002)}  # tail shows the latest change
    assert store.records() == fold(store.path) == [proxy("c1"), proxy("c2", port=33002)]


@pytest.mark.parametrize("count", [10, 1000])
def test_a_change_writes_one_line_whatever_the_number_of_records(tmp_path, count):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, *(proxy("c%d" % index) for index in range(count)))
    before = open(store.path, "rb").read()
    put(store, proxy("c5", confirmed_at="2026-01-01T00:10:00Z"))
    after = open(store.path, "rb").read()
    assert after.startswith(before)
    assert after[len(before):] == (json.dumps({"put": proxy("c5", confirmed_at="2026-01-01T00:10:00Z")},
                                              sort_keys=True) + "\n").encode()


def test_a_record_dropped_is_a_delete_line(tmp_path, monkeypatch):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"), proxy("c2"), proxy("c3"))
    delete(store, "c2")
    assert lines(store.path)[-1] == {"delete": "c2"}
    assert [record["id"] for record in store.records()] == ["c1", "c3"]
    forget_what_this_process_read(monkeypatch)
    assert [record["id"] for record in store.records()] == ["c1", "c3"]


def test_one_change_of_several_records_is_one_append_puts_first(tmp_path):
    """An intent replaced by the record of the proxy its connect opened: were the write cut short, the record
    would be there, and the intent merely late to go."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"), proxy("c2"))
    with store.update() as records:
        records[:] = [records[1], proxy("c3")]
    assert lines(store.path)[-2:] == [{"put": proxy("c3")}, {"delete": "c1"}]
    assert store.records() == [proxy("c2"), proxy("c3")]


def test_the_journal_is_compacted_once_it_outgrows_its_records(tmp_path, monkeypatch):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, *(proxy("c%d" % index) for index in range(10)))
    generations = {lines(store.path)[0]["generation"]}
    longest = 0
    for change in range(300):
        put(store, proxy("c3", port=30000 + change))
        longest = max(longest, len(lines(store.path)) - 1)
        generations.add(lines(store.path)[0]["generation"])
    assert longest <= 2 * 10 + 64
    assert len(generations) >= 300 // (10 + 64)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    expected = [proxy("c%d" % index, **({"port": 30299} if index == 3 else {})) for index in range(10)]
    assert store.records() == fold(store.path) == expected
    forget_what_this_process_read(monkeypatch)
    assert store.records() == expected


def _change_many_times(path, record_id, times):
    store = ConnectionStore(path)
    for change in range(times):
        put(store, proxy(record_id, port=40000 + change))


def test_a_header_without_its_records_count_is_compacted_by_the_first_change_past_64_lines(tmp_path):
    """A journal written before the header counted its records: it is compacted as soon as it is longer than 64
    lines, and its new header says how many it holds."""
    path = write_journal(tmp_path / "connections.json", [proxy("c%d" % index) for index in range(60)])
    store = ConnectionStore(str(path))
    for change in range(4):
        put(store, proxy("c1", port=31000 + change))
    assert "records" not in lines(path)[0] and len(lines(path)) == 1 + 64
    put(store, proxy("c1", port=30999))
    assert lines(path)[0]["records"] == 60 and len(lines(path)) == 1 + 60
    assert store.records() == fold(path)


def test_a_journal_is_not_compacted_before_it_grew_by_twice_its_records_and_64_lines(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, *(proxy("c%d" % index) for index in range(100)))
    generation = lines(store.path)[0]["generation"]
    for change in range(2 * 100 + 64 - 100):
        with store.update([SERVICE]) as records:
            records[change % 100] = dict(records[change % 100], port=31000 + change)
    assert lines(store.path)[0]["generation"] == generation and len(lines(store.path)) == 1 + 2 * 100 + 64
    put(store, proxy("c1", port=30999))
    assert lines(store.path)[0]["generation"] != generation and len(lines(store.path)) == 1 + 100


SERVICES = ("80:00:00:00:01:00:00:01", "80:00:00:00:01:00:00:02", "80:00:00:00:01:00:00:03")


def _random_journal(path, seed, changes=300):
    """A journal such as many runs and hand edits leave: records of three services, their ids and service ids in
    either case, puts, deletes, names that need escapes, lines that spell a service id or a record's id in
    escapes, and records a hand edit moved to another service."""
    import random  # pylint: disable=import-outside-toplevel
    chance = random.Random(seed)
    lines_written = [json.dumps({"version": 2, "generation": "%016x" % seed, "records": 0})]
    ids = ["c%d" % index for index in range(40)]
    for _change in range(changes):
        record_id = chance.choice(ids)
        if chance.random() < 0.25:
            line = json.dumps({"delete": record_id if chance.random() < 0.8 else record_id.upper()})
        else:
            service = chance.choice(SERVICES)
            service = service.upper() if chance.random() < 0.3 else service
            record = proxy(record_id, service_id=service, port=chance.randrange(30000, 40000),
                           device_name=chance.choice(["pi", "Küche", "line\u2028", "é\"{{"]))
            line = json.dumps({"put": record}, ensure_ascii=chance.random() < 0.5)
            if chance.random() < 0.1:  # a service id spelled in escapes
                line = line.replace(service, "".join("\\u%04x" % ord(character) for character in service))
            if chance.random() < 0.05:  # a record id spelled in escapes
                line = line.replace('"id": "%s"' % record_id,
                                    '"id": "%s"' % "".join("\\u%04x" % ord(character) for character in record_id))
        lines_written.append(line)
    path.write_bytes("\n".join(lines_written).encode("utf-8") + b"\n")
    os.chmod(path, 0o600)
    return path


def of_service(records, service):
    """The records of a service, by id: a record a hand edit moved between services has no other order."""
    return sorted((record for record in records if record["service_id"].lower() == service.lower()),
                  key=lambda record: record["id"])


def by_id(records):
    return sorted(records, key=lambda record: record["id"])


@pytest.mark.parametrize("seed", range(8))
def test_a_read_of_one_service_finds_exactly_the_records_a_whole_read_finds_of_it(tmp_path, monkeypatch, seed):
    path = _random_journal(tmp_path / "connections.json", seed)
    whole = fold(path)
    assert store_records(path) == whole
    for service in SERVICES + tuple(service.upper() for service in SERVICES):
        forget_what_this_process_read(monkeypatch)
        assert by_id(ConnectionStore(str(path)).records([service])) == of_service(whole, service)
    assert by_id(ConnectionStore(str(path)).records(SERVICES[:2])) == by_id(
        record for record in whole if record["service_id"].lower() != SERVICES[2])


def store_records(path):
    return ConnectionStore(str(path)).records()


@pytest.mark.parametrize("seed", range(4))
def test_a_read_of_one_service_after_other_processes_appended_reads_only_what_they_appended(tmp_path, seed):
    """A reader of one service that read the journal before reads the lines appended since, and finds what a
    whole read finds: a later delete of its record names only the record's id."""
    source = _random_journal(tmp_path / "source.json", seed)
    header, *changes = open(source, "rb").read().split(b"\n")[:-1]
    path = tmp_path / "connections.json"
    path.write_bytes(header + b"\n")
    os.chmod(path, 0o600)
    store = ConnectionStore(str(path))
    for start in range(0, len(changes), 37):
        with open(path, "ab") as journal:
            journal.write(b"".join(line + b"\n" for line in changes[start:start + 37]))
        for service in SERVICES:
            assert by_id(store.records([service])) == of_service(fold(path), service)


def test_a_read_of_one_service_parses_and_checks_only_the_lines_that_can_concern_it(tmp_path, monkeypatch):
    ours, theirs = SERVICES[0], SERVICES[1]
    path = write_journal(tmp_path / "connections.json", [proxy("c1", service_id=ours)] + [
        proxy("t%d" % index, service_id=theirs) for index in range(50)])
    with open(path, "a") as journal:
        journal.write(json.dumps({"put": proxy("t7", service_id=theirs, port="not a port")}) + "\n")
        journal.write(json.dumps({"delete": "c1"}) + "\n")
        journal.write(json.dumps({"put": proxy("c2", service_id=ours.upper())}) + "\n")
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(_connections.json, "loads", lambda data: parsed.append(data) or real_loads(data))
    assert ConnectionStore(str(path)).records([ours]) == [proxy("c2", service_id=ours.upper())]
    assert len(parsed) == 4  # the header, c1's put and delete, c2's put
    forget_what_this_process_read(monkeypatch)
    with pytest.raises(RemoteitError, match=r"its record on line 53 \(id t7\) is not valid: port"):
        ConnectionStore(str(path)).records()  # a whole read checks every line
    with pytest.raises(RemoteitError, match=r"line 53 \(id t7\)"):
        ConnectionStore(str(path)).records([theirs])


def test_a_line_of_our_service_that_is_corrupt_stops_a_read_of_our_service(tmp_path):
    path = write_journal(tmp_path / "connections.json", [proxy("c1")])
    with open(path, "a") as journal:
        journal.write('{"put": {"service_id": "%s", "id": 7}}\n' % SERVICE.upper())
        journal.write('{"put": "%s"}\n' % SERVICES[1])
    with pytest.raises(RemoteitError, match=r"its record on line 3 \(id 7\) is not valid: id: 7"):
        ConnectionStore(str(path)).records([SERVICE])
    with open(path, "w") as journal:  # a put whose service cannot be told is checked by every reader
        journal.write(json.dumps({"version": 2, "generation": "0" * 16}) + "\n" + '{"put": "%s"}\n' % SERVICES[1])
    with pytest.raises(RemoteitError, match=r"its record on line 2 is not valid: it is not an object"):
        ConnectionStore(str(path)).records([SERVICES[1]])


def test_an_update_of_one_service_keeps_the_others_as_they_are_and_puts_only_its_own(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1", service_id=SERVICES[0]), proxy("c2", service_id=SERVICES[1]))
    with store.update([SERVICES[0].upper()]) as records:
        assert records == [proxy("c1", service_id=SERVICES[0])]
        records[:] = [proxy("c3", service_id=SERVICES[0])]
    assert lines(store.path)[-2:] == [{"put": proxy("c3", service_id=SERVICES[0])}, {"delete": "c1"}]
    assert store.records() == [proxy("c2", service_id=SERVICES[1]), proxy("c3", service_id=SERVICES[0])]
    before = open(store.path, "rb").read()
    with pytest.raises(ValueError, match="put a record of another"):
        with store.update([SERVICES[0]]) as records:
            records.append(proxy("c4", service_id=SERVICES[1]))
    assert open(store.path, "rb").read() == before


def test_an_update_of_one_service_compacts_the_whole_journal(tmp_path, monkeypatch):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, *(proxy("t%d" % index, service_id=SERVICES[1]) for index in range(5)))
    for change in range(2 * 5 + 64 + 1):
        with store.update([SERVICES[0]]) as records:
            records[:] = [proxy("c1", service_id=SERVICES[0], port=31000 + change)]
    assert lines(store.path)[0]["records"] == 6
    assert store.records() == fold(store.path) == [proxy("t%d" % index, service_id=SERVICES[1]) for index in range(5)] + [
        proxy("c1", service_id=SERVICES[0], port=31000 + 2 * 5 + 64)]
    forget_what_this_process_read(monkeypatch)
    assert store.records([SERVICES[0]]) == [proxy("c1", service_id=SERVICES[0], port=31000 + 2 * 5 + 64)]


def test_a_read_by_service_and_ids_finds_the_records_of_those_ids_whatever_their_service(tmp_path):
    path = write_journal(tmp_path / "connections.json", [proxy("c1", service_id=SERVICES[0]),
                                                         proxy("c2", service_id=SERVICES[1]),
                                                         proxy("c3", service_id=SERVICES[2])])
    assert by_id(ConnectionStore(str(path)).records([SERVICES[0]], ids=["C3"])) == [
        proxy("c1", service_id=SERVICES[0]), proxy("c3", service_id=SERVICES[2])]
    with ConnectionStore(str(path)).update([SERVICES[0]], ids=["c3"]) as records:  # as an adoption checks them
        assert by_id(records) == [proxy("c1", service_id=SERVICES[0]), proxy("c3", service_id=SERVICES[2])]


def test_a_put_that_takes_a_record_of_the_service_away_is_checked_by_its_readers(tmp_path):
    """A hand edit that moves a record to another service changes what the service's readers hold: the line is
    checked as theirs would be."""
    path = write_journal(tmp_path / "connections.json", [proxy("c1", service_id=SERVICES[0])])
    with open(path, "a") as journal:
        journal.write(json.dumps({"put": proxy("c1", service_id=SERVICES[1], port="not a port")}) + "\n")
    with pytest.raises(RemoteitError, match=r"its record on line 3 \(id c1\) is not valid: port"):
        ConnectionStore(str(path)).records([SERVICES[0]])


def test_a_file_of_format_1_is_read_by_service(tmp_path):
    path = write(tmp_path / "connections.json", [proxy("c1", service_id=SERVICES[0]),
                                                 proxy("c2", service_id=SERVICES[1].upper())])
    assert ConnectionStore(str(path)).records([SERVICES[1]]) == [proxy("c2", service_id=SERVICES[1].upper())]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-32"])
def test_a_line_in_another_encoding_is_refused_by_every_reader(tmp_path, encoding):
    """json reads UTF-16 and UTF-32 too, where a byte search for an id finds nothing: every reader refuses it."""
    path = write_journal(tmp_path / "connections.json", [proxy("c1")])
    with open(path, "ab") as journal:
        journal.write(json.dumps({"delete": "c1"}).encode(encoding) + b"\n")
    for services in (None, [SERVICE], [SERVICES[1]]):
        with pytest.raises(RemoteitError, match="its line 3 is not valid JSON"):
            ConnectionStore(str(path)).records(services)


def test_a_record_of_another_service_that_cannot_be_used_never_loses_a_change_nor_stops_one(tmp_path, monkeypatch):
    """A compaction reads every record: one of another service that no check passes leaves the journal as it is,
    and the change is appended (it was made already); reads that need that record name it."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("b1", service_id=SERVICES[1]))
    with open(store.path, "a") as journal:
        journal.write(json.dumps({"put": proxy("b1", service_id=SERVICES[1], port="not a port")}) + "\n")
    whole_reads = []
    real_read = ConnectionStore._read
    monkeypatch.setattr(ConnectionStore, "_read", lambda self, fd, selection: (
        whole_reads.append(1) if selection is None else None) or real_read(self, fd, selection))
    for change in range(200):
        with store.update([SERVICE]) as records:
            records[:] = [proxy("c1", port=31000 + change)]
    assert len(lines(store.path)) == 1 + 2 + 200
    assert len(whole_reads) == 3  # tried as the journal passed 2 x 1 + 64 lines, then every 64 lines
    assert store.records([SERVICE]) == [proxy("c1", port=31199)]
    with pytest.raises(RemoteitError, match=r"its record on line 3 \(id b1\) is not valid: port"):
        store.records()


def not_writable_by_the_user(monkeypatch):
    """The connections file is the user's, but opening it to write is refused, as for a file of mode 0400."""
    real_open = ConnectionStore._open

    def read_only(self, name, dir_fd, flags, in_directory=None):
        if name == self.name and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(self, name, dir_fd, flags, in_directory)

    monkeypatch.setattr(ConnectionStore, "_open", read_only)


def test_a_change_of_one_service_to_a_file_the_user_may_not_write_to_keeps_every_record(tmp_path, monkeypatch):
    """Such a file is replaced, whole: with every record, the last one too where a hand edit left it without its
    newline."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("b1", service_id=SERVICES[1]))
    with open(store.path, "ab") as journal:
        journal.write(json.dumps({"put": proxy("b2", service_id=SERVICES[1])}).encode())
    not_writable_by_the_user(monkeypatch)
    with store.update([SERVICE]) as records:
        records.append(proxy("c1"))
    assert fold(store.path) == [proxy("b1", service_id=SERVICES[1]), proxy("b2", service_id=SERVICES[1]), proxy("c1")]


@pytest.mark.parametrize("service", ["", "\n", "80:00\n", "é", '"'])
def test_a_read_of_a_service_no_record_can_have_finds_none(tmp_path, service):
    path = write_journal(tmp_path / "connections.json", [proxy("c1")])
    assert ConnectionStore(str(path)).records([service]) == []


def test_names_are_written_as_utf_8_and_a_lone_surrogate_escaped(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1", device_name="Küche"), proxy("c2", device_name="bad \ud800"))
    data = open(store.path, "rb").read()
    assert "Küche".encode("utf-8") in data and b"\\ud800" in data
    assert store.records([SERVICE]) == fold(store.path) == [proxy("c1", device_name="Küche"),
                                                            proxy("c2", device_name="bad \ud800")]


def test_a_reader_that_read_the_journal_before_another_process_compacted_it_reads_the_new_one(tmp_path):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"), proxy("c2"))
    assert store.records() == [proxy("c1"), proxy("c2")]
    inode, generation = os.stat(store.path).st_ino, lines(store.path)[0]["generation"]
    in_another_process(_change_many_times, store.path, "c2", 100)
    assert os.stat(store.path).st_ino != inode and lines(store.path)[0]["generation"] != generation
    assert store.records() == [proxy("c1"), proxy("c2", port=40099)]
    put(store, proxy("c3"))  # a writer with the same stale cache
    assert store.records() == fold(store.path) == [proxy("c1"), proxy("c2", port=40099), proxy("c3")]


def test_a_new_journal_in_the_same_inode_is_told_apart_by_its_generation(tmp_path):
    """A compaction's new file may get the inode a former file freed, be no shorter than what was read of it, and
    end in the very line read last: only its header tells that the lines before differ."""
    path = write_journal(tmp_path / "connections.json", [proxy("c1"), proxy("c2")], generation="1" * 16)
    store = ConnectionStore(str(path))
    assert store.records() == [proxy("c1"), proxy("c2")]
    inode = os.stat(path).st_ino
    with open(path, "r+") as reused:  # the same inode and length, another generation and first record
        reused.write("".join(json.dumps(line) + "\n" for line in [
            {"version": 2, "generation": "2" * 16}, {"put": proxy("c3")}, {"put": proxy("c2")}]))
    assert os.stat(path).st_ino == inode
    assert store.records() == [proxy("c3"), proxy("c2")]


def test_an_incomplete_last_line_is_ignored_by_readers_and_cut_away_by_the_next_writer(tmp_path, monkeypatch):
    """A writer that died mid-append leaves a line without its end."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    torn = json.dumps({"put": proxy("c2")})[:-1].encode()
    with open(store.path, "ab") as journal:
        journal.write(torn)
    before = open(store.path, "rb").read()
    assert store.records() == [proxy("c1")]
    forget_what_this_process_read(monkeypatch)
    assert store.records() == [proxy("c1")]
    assert open(store.path, "rb").read() == before
    put(store, proxy("c3"))
    text = open(store.path, "rb").read()
    assert torn not in text and text.endswith(b"\n")
    assert store.records() == fold(store.path) == [proxy("c1"), proxy("c3")]


def test_a_complete_last_line_without_its_newline_is_kept_and_ended_by_the_next_writer(tmp_path):
    """A hand edit may leave the last line without its end: readers wait for it, a writer holding the lock knows
    nobody is writing it and keeps it."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    with open(store.path, "ab") as journal:
        journal.write(json.dumps({"put": proxy("c2")}).encode())
    assert store.records() == [proxy("c1")]
    put(store, proxy("c3"))
    assert store.records() == fold(store.path) == [proxy("c1"), proxy("c2"), proxy("c3")]


@pytest.mark.parametrize("tail", [b"GARBAGE", b'{"other": 1}'])
def test_a_last_line_that_is_no_change_is_refused_by_the_writer_and_left_as_it_is(tmp_path, tail):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    with open(store.path, "ab") as journal:
        journal.write(tail)
    before = open(store.path, "rb").read()
    with pytest.raises(RemoteitError, match=r"its line 3 is neither"):
        put(store, proxy("c2"))
    assert open(store.path, "rb").read() == before


def test_a_file_read_in_several_short_reads_loses_nothing(tmp_path, monkeypatch):
    """One pread may return less than asked (2 GiB on Linux, less on some network filesystems)."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, *[proxy("c%d" % index) for index in range(20)])
    forget_what_this_process_read(monkeypatch)
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, size, offset: real_pread(fd, min(size, 4000), offset))
    put(store, proxy("new"))
    assert [record["id"] for record in fold(store.path)] == ["c%d" % index for index in range(20)] + ["new"]


def test_a_line_completed_later_is_read_then(tmp_path):
    """A reader may meet a change as it is being written: it reads it once it is whole."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    line = json.dumps({"put": proxy("c2")}) + "\n"
    with open(store.path, "a") as journal:
        journal.write(line[:100])
        journal.flush()
        assert store.records() == [proxy("c1")]
        journal.write(line[100:])
    assert store.records() == [proxy("c1"), proxy("c2")]


def test_a_failed_append_leaves_the_journal_as_it_was(tmp_path, monkeypatch):
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    before = open(store.path, "rb").read()

    def full_disk(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    assert refusal(lambda store: put(store, proxy("c2")), store) == (
        "cannot write connections file %s: No space left on device" % store.path)
    assert open(store.path, "rb").read() == before
    assert store.records() == [proxy("c1")]


@pytest.mark.parametrize("content", [
    HEADER + PUT + '{"put": ',  # a change being written
    json.dumps({"version": 1, "connections": [proxy("c1")]}),
])
def test_a_reader_never_writes(tmp_path, content):
    path = tmp_path / "connections.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    os.utime(path, ns=(10 ** 18, 10 ** 18))
    before = (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ino)
    for _read in range(3):
        assert ConnectionStore(str(path)).records() == [proxy("c1")]
    assert (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ino) == before
    assert sorted(os.listdir(tmp_path)) == ["connections.json"]


def test_a_file_of_format_1_is_read_as_it_is_and_rewritten_as_a_journal_by_the_first_change(tmp_path):
    path = write(tmp_path / "connections.json", [proxy("c1"), proxy("c2")])
    store = ConnectionStore(str(path))
    before = path.read_text()
    assert store.records() == [proxy("c1"), proxy("c2")]
    with store.update():
        pass
    assert path.read_text() == before
    put(store, proxy("c3"))
    assert lines(path)[0]["version"] == 2
    assert lines(path)[1:] == [{"put": proxy("c1")}, {"put": proxy("c2")}, {"put": proxy("c3")}]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ConnectionStore(str(path)).records() == [proxy("c1"), proxy("c2"), proxy("c3")]


def test_a_file_the_user_may_not_write_to_is_replaced_by_a_change(tmp_path, monkeypatch):
    """As a file of another user would be, but for its owner: its checks pass, and the directory is the user's."""
    store = ConnectionStore(str(tmp_path / "connections.json"))
    put(store, proxy("c1"))
    inode = os.stat(store.path).st_ino
    not_writable_by_the_user(monkeypatch)
    put(store, proxy("c2"))
    assert os.stat(store.path).st_ino != inode
    assert fold(store.path) == [proxy("c1"), proxy("c2")]


@needs_root
def test_a_file_of_another_user_the_user_may_not_write_to_is_refused_as_it_is_read(tmp_path, monkeypatch):
    path = write_journal(tmp_path / "connections.json", [proxy("c1")])
    os.chown(path, ANOTHER_UID, -1)
    real_open = ConnectionStore._open

    def as_a_user(self, name, dir_fd, flags, in_directory=None):
        if name == self.name and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")  # what a user who is not root meets
        return real_open(self, name, dir_fd, flags, in_directory)

    monkeypatch.setattr(ConnectionStore, "_open", as_a_user)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "connections file %s is owned by uid %d, not by you (uid 1000)" % (path, ANOTHER_UID) in refusal(
        change, ConnectionStore(str(path)))


def _add_and_drop_records(path, worker, count):
    store = ConnectionStore(path)
    for index in range(count):
        put(store, proxy("%d-%d" % (worker, index)))
        put(store, proxy("%d-%d-temporary" % (worker, index)))
        delete(store, "%d-%d-temporary" % (worker, index))


def _read_all_along(path, until, errors):
    store = ConnectionStore(path)
    while not until.is_set():
        try:
            store.records()
        except RemoteitError as exc:
            errors.put(str(exc))
            return


def test_writers_appending_and_compacting_at_once_lose_no_record_and_readers_meanwhile_meet_no_error(tmp_path):
    path = str(tmp_path / "connections.json")
    context = multiprocessing.get_context("fork")
    done, errors = context.Event(), context.Queue()
    readers = [context.Process(target=_read_all_along, args=(path, done, errors)) for _reader in range(2)]
    writers = [context.Process(target=_add_and_drop_records, args=(path, worker, 15)) for worker in range(8)]
    for process in readers + writers:
        process.start()
    for process in writers:
        process.join(120)
    done.set()
    for process in readers:
        process.join(10)
    assert [process.exitcode for process in readers + writers] == [0] * 10
    assert errors.empty()
    expected = sorted("%d-%d" % (worker, index) for worker in range(8) for index in range(15))
    assert sorted(record["id"] for record in ConnectionStore(path).records()) == expected
    assert sorted(record["id"] for record in fold(path)) == expected
    assert len(lines(path)) - 1 <= 2 * (len(expected) + 8) + 64  # a compaction may have counted 8 temporaries
