# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AmbiguousResultError,
    AuthError,
    NetworkError,
    NotFoundError,
    OfflineError,
    RemoteitError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import wait_for_port
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager, parse_selector
from ansible_collections.community.remoteit.plugins.plugin_utils._records import (
    handed_records,
    iso,
    normalize_host_ip,
    now_utc,
    parse_time,
    to_result,
)

from .fakes import FakeClient, device

SERVICE = "80:00:00:00:01:00:00:01"
TARGET = {"service_id": SERVICE, "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00",
          "device_name": "pi-kitchen", "device_state": "active", "service_state": "active"}
LATCHING = "255.255.255.255"


@pytest.fixture
def manager(tmp_path):
    return ProxyManager(FakeClient(), ConnectionStore(str(tmp_path / "connections.json")))


def reuse(manager, host_ip, renew_before):
    return manager.reusable(manager.recorded(SERVICE), host_ip, renew_before)


def fresh(manager):
    """A new manager over the same client and file, as the next task would build."""
    return ProxyManager(manager.client, manager.store)


@pytest.mark.parametrize("given, expected", [
    ("latching", LATCHING), ("LATCHING", LATCHING), ("255.255.255.255", LATCHING),
    ("public", "0.0.0.0"), ("0.0.0.0", "0.0.0.0"), ("203.0.113.9", "203.0.113.9"),
    ("2001:DB8::1", "2001:db8::1"),
])
def test_host_ip_modes(given, expected):
    assert normalize_host_ip(given) == expected


@pytest.mark.parametrize("given", ["", "restricted", "300.1.1.1", "10.0.0.0/8", "localhost"])
def test_invalid_host_ip_is_rejected(given):
    with pytest.raises(RemoteitError, match="host_ip"):
        normalize_host_ip(given)


def test_open_records_the_connection_with_names_and_expiry(manager):
    record = manager.open(TARGET, LATCHING)
    result = to_result(record)
    assert result["host"] == "proxy.example" and result["port"] == 33000
    assert result["device_name"] == "pi-kitchen" and result["host_ip"] == LATCHING
    assert parse_time(result["expires_at"]) - parse_time(result["created"]) == datetime.timedelta(hours=8)
    assert manager.store.records()[0]["api_url"] == FakeClient.api_url
    assert "secret" not in open(manager.store.path).read().lower()


def opened_earlier(manager, seconds=60):
    """Make every record look opened `seconds` ago, so that its liveness is no longer taken on trust."""
    with manager.store.update() as records:
        for record in records:
            record["created"] = iso(now_utc() - datetime.timedelta(seconds=seconds))


def test_a_proxy_just_opened_is_reused_without_asking(manager):
    opened = manager.open(TARGET, LATCHING)
    assert reuse(fresh(manager), LATCHING, 300)["id"] == opened["id"]
    assert manager.client.count("sessions") == 0


def test_a_live_recorded_connection_is_reused_with_one_sessions_query(manager):
    opened = manager.open(TARGET, LATCHING)
    opened_earlier(manager)
    again = reuse(fresh(manager), LATCHING, 300)
    assert again["id"] == opened["id"]
    assert manager.client.count("sessions") == 1


def test_the_api_answer_is_trusted_for_30_seconds(manager):
    manager.open(TARGET, LATCHING)
    opened_earlier(manager)
    for _task in range(20):
        assert reuse(fresh(manager), LATCHING, 300) is not None
    assert manager.client.count("sessions") == 1


def test_a_connection_remote_it_no_longer_lists_is_not_reused(manager):
    opened = manager.open(TARGET, LATCHING)
    opened_earlier(manager, seconds=1000)
    reuse(fresh(manager), LATCHING, 300)  # confirmed once
    manager.client.session_list.clear()
    with manager.store.update() as records:
        records[0]["confirmed_at"] = iso(now_utc() - datetime.timedelta(seconds=60))
    assert reuse(fresh(manager), LATCHING, 300) is None
    assert opened["id"]


def test_a_never_listed_new_connection_is_trusted_until_the_idle_expiry(manager):
    """remote.it may not list a proxy before its first use; it must not be opened twice."""
    manager.open(TARGET, LATCHING)
    manager.client.session_list.clear()
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc())
    assert reuse(fresh(manager), LATCHING, 300) is not None
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc() - datetime.timedelta(seconds=901))
    assert reuse(fresh(manager), LATCHING, 300) is None


