# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""community.remoteit.remoteit_connection as a playbook task sees it: results, warnings, failures."""

from __future__ import annotations

import datetime
import json
import socket

import pytest
import yaml

from ansible_collections.community.remoteit.plugins.modules import remoteit_connection as doc_stub
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import EndpointError, ThrottledError
from ansible_collections.community.remoteit.plugins.plugin_utils._records import iso, now_utc, parse_time

from ..plugin_utils.fakes import FakeClient, device

SSH = "80:00:00:00:01:00:00:01"
WEB = "80:00:00:00:01:00:00:02"
LATCHING = "255.255.255.255"
OPEN = {"device": "pi-kitchen", "service": "ssh"}
SECRET = "c2VjcmV0LW5ldmVyLXNob3du"


def fleet():
    return FakeClient([
        device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02"))),
        device("pi-garage", "80:00:00:00:02:00:00:00"),
        device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
    ])


def mutations(client):
    return [call for call in client.calls if call[0] in ("connect", "disconnect")]


def live_ids(client):
    return sorted(session["id"] for session in client.session_list)


def recorded_ids(store):
    return sorted(record["id"] for record in store.records())


def test_present_opens_a_proxy_then_returns_it_again_unchanged(run_action):
    client = fleet()
    first = run_action("remoteit_connection", client, **OPEN)
    assert first["changed"] is True and not first.get("failed")
    created = parse_time(first["connection"]["created"])
    assert abs((created - now_utc()).total_seconds()) < 60
    assert first["connection"] == {
        "id": "conn-1", "service_id": SSH, "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00",
        "device_name": "pi-kitchen", "host": "proxy.example", "port": 33000, "url": "tcp://proxy.example:33000",
        "reverse_proxy": False, "host_ip": LATCHING, "created": iso(created),
        "expires_at": iso(created + datetime.timedelta(seconds=28800)), "timeout": 28800, "reused": False,
        "session_id": "conn-1", "api_url": "https://api.example/graphql/v1",
        "host_key_alias": "remoteit-80-00-00-00-01-00-00-01"}

    second = run_action("remoteit_connection", client, **OPEN)
    assert second["changed"] is False
    assert second["connection"] == dict(first["connection"], reused=True)
    assert client.count("connect") == 1


def test_the_connection_result_has_exactly_the_documented_fields(run_action):
    documented = yaml.safe_load(doc_stub.RETURN)["connection"]["contains"]
    connection = run_action("remoteit_connection", fleet(), **OPEN)["connection"]
    assert sorted(connection) == sorted(documented)


def test_check_mode_predicts_an_open_and_sends_nothing(run_action, store):
    client = fleet()
    result = run_action("remoteit_connection", client, check_mode=True, **OPEN)
    assert result["changed"] is True and not result.get("failed")
    assert "connection" not in result
    assert mutations(client) == []
    assert store.records() == []


def test_check_mode_predicts_no_change_for_a_live_recorded_connection(run_action):
    client = fleet()
    opened = run_action("remoteit_connection", client, **OPEN)["connection"]
    result = run_action("remoteit_connection", client, check_mode=True, **OPEN)
    assert result["changed"] is False
    assert result["connection"] == dict(opened, reused=True)
    assert client.count("connect") == 1


def test_check_mode_predicts_a_close_and_sends_nothing(run_action, store):
    client = fleet()
    opened = run_action("remoteit_connection", client, **OPEN)["connection"]
    result = run_action("remoteit_connection", client, check_mode=True, state="absent", **OPEN)
    assert result == {"changed": True, "closed": [opened["id"]]}
    assert client.count("disconnect") == 0
    assert recorded_ids(store) == [opened["id"]] and live_ids(client) == [opened["id"]]


def test_diff_shows_the_connection_before_and_after(run_action):
    client = fleet()
    predicted = run_action("remoteit_connection", client, check_mode=True, diff=True, **OPEN)
    assert predicted["diff"] == {"before": {"state": "absent"},
                                 "after": {"state": "present", "service_id": SSH, "host_ip": LATCHING}}

    opened = run_action("remoteit_connection", client, diff=True, **OPEN)
    assert opened["diff"] == {"before": {"state": "absent"}, "after": opened["connection"]}

    reused = run_action("remoteit_connection", client, diff=True, **OPEN)
    assert reused["diff"]["before"] == reused["diff"]["after"] == reused["connection"]

    closed = run_action("remoteit_connection", client, diff=True, state="absent", **OPEN)
    assert closed["diff"] == {"before": {"connections": [opened["connection"]]}, "after": {"connections": []}}


