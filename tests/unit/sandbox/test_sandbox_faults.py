# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fault injection and the inspection endpoints tests rely on."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
import requests
from .sandbox_helpers import TIMEOUT, Client, wait_for

LOGIN = "{ login { id } }"
CONNECT = 'mutation { connect(serviceId: "80:00:00:00:01:00:01:01") { id port } }'


def test_status_fault_with_retry_after_hits_only_its_field_and_times(sandbox, client):
    sandbox.add_faults([{"field": "connect", "status": 503, "retry_after": 7, "times": 2}])
    assert client.post({"query": LOGIN}).status_code == 200
    for _attempt in range(2):
        response = client.post({"query": CONNECT})
        assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    assert client.post({"query": CONNECT}).status_code == 200
    assert len(sandbox.proxies()) == 1  # the refused requests opened nothing


def test_throttling_fault_on_any_field(sandbox, client):
    sandbox.add_faults({"field": "*", "status": 429, "retry_after": 1})
    assert client.post({"query": LOGIN}).status_code == 429
    assert client.post({"query": LOGIN}).status_code == 200


def test_malformed_fault_answers_200_with_a_body_that_is_not_json(sandbox, client):
    sandbox.add_faults([{"field": "login", "malformed": True}])
    response = client.post({"query": LOGIN})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_delay_fault_slows_the_answer_down(sandbox, client):
    sandbox.add_faults([{"field": "login", "delay": 0.5}])
    started = time.monotonic()
    assert client.data(LOGIN)["login"]["id"]
    assert time.monotonic() - started >= 0.5


def test_drop_response_processes_the_request_then_hangs_up(sandbox, client):
    sandbox.add_faults([{"field": "connect", "drop_response": True}])
    with pytest.raises(requests.ConnectionError):
        client.post({"query": CONNECT})
    assert len(sandbox.proxies()) == 1  # the proxy really was opened
    entry = sandbox.requests()[-1]
    assert (entry["fields"], entry["status"], entry["fault"]["drop_response"]) == (["connect"], None, True)


def test_faults_over_http(sandbox, client):
    faults = sandbox.inspect_url + "/faults"
    bad = requests.post(faults, json=[{"field": "connect", "status": 200}], timeout=TIMEOUT)
    assert bad.status_code == 400 and "400-599" in bad.json()["error"]
    assert requests.post(faults, json=[{"field": "login", "status": 502}], timeout=TIMEOUT).json() == [{"field": "login", "status": 502, "times": 1}]
    assert requests.delete(faults, timeout=TIMEOUT).status_code == 200
    assert requests.get(faults, timeout=TIMEOUT).json() == []
    assert client.post({"query": LOGIN}).status_code == 200


def test_request_log_shows_what_happened_without_credentials(sandbox, client):
    key_id, secret = sandbox.credentials
    client.data("query Mine($id: [String!]!) { login { device(id: $id) { name } } applicationTypes { id } }", {"id": ["80:00:00:00:01:00:00:01"]})
    client.data(CONNECT)
    Client(sandbox, (key_id, "d3Jvbmctc2VjcmV0")).post({"query": LOGIN})
    log = requests.get(sandbox.inspect_url + "/requests", timeout=TIMEOUT).json()
    assert [(entry["operation"], entry["fields"], entry["status"], entry["auth"]) for entry in log] == [
        ("query", ["login", "applicationTypes"], 200, "ok"),
        ("mutation", ["connect"], 200, "ok"),
        (None, [], 403, "signature does not match"),
    ]
    assert log[0]["variables"] == {"id": ["80:00:00:00:01:00:00:01"]}
    assert [entry["seq"] for entry in log] == [1, 2, 3]
    assert secret not in json.dumps(log) and "Signature" not in json.dumps(log)
    requests.delete(sandbox.inspect_url + "/requests", timeout=TIMEOUT)
    assert sandbox.requests() == []


def test_inspection_endpoints(sandbox, client):
    port = client.data(CONNECT)["connect"]["port"]
    assert requests.get(sandbox.inspect_url + "/health", timeout=TIMEOUT).json() == {"ok": True}
    (proxy,) = requests.get(sandbox.inspect_url + "/proxies", timeout=TIMEOUT).json()
    assert (proxy["port"], proxy["service_id"], proxy["host_ip"]) == (port, "80:00:00:00:01:00:01:01", "255.255.255.255")
    assert (proxy["device_id"], proxy["reverse_proxy"], proxy["live_tcp_connections"]) == ("80:00:00:00:01:00:00:01", False, 0)
    assert requests.get(sandbox.inspect_url + "/nothing", timeout=TIMEOUT).status_code == 404
    assert requests.get(sandbox.base_url + "/graphql/v1", timeout=TIMEOUT).status_code == 404
    assert requests.post(sandbox.base_url + "/graphql/v2", timeout=TIMEOUT).status_code == 404


def test_hold_processes_the_request_then_answers_late(sandbox, client):
    sandbox.add_faults([{"field": "connect", "hold": 1}])
    answers = []
    started = time.monotonic()
    held = threading.Thread(target=lambda: answers.append(client.post({"query": CONNECT})))
    held.start()
    wait_for(lambda: len(sandbox.proxies()) == 1)  # opened while the answer is still held back
    assert held.is_alive() and answers == []
    held.join(TIMEOUT)
    (response,) = answers
    assert time.monotonic() - started >= 1
    assert response.status_code == 200
    assert response.json()["data"]["connect"]["id"] == sandbox.proxies()[0]["id"]
    entry = sandbox.requests()[-1]
    assert (entry["fields"], entry["status"], entry["fault"]["hold"]) == (["connect"], 200, 1)