def test_a_connection_about_to_expire_is_renewed(manager):
    manager.open(TARGET, LATCHING)
    with manager.store.update() as records:
        records[0]["expires_at"] = iso(now_utc() + datetime.timedelta(seconds=120))
    assert reuse(fresh(manager), LATCHING, 300) is None
    assert reuse(fresh(manager), LATCHING, 60) is not None


def test_other_host_ip_or_api_url_is_another_key(manager):
    manager.open(TARGET, LATCHING)
    assert reuse(fresh(manager), "0.0.0.0", 300) is None
    other = ProxyManager(FakeClient(), manager.store)
    other.client.api_url = "http://127.0.0.1:1/graphql/v1"
    assert reuse(other, LATCHING, 300) is None


def test_opening_again_keeps_live_records_and_drops_only_gone_ones(manager):
    """Nothing this collection opened is forgotten while it is live (force opens beside it)."""
    first = manager.open(TARGET, LATCHING)
    other_mode = manager.open(TARGET, "0.0.0.0")
    forced = manager.open(TARGET, LATCHING)
    assert {record["id"] for record in manager.store.records()} == {first["id"], other_mode["id"], forced["id"]}
    manager.client.session_list = [item for item in manager.client.session_list if item["id"] != first["id"]]
    with manager.store.update() as records:
        for record in records:
            if record["id"] == first["id"]:
                record["created"] = iso(now_utc() - datetime.timedelta(hours=1))  # listed before, not any more
            if record["id"] == forced["id"]:
                record["expires_at"] = iso(now_utc() + datetime.timedelta(seconds=100))  # about to expire: not reused
    later = fresh(manager)
    record, reused, _target = later.ensure(TARGET, LATCHING, renew_before=300)
    assert not reused
    kept = {record["id"] for record in manager.store.records()}
    assert first["id"] not in kept, "remote.it no longer lists it"
    assert {other_mode["id"], forced["id"], record["id"]} <= kept, "live records stay until they are closed"


def test_ensure_reuses_a_live_record_and_opens_only_without_one(manager):
    opened, reused, _target = manager.ensure(TARGET, LATCHING, 300)
    assert not reused and manager.client.count("connect") == 1
    again, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert reused and again["id"] == opened["id"] and manager.client.count("connect") == 1


def test_a_task_reads_and_writes_only_the_records_of_its_service(manager):
    """What a task does to one service (settle, open, confirm, reuse, close) never reads the records of others: a
    record another service has that no check would pass stops none of it, and the listing of every record still
    refuses it."""
    other = dict(TARGET, service_id="80:00:00:00:02:00:00:01", device_id="80:00:00:00:02:00:00:00")
    manager.open(other, LATCHING)
    with open(manager.store.path, "a") as journal:  # a record of the other service gone bad
        journal.write('{"put": {"id": "x", "service_id": "%s", "port": "not a port"}}\n' % other["service_id"])
    opened, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert not reused
    with manager.store.update([SERVICE]) as records:  # old enough to be confirmed with remote.it
        records[0]["created"] = iso(now_utc() - datetime.timedelta(seconds=1000))
    again, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert reused and again["id"] == opened["id"] and manager.client.count("sessions") == 1
    assert fresh(manager).recorded(SERVICE)[0]["confirmed_at"] is not None
    assert fresh(manager).close([opened["id"]], SERVICE) == [opened["id"]]
    assert fresh(manager).recorded(SERVICE) == []
    with pytest.raises(RemoteitError, match=r"line 5 \(id x\) is not valid"):
        fresh(manager).recorded()


def test_ensure_in_check_mode_opens_nothing(manager):
    record, reused, target = manager.ensure(TARGET, LATCHING, 300, check_mode=True)
    assert record is None and not reused and target["service_id"] == SERVICE
    assert manager.client.count("connect") == 0 and manager.store.records() == []


def test_opening_with_nothing_recorded_costs_one_mutation_and_no_query(manager):
    manager.ensure({"service_id": SERVICE}, LATCHING, 300)
    assert [call[0] for call in manager.client.calls] == ["connect"]


def test_the_intent_is_recorded_before_connect_is_sent(manager):
    seen = []
    manager.client.before_connect = lambda: seen.append(manager.store.records())
    record = manager.open(TARGET, LATCHING)
    assert [(item.get("intent"), item["service_id"], item["host_ip"]) for item in seen[0]] == [(True, SERVICE, LATCHING)]
    assert manager.store.records() == [record], "the answer completes the intent"


def test_a_refused_connect_leaves_no_intent_behind(manager):
    manager.client.connect_failures.append(OfflineError("Device pi-kitchen is inactive"))
    with pytest.raises(RemoteitError, match="inactive"):
        manager.open(TARGET, LATCHING)
    assert manager.store.records() == []