def test_force_opens_another_and_keeps_the_older_live_one_for_absent_to_close(run_action, store):
    client = fleet()
    older = run_action("remoteit_connection", client, **OPEN)["connection"]
    newer = run_action("remoteit_connection", client, force=True, **OPEN)
    assert newer["changed"] is True and newer["connection"]["id"] != older["id"]
    assert recorded_ids(store) == sorted([older["id"], newer["connection"]["id"]])

    closed = run_action("remoteit_connection", client, state="absent", **OPEN)
    assert closed["changed"] is True
    assert sorted(closed["closed"]) == sorted([older["id"], newer["connection"]["id"]])
    assert live_ids(client) == [] and store.records() == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_device_without_service_on_a_device_with_two_services_fails_listing_both(run_action, state):
    client = fleet()
    run_action("remoteit_connection", client, **OPEN)  # one of them has a recorded connection
    result = run_action("remoteit_connection", client, state=state, device="pi-kitchen")
    assert result["failed"] is True
    assert result["msg"] == "device 'pi-kitchen' has 2 services (ssh, web): choose one with service (DEVICE/SERVICE in the lookup)"
    assert result["error"]["kind"] == "ambiguous"
    assert mutations(client) == [("connect", SSH, LATCHING)]


def test_absent_with_nothing_to_close_is_no_change_and_no_warning(run_action):
    client = fleet()
    result = run_action("remoteit_connection", client, state="absent", **OPEN)
    assert result == {"changed": False, "closed": []}


def test_absent_with_nothing_recorded_warns_of_the_sessions_remoteit_lists(run_action, connections_file):
    client = fleet()
    client.add_session(SSH)
    client.add_session(WEB)  # another service's: not counted
    result = run_action("remoteit_connection", client, state="absent", **OPEN)
    assert result["changed"] is False and result["closed"] == []
    assert result["warnings"] == [
        "no connection to service %s is recorded in %s, but remote.it lists 1 live session(s) of it that were not "
        "recorded here (the connections file was lost, or another controller or the remote.it app opened them); "
        "all_sessions: true closes them too" % (SSH, connections_file)]
    assert client.count("disconnect") == 0


def test_absent_with_records_closes_them_without_asking_about_sessions_opened_elsewhere(run_action, store):
    """Closing what is recorded costs one disconnect each and no query (a documented trade-off): the warning about
    sessions opened elsewhere comes when nothing is recorded, as after the connections file was lost."""
    client = fleet()
    recorded = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    elsewhere = client.add_session(SSH)  # another controller's, or the remote.it app's
    calls = len(client.calls)
    result = run_action("remoteit_connection", client, state="absent", **OPEN)
    assert result["changed"] is True and result["closed"] == [recorded]
    assert live_ids(client) == [elsewhere] and store.records() == []
    assert [call[0] for call in client.calls[calls:]] == ["disconnect"]
    assert not result.get("warnings")


def test_absent_on_a_connection_already_gone_is_no_change_and_forgets_it(run_action, store):
    client = fleet()
    opened = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    client.session_list = []  # it expired, or was closed in the remote.it app
    assert run_action("remoteit_connection", client, state="absent", **OPEN) == {"changed": False, "closed": []}
    assert store.records() == []
    assert [call for call in client.calls if call[0] == "disconnect"] == [("disconnect", opened)]


def test_present_replaces_a_proxy_remoteit_no_longer_lists_and_forgets_it(run_action, store, make_old):
    client = fleet()
    gone = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    make_old(gone)
    client.session_list = []
    result = run_action("remoteit_connection", client, **OPEN)
    assert result["changed"] is True and result["connection"]["id"] != gone
    assert recorded_ids(store) == [result["connection"]["id"]]


@pytest.mark.parametrize("change", [
    pytest.param({"host_ip": "203.0.113.9"}, id="another-host_ip"),
    pytest.param({"renew_before": 9 * 3600}, id="expires-within-renew_before"),
])
def test_present_opens_a_new_proxy_when_the_recorded_one_does_not_fit(run_action, change):
    client = fleet()
    recorded = run_action("remoteit_connection", client, **OPEN)["connection"]
    result = run_action("remoteit_connection", client, **dict(OPEN, **change))
    assert result["changed"] is True and result["connection"]["id"] != recorded["id"]
    assert result["connection"]["host_ip"] == change.get("host_ip", LATCHING)


