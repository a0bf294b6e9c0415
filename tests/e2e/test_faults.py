"""Faults injected into the sandbox: the modules retry what is safe, reconcile what is not, and
otherwise fail clearly, never leaving a proxy open that nobody recorded."""

from datetime import datetime

import pytest
from utils.connections import read_records

SELECT = "device=pi-garage service=ssh"


@pytest.fixture
def open_proxy(run_ansible, ansible_env):
    """Run remoteit_connection ad hoc; returns (returncode, output)."""

    def run(args=SELECT, **env):
        result = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a", args, check=False,
                             env=dict(ansible_env, **env))
        return result.returncode, result.stdout + result.stderr

    return run


def recorded(tmp_path):
    path = tmp_path / "connections.json"
    return read_records(path) if path.exists() else []


def statuses(sandbox):
    return [entry["status"] for entry in sandbox.requests()]


def assert_only_recorded_proxies(sandbox, tmp_path):
    assert sorted(proxy["id"] for proxy in sandbox.proxies()) == sorted(record["id"] for record in recorded(tmp_path))


@pytest.fixture(autouse=True)
def close_what_was_recorded(clean_sandbox, run_ansible, ansible_env):
    """Each test's teardown closes the connections it recorded (never all_sessions, which would hide a
    proxy left open unrecorded) and then no proxy may be left live."""
    yield
    clean_sandbox.clear_faults()
    run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a", SELECT + " state=absent",
                env=ansible_env)
    leaked = clean_sandbox.proxies()
    for proxy in leaked:  # reset the sandbox so a leak fails this test alone, not the counts of later tests
        clean_sandbox.registry.close(proxy["id"])
    assert leaked == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_queries_survive_gateway_errors(open_proxy, clean_sandbox, tmp_path, status):
    clean_sandbox.add_faults([{"field": "login", "status": status, "times": 2}])
    returncode, output = open_proxy()
    assert returncode == 0, output
    assert statuses(clean_sandbox).count(status) == 2
    assert len(recorded(tmp_path)) == 1
    assert_only_recorded_proxies(clean_sandbox, tmp_path)


def test_an_internal_server_error_is_reported_not_retried(open_proxy, clean_sandbox):
    clean_sandbox.add_faults([{"field": "login", "status": 500, "times": 2}])
    returncode, output = open_proxy()
    assert returncode != 0
    assert "HTTP 500" in output and "Traceback" not in output
    assert statuses(clean_sandbox) == [500]


def test_throttled_connect_waits_as_retry_after_asks(open_proxy, clean_sandbox, tmp_path):
    clean_sandbox.add_faults([{"field": "connect", "status": 429, "retry_after": 1, "times": 2}])
    returncode, output = open_proxy()
    assert returncode == 0, output
    connects = [entry for entry in clean_sandbox.requests() if entry["fields"] == ["connect"]]
    assert [entry["status"] for entry in connects] == [429, 429, 200]
    waited = datetime.fromisoformat(connects[2]["time"]) - datetime.fromisoformat(connects[0]["time"])
    assert waited.total_seconds() >= 1.9
    assert_only_recorded_proxies(clean_sandbox, tmp_path)


@pytest.mark.parametrize("fault", [
    {"field": "connect", "drop_response": True},
    {"field": "connect", "status": 502},
])
def test_a_connect_that_may_have_opened_a_proxy_is_reconciled(open_proxy, clean_sandbox, tmp_path, fault):
    clean_sandbox.add_faults([fault])
    returncode, output = open_proxy()
    assert returncode == 0, output
    connects = [entry for entry in clean_sandbox.requests() if entry["fields"] == ["connect"]]
    assert len(connects) == 2
    assert len(clean_sandbox.proxies()) == 1
    assert_only_recorded_proxies(clean_sandbox, tmp_path)


def test_lost_connect_answers_beyond_the_retries_leave_nothing_open(open_proxy, clean_sandbox, tmp_path):
    clean_sandbox.add_faults([{"field": "connect", "drop_response": True, "times": 3}])
    returncode, output = open_proxy(SELECT + " retries=2")
    assert returncode != 0
    assert "failed 3 times" in output and "closed 3 proxy(ies)" in output
    assert "Traceback" not in output
    assert clean_sandbox.proxies() == []
    assert recorded(tmp_path) == []


def test_latency_past_request_timeout_is_retried(open_proxy, clean_sandbox, tmp_path):
    clean_sandbox.add_faults([{"field": "login", "delay": 3}])
    returncode, output = open_proxy(SELECT + " request_timeout=1")
    assert returncode == 0, output
    assert_only_recorded_proxies(clean_sandbox, tmp_path)


@pytest.mark.parametrize("fault, message", [
    ({"field": "login", "status": 503, "times": 10}, "remote.it answered HTTP 503 (after 2 retries)"),
    ({"field": "login", "status": 429, "times": 10}, "remote.it is throttling requests (HTTP 429) (after 2 retries)"),
    ({"field": "login", "malformed": True}, "malformed API response"),
    ({"field": "login", "delay": 3, "times": 10}, "no answer from"),
])
def test_faults_that_outlast_the_retries_fail_clearly(open_proxy, clean_sandbox, tmp_path, fault, message):
    clean_sandbox.add_faults([fault])
    returncode, output = open_proxy(SELECT + " retries=2 request_timeout=1")
    assert returncode != 0
    assert message in output
    assert "Traceback" not in output
    assert clean_sandbox.proxies() == []


def test_an_unreachable_api_is_a_network_error(open_proxy):
    returncode, output = open_proxy(SELECT + " retries=1", REMOTEIT_API_URL="http://127.0.0.1:9/graphql/v1")
    assert returncode != 0
    assert "cannot reach http://127.0.0.1:9/graphql/v1" in output and "Traceback" not in output