def test_a_lost_connect_answer_closes_the_orphan_and_tries_again(manager):
    manager.client.connect_failures.append(AmbiguousResultError("no answer"))
    record = manager.open(TARGET, LATCHING)
    assert ("disconnect", "conn-1") in manager.client.calls
    assert record["id"] == "conn-2"
    assert [session["id"] for session in manager.client.session_list] == ["conn-2"]
    assert manager.store.records() == [record]


@pytest.mark.parametrize("answer", [
    pytest.param({"host": "-oProxyCommand=touch /tmp/x"}, id="hostile-host"),
    pytest.param({"port": 70000}, id="port-out-of-range"),
    pytest.param({"id": "'-oX'"}, id="id-not-an-id"),  # closed as a lost answer's: found among the sessions
])
def test_an_unusable_connect_answer_closes_its_proxy_at_once_and_records_nothing(manager, answer):
    manager.client.answer = answer
    with pytest.raises(RemoteitError, match="cannot be used: .*the proxy it opened was closed, and nothing was recorded"):
        manager.open(TARGET, LATCHING)
    assert manager.client.session_list == []
    assert manager.store.records() == []
    assert manager.client.count("connect") == 1


def test_an_unusable_connect_answer_whose_proxy_cannot_be_closed_keeps_its_intent(manager, monkeypatch):
    manager.client.answer = {"port": "abc"}

    def unreachable(connection_id, service_id=None):
        raise RemoteitError("cannot reach https://api.example/graphql/v1: [Errno 101] Network is unreachable")

    monkeypatch.setattr(manager.client, "disconnect", unreachable)
    with pytest.raises(RemoteitError, match="closing the proxy it opened failed too .* its intent stays"):
        manager.open(TARGET, LATCHING)
    assert [record.get("intent") for record in manager.store.records()] == [True]
    monkeypatch.undo()
    manager.client.answer = {}
    fresh(manager).ensure(TARGET, LATCHING, 0)  # the next open settles it: the unusable proxy is closed
    assert len(manager.client.session_list) == 1
    assert [record.get("intent") for record in manager.store.records()] == [None]


def test_a_proxy_remote_it_says_opened_in_the_future_is_taken_as_opened_now(manager):
    manager.client.answer = {"created": "2199-12-31T00:00:00Z", "timeout": 28800}
    record = manager.open(TARGET, LATCHING)
    assert abs((parse_time(record["created"]) - now_utc()).total_seconds()) < 60
    assert manager.store.records() == [record]  # and the file stays readable


def test_times_with_an_offset_are_recorded_in_utc(manager):
    manager.client.answer = {"created": "2026-01-01T05:00:00+05:00", "timeout": 3600}
    record = manager.open(TARGET, LATCHING)
    assert (record["created"], record["expires_at"]) == ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")


def test_names_in_results_are_inert_so_a_later_job_cannot_template_them(manager):
    target = dict(TARGET, device_name="pi-{{ lookup('pipe', 'id') }}", service_name="#jinja2:x")
    result = to_result(manager.open(target, LATCHING))
    assert (result["device_name"], result["service_name"]) == ("pi-{\u2060{ lookup('pipe', 'id') }}", "#\u2060jinja2:x")
    assert manager.store.records()[0]["device_name"] == target["device_name"]  # the file keeps the name as it is


def test_lost_connect_answers_beyond_the_retries_fail_with_nothing_left_open(manager):
    manager.client.connect_failures.extend([AmbiguousResultError("no answer")] * 3)
    with pytest.raises(RemoteitError, match=r"closed 3 proxy"):
        manager.open(TARGET, LATCHING)
    assert manager.client.session_list == []
    assert manager.store.records() == []
    assert manager.client.count("connect") == manager.client.retries + 1
    assert manager.client.count("pause") == 2


def test_a_lost_connect_that_cannot_be_reconciled_keeps_its_intent_for_the_next_run(manager, monkeypatch):
    client = manager.client
    client.connect_failures.append(AmbiguousResultError("no answer"))
    listed = client.sessions

    def unreachable():
        raise RemoteitError("cannot reach https://api.example/graphql/v1: [Errno 101] Network is unreachable")

    monkeypatch.setattr(client, "sessions", unreachable)
    with pytest.raises(RemoteitError) as error:
        manager.open(TARGET, LATCHING)
    assert str(error.value) == (
        "cannot reach https://api.example/graphql/v1: [Errno 101] Network is unreachable; a connect to service %s whose "
        "answer was lost may have opened a proxy: its intent stays in %s, and the next open or close of this service "
        "closes that proxy" % (SERVICE, manager.store.path))
    [orphan] = client.session_list
    assert [record.get("intent") for record in manager.store.records()] == [True]
    monkeypatch.setattr(client, "sessions", listed)
    assert fresh(manager).settle(SERVICE) == [orphan["id"]]
    assert manager.store.records() == [] and client.session_list == []