def test_absent_with_connection_id_closes_that_one_only(run_action, store):
    client = fleet()
    kitchen = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    garage = run_action("remoteit_connection", client, device="pi-garage")["connection"]["id"]
    result = run_action("remoteit_connection", client, state="absent", connection_id=kitchen)
    assert result == {"changed": True, "closed": [kitchen]}
    assert live_ids(client) == [garage] and recorded_ids(store) == [garage]


def test_absent_all_sessions_also_closes_unrecorded_sessions_of_that_service_only(run_action, store):
    client = fleet()
    recorded = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    elsewhere = client.add_session(SSH)
    other_service = client.add_session(WEB)
    result = run_action("remoteit_connection", client, state="absent", all_sessions=True, **OPEN)
    assert result["changed"] is True
    assert sorted(result["closed"]) == sorted([recorded, elsewhere])
    assert live_ids(client) == [other_service] and store.records() == []
    assert "warnings" not in result


def _raise(error):
    raise error


def test_a_failed_close_by_connection_id_is_reported_and_keeps_the_record_for_a_retry(run_action, store):
    client = fleet()
    opened = run_action("remoteit_connection", client, **OPEN)["connection"]["id"]
    message = ("there is no remote.it API at https://api.example/graphql (HTTP 404 Not Found): api_url must be the "
               "full URL of the GraphQL endpoint")
    client.disconnect = lambda connection_id, service_id=None: _raise(EndpointError(message, status=404))
    result = run_action("remoteit_connection", client, state="absent", connection_id=opened)
    assert result["failed"] is True
    assert result["msg"] == "%s; its record stays in %s for the next try" % (message, store.path)
    assert result["error"] == {"kind": "endpoint", "status": 404}
    assert recorded_ids(store) == [opened]

    del client.disconnect  # api_url fixed: the next run closes it
    retried = run_action("remoteit_connection", client, state="absent", connection_id=opened)
    assert retried == {"changed": True, "closed": [opened]}
    assert store.records() == []