@pytest.mark.parametrize("rule, message", [
    ({"field": "connect", "hold": -1}, "fault hold must be a number >= 0"),
    ({"field": "connect", "hold": True}, "fault hold must be a number >= 0"),
    ({"field": "connect", "hold": 5, "drop_response": True}, "only one of"),
    ({"field": "connect", "hold": 0}, "needs one of status, malformed, drop_response, hold, answer or a delay"),
])
def test_bad_hold_rules_are_refused(sandbox, rule, message):
    with pytest.raises(ValueError, match=message):
        sandbox.add_faults([rule])
    assert sandbox.faults.pending() == []


HOSTILE = "-oProxyCommand=touch /tmp/x"


def test_answer_replaces_fields_of_a_connect_whose_proxy_stays_live(sandbox, client):
    sandbox.add_faults([{"field": "connect", "answer": {"host": HOSTILE, "port": 70000, "url": None, "session": {"id": "x"}, "extra": [1]}}])
    answer = client.data('mutation { connect(serviceId: "80:00:00:00:01:00:01:01") { id host port url session { id } } }')["connect"]
    (proxy,) = requests.get(sandbox.inspect_url + "/proxies", timeout=TIMEOUT).json()
    assert answer == {"id": proxy["id"], "host": HOSTILE, "port": 70000, "url": None, "session": {"id": "x"}, "extra": [1]}
    assert proxy["port"] != 70000  # the real proxy, on its real port, still open
    assert client.data("{ login { sessions { id } } }")["login"]["sessions"] == [{"id": proxy["id"]}]
    entry = sandbox.requests()[-2]
    assert (entry["fields"], entry["status"], entry["fault"]["answer"]["port"]) == (["connect"], 200, 70000)
    assert client.connect("80:00:00:00:01:00:02:01")["host"] == "127.0.0.1"  # used up


@pytest.mark.parametrize("field, query, answer", [
    ("login", LOGIN, "not an object"),
    ("login", LOGIN, None),
    ("login", LOGIN, [{"id": 1}]),
    ("connect", 'mutation { connect(serviceId: "80:00:00:00:09:09:09:09") { id } }', {"host": HOSTILE}),  # data is null after the error
])
def test_answer_that_is_not_an_object_or_to_a_field_without_one_replaces_it_whole(sandbox, client, field, query, answer):
    sandbox.add_faults([{"field": field, "answer": answer}])
    assert client.gql(query)["data"] == {field: answer}


def test_answer_to_disconnect_replaces_its_boolean_after_closing_the_proxy(sandbox, client):
    connection = client.connect("80:00:00:00:01:00:02:01")
    sandbox.add_faults([{"field": "disconnect", "answer": {"ok": "maybe"}}])
    assert client.disconnect(connection["id"]) == {"data": {"disconnect": {"ok": "maybe"}}}
    assert sandbox.proxies() == []


def test_false_and_null_answers_are_effects_that_fire_times_times(sandbox, client):
    faults = requests.post(sandbox.inspect_url + "/faults", json=[{"field": "login", "answer": False, "times": 2}], timeout=TIMEOUT)
    assert faults.json() == [{"field": "login", "answer": False, "times": 2}]
    assert [client.gql(LOGIN)["data"] for _attempt in range(2)] == [{"login": False}] * 2
    assert client.data(LOGIN)["login"]["id"]
    sandbox.add_faults({"field": "login", "answer": None})
    assert sandbox.faults.pending() == [{"field": "login", "answer": None, "times": 1}]


@pytest.mark.parametrize("rule, message", [
    ({"field": "*", "answer": {"id": "x"}}, "needs the field whose answer it replaces"),
    ({"answer": {"id": "x"}}, "needs the field whose answer it replaces"),
    ({"field": "connect", "answer": None, "hold": 1}, "only one of"),
    ({"field": "connect", "answer": {"port": object()}}, "fault answer must be JSON"),
])
def test_bad_answer_rules_are_refused(sandbox, rule, message):
    with pytest.raises(ValueError, match=message):
        sandbox.add_faults([rule])
    assert sandbox.faults.pending() == []


def test_backdate_makes_a_proxy_look_older_to_the_api(sandbox, client):
    connection = client.connect("80:00:00:00:01:00:02:01")
    snapshot = sandbox.backdate(connection["id"], 40)
    sessions = client.data("{ login { sessions { id timestamp } } }")["login"]["sessions"]
    assert sessions == [{"id": connection["id"], "timestamp": snapshot["created"]}]
    age = datetime.fromisoformat(connection["created"]) - datetime.fromisoformat(snapshot["created"])
    assert age == timedelta(seconds=40)
    assert sandbox.proxies()[0]["created"] == snapshot["created"]


def test_backdate_over_http(sandbox, client):
    connection = client.connect("80:00:00:00:01:00:02:01")
    backdate = sandbox.inspect_url + "/backdate"
    answer = requests.post(backdate, json={"id": connection["id"], "seconds": 2.5}, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json()["id"] == connection["id"]
    unknown = requests.post(backdate, json={"id": "no-such-connection", "seconds": 1}, timeout=TIMEOUT)
    assert unknown.status_code == 404 and "no-such-connection" in unknown.json()["error"]
    negative = requests.post(backdate, json={"id": connection["id"], "seconds": -1}, timeout=TIMEOUT)
    assert negative.status_code == 400 and ">= 0" in negative.json()["error"]
    assert requests.post(backdate, json=[], timeout=TIMEOUT).status_code == 400


def test_a_backdated_proxy_expires_on_its_earlier_lifetime(make_sandbox):
    sandbox = make_sandbox(lifetime=30)
    connection = Client(sandbox).connect("80:00:00:00:01:00:02:01")
    sandbox.backdate(connection["id"], 30)
    wait_for(lambda: sandbox.proxies() == [])