def test_reconciling_leaves_sessions_that_are_not_the_lost_connects_alone(manager):
    """Only an unused session of this user to this service, started with the lost connect, is closed."""
    client = manager.client
    earlier = client.add_session(SERVICE, "desktop-app", age=40)
    in_use = client.add_session(SERVICE, "in-use", connected=True)
    others = client.add_session(SERVICE, "colleague", mine=False)
    other_service = client.add_session("80:00:00:00:01:00:00:02", "other-service")
    client.connect_failures.append(AmbiguousResultError("no answer"))
    record = manager.open(TARGET, LATCHING)
    live = {session["id"] for session in client.session_list}
    assert live == {earlier, in_use, others, other_service, record["id"]}
    assert client.count("disconnect") == 1


def killed_run(manager, age=0):
    """What a run killed after sending connect leaves: its intent (no process holds its lock any more), and the
    proxy remote.it opened for it."""
    started = iso(now_utc() - datetime.timedelta(seconds=age))
    with manager.store.update() as records:
        records.append({"id": "intent-killed", "intent": True, "api_url": manager.client.api_url,
                        "service_id": SERVICE, "host_ip": LATCHING, "started": started})
    return manager.client.add_session(SERVICE, "orphan", age=age)


def test_the_next_run_closes_what_a_killed_run_opened_and_opens_its_own(manager):
    orphan = killed_run(manager)
    record, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert not reused
    assert ("disconnect", orphan) in manager.client.calls
    assert [session["id"] for session in manager.client.session_list] == [record["id"]]
    assert manager.store.records() == [record], "live proxies = recorded proxies"


def test_an_intent_of_a_run_still_waiting_is_left_alone(manager):
    orphan = killed_run(manager)
    with manager.store.claim("intent-killed"):  # its run holds the lock: the answer may still come
        assert fresh(manager).settle(SERVICE) == []
    assert orphan in {session["id"] for session in manager.client.session_list}
    assert manager.store.records()[0]["intent"]
    assert fresh(manager).settle(SERVICE) == [orphan], "once the run is gone, its proxy is closed"


def test_an_intent_whose_process_lingers_as_a_zombie_counts_as_dead(manager, tmp_path):
    """A killed run's worker may stay a zombie where nothing reaps it; it holds no lock any more."""
    killed_run(manager)
    script = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
              "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); os._exit(0)")
    with subprocess.Popen([sys.executable, "-c", script, manager.store.path + ".intent-killed.lock"],
                          stdout=subprocess.PIPE, text=True) as zombie:
        assert zombie.stdout.readline() == "locked\n"
        time.sleep(0.2)  # exited, not yet reaped: a zombie
        assert fresh(manager).settle(SERVICE) == ["orphan"]


def test_settling_costs_nothing_without_intents(manager):
    manager.open(TARGET, LATCHING)
    calls = len(manager.client.calls)
    assert fresh(manager).settle(SERVICE) == []
    assert len(manager.client.calls) == calls


def test_close_forgets_records_and_reports_only_what_was_open(manager):
    first = manager.open(TARGET, LATCHING)
    manager.client.session_list.clear()  # expired on remote.it's side
    assert manager.close([first["id"]]) == []
    assert manager.store.records() == []
    second = manager.open(TARGET, LATCHING)
    assert manager.close([second["id"]]) == [second["id"]]


def test_wait_for_port_returns_once_the_port_accepts():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert wait_for_port({"host": "127.0.0.1", "port": listener.getsockname()[1]}, 5) < 5


def test_wait_for_port_gives_up_after_the_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteitError, match="did not accept connections"):
        wait_for_port({"host": "127.0.0.1", "port": port}, 1, interval=0.2)


@pytest.mark.parametrize("text, expected", [
    ("80:00:00:00:01:00:00:01", {"service_id": "80:00:00:00:01:00:00:01", "device": None, "service": None}),
    ("pi-kitchen/ssh", {"service_id": None, "device": "pi-kitchen", "service": "ssh"}),
    ("site/a/ssh", {"service_id": None, "device": "site/a", "service": "ssh"}),
    ("pi-kitchen", {"service_id": None, "device": "pi-kitchen", "service": None}),
])
def test_selectors(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["", "pi-kitchen/", "/ssh"])
def test_selectors_that_select_nothing(text):
    with pytest.raises(RemoteitError, match="does not select a service"):
        parse_selector(text)