@pytest.mark.parametrize("args, message", [
    ({"service_id": SSH, "device": "pi-kitchen"}, "parameters are mutually exclusive: service_id|device"),
    ({"service_id": SSH, "service": "ssh"}, "parameters are mutually exclusive: service_id|service"),
    ({"service": "ssh", "state": "absent"}, "missing parameter(s) required by 'service': device"),
    ({}, "state is present but any of the following are missing: service_id, device"),
    ({"device": "pi-kitchen", "state": "gone"}, "value of state must be one of: present, absent, got: gone"),
    ({"device": "pi-kitchen", "renew_before": "soon"}, "renew_before"),
    ({"device": "pi-kitchen", "colour": "blue"}, "remoteit_connection) module: colour. Supported parameters include"),
])
def test_invalid_arguments_fail_cleanly_with_the_reason(run_action, args, message):
    client = fleet()
    result = run_action("remoteit_connection", client, **args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "exception" not in result and "changed" not in result
    assert client.calls == []


@pytest.mark.parametrize("args, kind, mentions", [
    ({"service_id": "80:00:zz"}, "invalid_input", "expected 8 hex octets separated by colons"),
    ({"device": "pi-garage", "host_ip": "somewhere"}, "invalid_input", "host_ip 'somewhere' is not valid"),
    ({"device": "gateway-01"}, "offline", "device 'gateway-01' is offline"),
    ({"device": "toaster"}, "not_found", "your devices: pi-kitchen, pi-garage, gateway-01"),
    ({"device": "pi-kitchen", "service": "vnc"}, "not_found", "its services: ssh, web"),
    ({"state": "absent"}, "invalid_input", "state=absent needs connection_id, service_id, or device"),
])
def test_a_remoteit_error_fails_the_task_with_its_kind_and_opens_nothing(run_action, store, args, kind, mentions):
    client = fleet()
    result = run_action("remoteit_connection", client, **args)
    assert result["failed"] is True
    assert mentions in result["msg"]
    assert result["error"]["kind"] == kind
    assert mutations(client) == [] and store.records() == []


def test_a_refused_connect_fails_with_its_kind_and_records_nothing(run_action, store):
    client = fleet()
    client.connect_failures = [ThrottledError("remote.it is throttling requests (HTTP 429)", status=429)]
    result = run_action("remoteit_connection", client, **OPEN)
    assert result["failed"] is True and result["msg"] == "remote.it is throttling requests (HTTP 429)"
    assert result["error"] == {"kind": "throttled", "status": 429}
    assert store.records() == []


def test_public_proxies_are_opened_with_a_warning(run_action):
    result = run_action("remoteit_connection", fleet(), device="pi-garage", host_ip="public")
    assert result["connection"]["host_ip"] == "0.0.0.0"
    assert len(result["warnings"]) == 1 and result["warnings"][0].startswith("host_ip public: anyone who learns")


def test_missing_credentials_name_the_places_a_task_reads(run_action, tmp_path):
    missing = str(tmp_path / "no-credentials")
    result = run_action("remoteit_connection", None, credentials_file=missing, **OPEN)
    assert result["failed"] is True
    assert result["error"]["kind"] == "credentials"
    assert result["msg"].startswith(
        "no remote.it access_key_id and secret_access_key found. Looked in: the task options (access_key_id, "
        "secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY)")


def unused_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@pytest.mark.parametrize("args", [
    pytest.param(OPEN, id="opened"),
    pytest.param(dict(OPEN, state="absent"), id="closed"),
    pytest.param(dict(OPEN, service_id=SSH), id="invalid-arguments"),
    pytest.param(dict(OPEN, host_ip="nowhere"), id="remoteit-error"),
])
def test_the_secret_is_never_in_the_result(run_action, args):
    result = run_action("remoteit_connection", fleet(), access_key_id="AKEXAMPLE", secret_access_key=SECRET, **args)
    assert "msg" in result or "changed" in result
    assert SECRET not in json.dumps(result)


def test_the_secret_is_not_in_the_failure_of_a_real_request(run_action):
    api_url = "http://127.0.0.1:%d/graphql/v1" % unused_port()
    result = run_action("remoteit_connection", None, access_key_id="AKEXAMPLE", secret_access_key=SECRET,
                        api_url=api_url, retries=0, request_timeout=5, **OPEN)
    assert result["failed"] is True and result["error"]["kind"] == "network"
    assert "127.0.0.1" in result["msg"]
    assert SECRET not in json.dumps(result)


# -- records handed over by an earlier job (AWX workflow artifacts, CI extra vars, cached facts) -----------------

def an_earlier_jobs_record(client, age=60, host="proxy.example", port=33000):
    """The connection result a job on another machine published: remote.it lists it, this machine never saw it."""
    created = now_utc() - datetime.timedelta(seconds=age)
    connection_id = client.add_session(SSH, age=age)
    return {"id": connection_id, "service_id": SSH, "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:00",
            "device_name": "pi-kitchen", "host": host, "port": port, "url": "tcp://%s:%s" % (host, port),
            "reverse_proxy": False, "host_ip": LATCHING, "created": iso(created),
            "expires_at": iso(created + datetime.timedelta(seconds=28800)), "timeout": 28800,
            "session_id": connection_id, "api_url": client.api_url, "reused": False}


@pytest.mark.parametrize("variable", ["remoteit_connections", "remoteit_connection"])
def test_present_reuses_a_record_handed_over_once_remoteit_lists_it_and_keeps_it(run_action, store, variable):
    client = fleet()
    handed = an_earlier_jobs_record(client)
    task_vars = {variable: [handed] if variable == "remoteit_connections" else handed}

    result = run_action("remoteit_connection", client, task_vars=task_vars, **OPEN)

    assert result["changed"] is False and result["connection"]["id"] == handed["id"]
    assert result["connection"]["port"] == 33000 and result["connection"]["reused"] is True
    assert mutations(client) == [] and client.count("sessions") == 1
    assert recorded_ids(store) == [handed["id"]]  # this machine's file holds it from now on
    again = run_action("remoteit_connection", client, **OPEN)  # a later task without the variable
    assert again["connection"]["id"] == handed["id"] and mutations(client) == []


def test_a_handed_record_remoteit_no_longer_lists_is_never_reused(run_action, store):
    client = fleet()
    handed = an_earlier_jobs_record(client, age=3600)
    client.disconnect(handed["id"])  # closed since: idle expiry, another job, the remote.it app
    client.calls.clear()

    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": [handed]}, **OPEN)

    assert result["changed"] is True and result["connection"]["id"] != handed["id"]
    assert recorded_ids(store) == [result["connection"]["id"]]


def test_a_handed_record_of_another_api_endpoint_is_not_used(run_action, store):
    client = fleet()
    handed = dict(an_earlier_jobs_record(client), api_url="https://other.example/graphql/v1")

    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": [handed]}, **OPEN)

    assert result["changed"] is True and result["connection"]["id"] != handed["id"]


def test_absent_closes_the_records_handed_over(run_action, store):
    client = fleet()
    handed = [an_earlier_jobs_record(client), an_earlier_jobs_record(client)]

    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": handed},
                        state="absent", **OPEN)

    assert result["changed"] is True and sorted(result["closed"]) == sorted(record["id"] for record in handed)
    assert live_ids(client) == [] and recorded_ids(store) == []
    assert "warnings" not in result