def test_find_uses_recorded_names_without_the_api(manager):
    opened = manager.open(TARGET, LATCHING)
    calls = len(manager.client.calls)
    _target, records = fresh(manager).find(device="PI-KITCHEN", service="SSH")
    assert [record["id"] for record in records] == [opened["id"]]
    assert len(manager.client.calls) == calls


def test_find_asks_the_api_only_for_names_no_record_carries(manager):
    manager.client.devices = [device("renamed-pi", "80:00:00:00:01:00:00:00")]
    opened = manager.open(TARGET, LATCHING)
    _target, records = fresh(manager).find(device="renamed-pi", service="ssh")
    assert [record["id"] for record in records] == [opened["id"]]
    assert manager.client.count("devices") == 1


def test_a_device_alone_is_one_rule_whatever_is_recorded(manager):
    """A device with several services needs the service named, even when only one of them was opened."""
    manager.client.devices = [device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02")))]
    manager.open(dict(TARGET, service_id="80:00:00:00:01:00:00:02", service_name="web"), LATCHING)
    with pytest.raises(RemoteitError, match=r"2 services \(ssh, web\)"):
        fresh(manager).find(device="pi-kitchen")
    with pytest.raises(RemoteitError, match=r"2 services \(ssh, web\)"):
        fresh(manager).ensure({"device": "pi-kitchen"}, LATCHING, 300)
    assert manager.client.count("connect") == 1


def test_expired_records_are_never_alive(manager):
    manager.open(TARGET, LATCHING)
    with manager.store.update() as records:
        records[0]["expires_at"] = iso(now_utc() - datetime.timedelta(seconds=1))
        records[0]["confirmed_at"] = iso(now_utc())
    assert fresh(manager).alive(manager.store.records()) == []


# -- records handed over by an earlier job ---------------------------------------------------------------

def handed_record(client, port, listed=True, age=60):
    """What community.remoteit.remoteit_connection returned to a job on another machine `age` seconds ago."""
    created = now_utc() - datetime.timedelta(seconds=age)
    connection_id = client.add_session(SERVICE, age=age) if listed else "conn-unlisted"
    return {"id": connection_id, "session_id": connection_id, "api_url": client.api_url, "service_id": SERVICE,
            "service_name": "ssh", "device_id": TARGET["device_id"], "device_name": "pi-kitchen", "host": "127.0.0.1",
            "port": port, "url": None, "reverse_proxy": False, "host_ip": LATCHING, "created": iso(created),
            "expires_at": iso(created + datetime.timedelta(hours=8)), "timeout": 28800, "reused": False}


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_handed_records_are_checked_with_remoteit_even_when_just_opened(manager):
    """The trust a controller gives its own fresh records does not extend to another machine's."""
    record = handed_record(manager.client, 33000, age=0)
    handed = ProxyManager(manager.client, manager.store, handed_records([record]))
    assert [item["id"] for item in handed.alive(handed.recorded(SERVICE))] == [record["id"]]
    assert manager.client.count("sessions") == 1
    assert [item["id"] for item in manager.store.records()] == [record["id"]]
    assert manager.store.records()[0]["confirmed_at"] is not None


def test_a_handed_record_remoteit_does_not_list_yet_is_used_only_if_its_port_answers(manager):
    """remote.it may not list a proxy nobody has used; then its port tells a new proxy from a closed one."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        answering = handed_record(manager.client, listener.getsockname()[1], listed=False)
        handed = ProxyManager(manager.client, manager.store, handed_records([answering]))
        record, reused, _target = handed.ensure(TARGET, LATCHING, 300)
        assert reused and record["id"] == answering["id"]
    dead = dict(handed_record(manager.client, closed_port(), listed=False), id="conn-dead", session_id=None)
    handed = ProxyManager(manager.client, manager.store, handed_records([dead]))
    record, _reused, _target = handed.ensure(TARGET, LATCHING, 300)
    assert record["id"] != "conn-dead"
    assert "conn-dead" not in [item["id"] for item in manager.store.records()]


@pytest.mark.parametrize("how", ["read", "check_mode"])
def test_reading_or_predicting_never_probes_a_handed_port_nor_writes_the_file(manager, how):
    """A probe would latch the proxy to this machine, and a read-only or check-mode run keeps the file as it was."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        unlisted = handed_record(manager.client, listener.getsockname()[1], listed=False)
        listed = dict(handed_record(manager.client, 33001), service_id=SERVICE)
        handed = ProxyManager(manager.client, manager.store, handed_records([unlisted, listed]))
        if how == "read":
            alive = handed.alive(handed.recorded(SERVICE), adopt=False)
            assert [record["id"] for record in alive] == [listed["id"]]
        else:
            assert handed.ensure(TARGET, LATCHING, 300, check_mode=True)[0]["id"] == listed["id"]
        with pytest.raises(socket.timeout):
            listener.accept()
    assert manager.store.records() == []


def test_absent_closes_a_handed_record_only_while_remoteit_lists_it_as_this_users(manager):
    """Whoever can set a job's variables must not close another user's session, nor one that is gone."""
    ours = handed_record(manager.client, 33000)
    theirs = handed_record(manager.client, 33001)
    manager.client.session_list[-1]["mine"] = False
    gone = dict(handed_record(manager.client, 33002, listed=False), id="conn-gone", session_id=None)
    opened_here = manager.open(TARGET, LATCHING)
    handed = ProxyManager(manager.client, manager.store, handed_records([ours, theirs, gone]))
    closable = [record["id"] for record in handed.closable(handed.recorded(SERVICE))]
    assert sorted(closable) == sorted([ours["id"], opened_here["id"]])


def test_a_handed_proxy_that_stopped_answering_is_forgotten_here_not_closed(manager):
    """It may answer its owner: latched to another machine's address."""
    record = handed_record(manager.client, 33000)
    handed = ProxyManager(manager.client, manager.store, handed_records([record]))
    used = handed.reusable(handed.recorded(SERVICE), LATCHING, 300)
    handed.retire(used)
    assert manager.client.count("disconnect") == 0 and record["id"] in [s["id"] for s in manager.client.session_list]
    assert manager.store.records() == []


def test_records_of_another_api_endpoint_are_ignored_with_a_warning(manager):
    record = dict(handed_record(manager.client, 33000), api_url="https://other.example/graphql/v1")
    warnings = []
    handed = ProxyManager(manager.client, manager.store, handed_records([record]), warnings.append)
    assert handed.recorded(SERVICE) == []
    assert warnings == ["ignored the connection records handed over for another API endpoint "
                        "(https://other.example/graphql/v1); this task uses %s" % manager.client.api_url]


def test_the_files_copy_of_a_handed_record_wins_and_closing_forgets_both(manager):
    record = handed_record(manager.client, 33000)
    first = ProxyManager(manager.client, manager.store, handed_records([record]))
    first.alive(first.recorded(SERVICE))  # confirmed: now in the file too
    second = ProxyManager(manager.client, manager.store, handed_records([record]))
    assert len(second.recorded(SERVICE)) == 1 and second.recorded(SERVICE)[0]["confirmed_at"]
    assert second.close([record["id"]]) == [record["id"]]
    assert second.recorded(SERVICE) == [] and manager.store.records() == []


def test_a_handed_record_with_the_id_of_another_services_record_is_neither_used_nor_adopted(manager):
    """Whoever sets a job's variables could hand over a record that claims this service and the id of another
    service's live proxy: the file's record of that id wins, as it did when every task read every record."""
    other = dict(TARGET, service_id="80:00:00:00:02:00:00:01", device_id="80:00:00:00:02:00:00:00")
    theirs = manager.open(other, LATCHING)
    before = open(manager.store.path, "rb").read()
    forged = dict(handed_record(manager.client, 33000), id=theirs["id"], session_id=theirs["id"], host="203.0.113.66")
    handed = ProxyManager(manager.client, manager.store, handed_records([forged]))
    assert handed.recorded(SERVICE) == [] and handed.alive(handed.recorded(SERVICE)) == []
    record, reused, _target = handed.ensure(TARGET, LATCHING, 300)
    assert not reused and record["host"] != "203.0.113.66"
    assert open(manager.store.path, "rb").read().startswith(before)
    assert [item["host"] for item in manager.store.records([other["service_id"]])] == [theirs["host"]]


def test_a_session_any_record_knows_is_not_unrecorded_whatever_its_service(manager):
    """A session remote.it lists under this service, but that a record of another service knows, is never taken for
    one nobody recorded (which all_sessions and the reconciling of a lost connect would close)."""
    session_id = manager.client.add_session(SERVICE, age=60)
    other = dict(TARGET, service_id="80:00:00:00:02:00:00:01", device_id="80:00:00:00:02:00:00:00")
    manager.client.answer = {"id": "conn-other"}
    manager.open(other, LATCHING)
    with manager.store.update([other["service_id"]]) as records:
        records[0]["session_id"] = session_id
    assert [session["id"] for session in fresh(manager).unrecorded_sessions(SERVICE)] == []


def test_sessions_of_handed_records_are_not_taken_for_unrecorded_ones(manager):
    record = handed_record(manager.client, 33000)
    handed = ProxyManager(manager.client, manager.store, handed_records([record]))
    assert handed.unrecorded_sessions(SERVICE) == []
    assert [session["id"] for session in fresh(manager).unrecorded_sessions(SERVICE)] == [record["id"]]


@pytest.mark.parametrize("flag, expected", [(False, False), ("false", False), ("True", True), (None, False)])
def test_a_handed_reverse_proxy_flag_as_text_is_read_as_the_word_says(flag, expected):
    fields = {"url": "https://x1.p.remote.it", "port": None} if expected else {"host": "127.0.0.1", "port": 4000}
    (record,) = handed_records([dict(fields, id="a", service_id=SERVICE, host_ip="latching", reverse_proxy=flag)])
    assert record["reverse_proxy"] is expected


@pytest.mark.parametrize("connections, connection, expected", [
    pytest.param(None, None, [], id="none"),
    pytest.param(None, {"changed": False, "connection": {}}, [], id="host-var-used-for-something-else"),
    pytest.param([None, ""], "", [], id="hosts-with-nothing"),
    pytest.param([{"id": "a", "service_id": SERVICE.lower(), "host_ip": "latching", "host": "127.0.0.1", "port": "4000"}],
                 {"id": "a", "service_id": SERVICE, "host_ip": LATCHING, "host": "127.0.0.1", "port": 4000}, ["a"],
                 id="same-record-twice"),
])
def test_handed_records_are_normalized_and_deduplicated(connections, connection, expected):
    records = handed_records(connections, connection)
    assert [record["id"] for record in records] == expected
    assert all(record["service_id"].upper() == SERVICE and record["confirmed_at"] is None for record in records)
    assert all(record["host_ip"] == LATCHING for record in records)
    assert all(record["port"] == 4000 for record in records)


# -- the API's unknowns ------------------------------------------------------------------------


def test_a_service_id_is_sent_and_recorded_as_given_and_matched_in_any_case(manager):
    """remote.it may serve ids in lower case and refuse them upper-cased: an id is never rewritten."""
    lower = dict(TARGET, service_id=SERVICE.lower())
    record, reused, _target = manager.ensure(lower, LATCHING, 300)
    assert ("connect", SERVICE.lower(), LATCHING) in manager.client.calls and not reused
    assert record["service_id"] == SERVICE.lower()
    again, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert reused and again["id"] == record["id"]


def test_a_session_listed_under_its_own_id_confirms_the_record(manager):
    """Connection.session.id may differ from the connection's id: the session is found under either."""
    manager.client.answer = {"id": "CONN-A"}
    manager.open(TARGET, LATCHING)
    manager.client.session_list[-1]["id"] = "sess-a"
    with manager.store.update() as records:
        records[0]["session_id"] = "SESS-A"
    opened_earlier(manager, 1000)
    assert reuse(fresh(manager), LATCHING, 300)["id"] == "CONN-A"


def listed_no_more(manager, record):
    manager.client.session_list = [item for item in manager.client.session_list if item["id"] != record["id"]]


def refusing(error):
    def disconnect(connection_id, service_id=None):
        raise error
    return disconnect


@pytest.mark.parametrize("error", [NotFoundError("remote.it API error: Connection expired", status=200, field="disconnect"),
                                   RemoteitError("remote.it API error: Invalid connection", status=200),
                                   AuthError("remote.it API error: You do not have permission", status=200,
                                             field="disconnect")])
def test_closing_a_connection_remote_it_refuses_and_no_longer_lists_converges(manager, monkeypatch, error):
    """Whatever the words of the refusal: a connection remote.it does not list is gone, its record forgotten."""
    record = manager.open(TARGET, LATCHING)
    listed_no_more(manager, record)
    monkeypatch.setattr(manager.client, "disconnect", refusing(error))
    assert fresh(manager).close([record["id"]], SERVICE) == []
    assert manager.store.records() == []


@pytest.mark.parametrize("error, listed", [
    pytest.param(NetworkError("cannot reach the API"), False, id="no-answer"),
    pytest.param(AuthError("remote.it rejected the request signature", status=401), False, id="key-rejected"),
    pytest.param(RemoteitError("remote.it answered HTTP 502: bad gateway", status=502), False, id="server-error"),
    pytest.param(AuthError("remote.it API error: permission denied", status=200, field="disconnect"), True,
                 id="refused-and-still-listed"),
])
def test_closing_that_fails_while_the_connection_may_be_open_keeps_its_record_and_says_so(manager, monkeypatch, error,
                                                                                          listed):
    """Only remote.it's refusal of this connection, with its session no longer listed, says it is gone."""
    record = manager.open(TARGET, LATCHING)
    if not listed:
        listed_no_more(manager, record)
    monkeypatch.setattr(manager.client, "disconnect", refusing(error))
    with pytest.raises(type(error), match="its record stays in %s" % manager.store.path):
        fresh(manager).close([record["id"]], SERVICE)
    assert [item["id"] for item in manager.store.records()] == [record["id"]]


def test_a_record_that_is_never_listed_is_closed_when_its_grace_ends_not_dropped(manager):
    """connect answered session null and remote.it lists the session under another id: it is closed, not left open."""
    record = manager.open(TARGET, LATCHING)
    manager.client.session_list[-1]["id"] = "sess-unknown-to-the-record"
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc() - datetime.timedelta(seconds=800))
    renewed, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert not reused and renewed["id"] != record["id"]
    assert ("disconnect", record["id"]) in manager.client.calls
    assert [item["id"] for item in manager.store.records()] == [renewed["id"]]


def test_a_record_remote_it_listed_once_and_no_longer_lists_is_dropped_without_a_disconnect(manager):
    record = manager.open(TARGET, LATCHING)
    opened_earlier(manager, 120)
    with manager.store.update() as records:
        records[0]["confirmed_at"] = iso(now_utc() - datetime.timedelta(seconds=60))
    listed_no_more(manager, record)
    renewed, reused, _target = fresh(manager).ensure(TARGET, LATCHING, 300)
    assert not reused and manager.client.count("disconnect") == 0
    assert [item["id"] for item in manager.store.records()] == [renewed["id"]]


@pytest.mark.parametrize("idle, renew_before, renewed", [
    (500, 300, False), (700, 300, True), (700, 60, False),
    (100, 7200, False),  # renew_before asks for lifetime; on the idle clock, only the time until first use counts
])
def test_a_never_listed_proxy_is_renewed_before_the_idle_clock_closes_it(manager, idle, renew_before, renewed):
    """The lifetime (8 h here) is not the only clock: a proxy nobody used closes after about 15 minutes."""
    record = manager.open(TARGET, LATCHING)
    listed_no_more(manager, record)
    with manager.store.update() as records:
        records[0]["created"] = iso(now_utc() - datetime.timedelta(seconds=idle))
    got, reused, _target = fresh(manager).ensure(TARGET, LATCHING, renew_before)
    assert reused is not renewed and (got["id"] != record["id"]) is renewed