def test_absent_on_handed_records_that_are_gone_is_no_change(run_action):
    client = fleet()
    handed = an_earlier_jobs_record(client)
    client.disconnect(handed["id"])

    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": [handed]},
                        state="absent", **OPEN)

    assert result["changed"] is False and result["closed"] == [] and not result.get("failed")


@pytest.mark.parametrize("handed, message", [
    pytest.param({"id": "x"}, "remoteit_connections must be a list", id="not-a-list"),
    pytest.param([{"id": "x", "service_id": SSH}], "remoteit_connections[0] is not a connection record", id="no-host-ip"),
    pytest.param(["text"], "remoteit_connections[0] is not a connection record", id="not-a-dict"),
    pytest.param([{"id": "x", "service_id": "ssh", "host_ip": LATCHING}], "is not a remote.it service id",
                 id="bad-service-id"),
])
def test_handed_data_that_is_no_record_fails_naming_the_variable(run_action, store, handed, message):
    client = fleet()
    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": handed}, **OPEN)
    assert result["failed"] is True and message in result["msg"]
    assert mutations(client) == [] and store.records() == []


def test_publish_adds_the_connection_to_the_runs_stats_like_set_stats(run_action):
    result = run_action("remoteit_connection", fleet(), publish=True, **OPEN)
    assert result["ansible_stats"] == {"data": {"remoteit_connections": [result["connection"]]},
                                       "per_host": False, "aggregate": True}
    assert "ansible_stats" not in run_action("remoteit_connection", fleet(), **OPEN)


def test_publish_in_check_mode_publishes_nothing_that_does_not_exist(run_action):
    result = run_action("remoteit_connection", fleet(), check_mode=True, publish=True, **OPEN)
    assert result["changed"] is True and "ansible_stats" not in result


def test_wait_on_a_new_latching_proxy_warns_only_when_it_is_published_for_jobs_elsewhere(run_action, monkeypatch):
    from ansible_collections.community.remoteit.plugins.action import remoteit_connection as action
    monkeypatch.setattr(action, "wait_for_port", lambda record, timeout: 0.0)
    client = fleet()

    published = run_action("remoteit_connection", client, wait=True, publish=True, **OPEN)
    reused = run_action("remoteit_connection", client, wait=True, publish=True, **OPEN)
    used_here = run_action("remoteit_connection", client, wait=True, force=True, **OPEN)
    restricted = run_action("remoteit_connection", client, wait=True, publish=True, host_ip="192.0.2.10", **OPEN)

    assert published["changed"] and used_here["changed"] and restricted["changed"] and not reused["changed"]
    assert [warning for warning in published["warnings"] if warning.startswith("publish: true hands the new latching")]
    assert "warnings" not in used_here, "the documented usual case: the play goes on to use the proxy from here"
    assert "warnings" not in reused and "warnings" not in restricted


def test_absent_leaves_a_handed_over_session_of_another_user_open(run_action, store):
    """Whoever can set a job's extra vars must not close somebody else's session with the job's key."""
    client = fleet()
    handed = an_earlier_jobs_record(client)
    client.session_list[-1]["mine"] = False

    result = run_action("remoteit_connection", client, task_vars={"remoteit_connections": [handed]},
                        state="absent", **OPEN)

    assert result["changed"] is False and result["closed"] == [] and mutations(client) == []
    assert live_ids(client) == [handed["id"]] and store.records() == []


def test_check_mode_with_handed_records_predicts_and_writes_nothing(run_action, store):
    client = fleet()
    handed = an_earlier_jobs_record(client)
    for state in ("present", "absent"):
        result = run_action("remoteit_connection", client, check_mode=True, state=state,
                            task_vars={"remoteit_connections": [handed]}, **OPEN)
        assert result["changed"] is (state == "absent") and not result.get("failed")
    assert mutations(client) == [] and store.records() == []