def test_a_read_only_manager_never_writes_the_file(manager):
    """The lookup, remoteit_connection_info and check mode read remote.it's word but keep the file as it was."""
    manager.open(TARGET, LATCHING)
    handed = handed_record(manager.client, 33001)
    opened_earlier(manager, 60)
    before = open(manager.store.path).read()
    reader = ProxyManager(manager.client, manager.store, handed_records([handed]), read_only=True)
    assert len(reader.alive(reader.recorded(SERVICE))) == 2
    assert reader.ensure(TARGET, LATCHING, 300)[1] is True
    assert open(manager.store.path).read() == before


def test_a_lost_connect_whose_session_cannot_be_closed_by_its_id_is_left_to_idle_out_with_a_warning(manager):
    """With session ids of their own, remote.it may close connections only by the connection id nobody received."""
    warnings = []
    manager = ProxyManager(manager.client, manager.store, warn=warnings.append)
    manager.client.connect_failures.append(AmbiguousResultError("no answer"))
    refusal = NotFoundError("remote.it API error: Connection not found", status=200, field="disconnect")

    def disconnect(connection_id, service_id=None):
        manager.client.calls.append(("disconnect", connection_id))
        raise refusal
    manager.client.disconnect = disconnect
    record, _reused, _target = manager.ensure(TARGET, LATCHING, 300)
    assert record["id"] and [item["id"] for item in manager.store.records()] == [record["id"]]
    assert len(warnings) == 1 and "closes on its own once idle" in warnings[0]
