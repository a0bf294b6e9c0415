"""A proxy's whole life against the sandbox: opened, forced, its connect answer lost or never heard
(the run was killed), closed, its record lost. Nothing the collection opened is left live unrecorded,
nothing another client opened is closed, and every failure is said out loud.

Messages are checked for what a user acts on (a name, a URL, a count), not for their wording.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest
from conftest import REPO_ROOT, ansible_bin, run_command
from unit.sandbox.sandbox_helpers import Client
from utils.connections import read_records
from utils.device import processes

MODULE = "community.remoteit.remoteit_connection"
SELECT = "device=pi-garage service=ssh"
GARAGE_SSH = "80:00:00:00:01:00:02:01"
CONNECTION_PLAYBOOK = REPO_ROOT / "tests" / "e2e" / "playbooks" / "lifecycle_connection.yml"
# Seconds the sandbox holds back the answer of the connect that a killed run sent: long enough to
# kill ansible-playbook after the proxy opened, short enough to wait for the held request to end.
HOLD = 10


def normalized(text):
    return " ".join(text.split())


class Run:
    """An ansible run: return code, output, the ad-hoc module result and the warnings."""

    def __init__(self, completed):
        self.rc = completed.returncode
        self.stdout, self.stderr = completed.stdout, completed.stderr
        self.output = completed.stdout + completed.stderr

    @property
    def result(self):
        """The JSON ad-hoc `ansible` printed after "localhost | CHANGED =>" (or SUCCESS, FAILED!)."""
        start = self.stdout.find(" => {")
        assert start >= 0, "no module result in the output:\n" + self.output
        return json.loads(self.stdout[start + 4:self.stdout.rindex("}") + 1])

    @property
    def warnings(self):
        """Each [WARNING] on stderr, whitespace normalized (ansible-core 2.16 wraps them to the terminal)."""
        return normalized(self.stderr).split("[WARNING]:")[1:]

    def warning_naming(self, word):
        found = [warning for warning in self.warnings if word in warning]
        assert found, "no warning names %r; stderr:\n%s" % (word, self.stderr)
        return found[0]


class Lifecycle:
    """The session sandbox seen by one test, and the ansible runs the test makes."""

    def __init__(self, sandbox, run_ansible, run_playbook, ansible_env, tmp_path):
        self.sandbox = sandbox
        self.env = ansible_env
        self.tmp_path = tmp_path
        self._run_ansible = run_ansible
        self._run_playbook = run_playbook
        # Proxies the test opened without the collection, or saw opened unrecorded: its own to close.
        self.known = set()

    def module(self, args, **env):
        """remoteit_connection ad hoc on localhost (env overrides the sandbox environment)."""
        return Run(self._run_ansible("localhost", "-m", MODULE, "-a", args, check=False, env=dict(self.env, **env)))

    def playbook(self, state):
        return Run(self._run_playbook(CONNECTION_PLAYBOOK, check=False, extra_vars=self.connection_vars(state)))

    @staticmethod
    def connection_vars(state):
        return {"lifecycle_device": "pi-garage", "lifecycle_service": "ssh", "lifecycle_state": state}

    def recorded_ids(self):
        """Ids of the connections the connections file records (not the notes of connects in flight)."""
        path = self.tmp_path / "connections.json"
        records = read_records(path) if path.exists() else []
        return sorted(record["id"] for record in records if record.get("id") and not record.get("intent"))

    def live_ids(self):
        return sorted(proxy["id"] for proxy in self.sandbox.proxies())

    def requests_for(self, field):
        return [entry for entry in self.sandbox.requests() if field in entry["fields"]]

    def mutations(self):
        return [entry for entry in self.sandbox.requests() if entry["operation"] == "mutation"]

    def close_own(self):
        """What the test opened, closed the ways a user would: the recorded connections by id through the
        module, the others (opened without the collection) by a signed disconnect."""
        for connection_id in self.recorded_ids():
            self.module("connection_id=%s state=absent" % connection_id)
        client = Client(self.sandbox)
        for connection_id in self.known & set(self.live_ids()):
            client.disconnect(connection_id)


@pytest.fixture
def lifecycle(clean_sandbox, run_ansible, run_playbook, ansible_env, tmp_path):
    """Starts with no live proxy; its teardown closes what the test recorded or knows it opened (never
    all_sessions) and then asserts that no proxy is left live."""
    assert clean_sandbox.proxies() == [], "an earlier test left proxies open"
    state = Lifecycle(clean_sandbox, run_ansible, run_playbook, ansible_env, tmp_path)
    yield state
    clean_sandbox.clear_faults()
    state.close_own()
    leaked = clean_sandbox.proxies()
    for proxy in leaked:  # reset the sandbox so a leak fails this test alone, not the counts of later tests
        clean_sandbox.registry.close(proxy["id"])
    assert leaked == [], "proxies left open after the test closed what it recorded"


def start_run(cmd, env, cwd, log):
    """Start cmd in the background, its output going to `log`."""
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen([str(part) for part in cmd], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)


def kill_like_a_lost_runner(leader):
    """SIGKILL a run and every process under it, as a killed CI runner (its container, its cgroup) is. Its
    process group alone is not enough: ansible-core 2.19+ puts each worker in a session of its own (setsid),
    so the worker that sent connect would live on, hear the held answer and record it.

    The killed worker is reparented to pid 1; where that does not reap orphans (many containers, some VMs)
    it stays a zombie: dead all the same, holding no file, lock or socket."""
    table = list(processes())
    tree = {leader}
    while True:
        children = {pid for pid, _state, ppid, _pgrp in table if ppid in tree} - tree
        if not children:
            break
        tree |= children
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while any(pid in tree and state != "Z" for pid, state, _ppid, _pgrp in processes()):
        assert time.monotonic() < deadline, "the killed run's processes did not end"
        time.sleep(0.05)


def wait_for_a_proxy(sandbox, process, log, timeout=120):
    """The id of the first live proxy, once the sandbox lists one; fails if `process` ends first."""
    deadline = time.monotonic() + timeout
    while not sandbox.proxies():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("no proxy was opened (rc=%s):\n%s" % (process.poll(), log.read_text()), pytrace=False)
        time.sleep(0.05)
    return sandbox.proxies()[0]["id"]


def wait_until_answered(sandbox, field, timeout=HOLD + 30):
    """Wait until the held request has gone through the sandbox (it logs it then), so that it cannot turn
    up in the request log of a later test."""
    deadline = time.monotonic() + timeout
    while not any(field in entry["fields"] and (entry["fault"] or {}).get("hold") for entry in sandbox.requests()):
        assert time.monotonic() < deadline, "the held %s request never ended" % field
        time.sleep(0.1)


def test_force_keeps_the_older_live_proxy_and_absent_closes_both(lifecycle):
    first = lifecycle.module(SELECT)
    assert first.rc == 0, first.output
    second = lifecycle.module(SELECT + " force=true")
    assert second.rc == 0, second.output
    ids = sorted([first.result["connection"]["id"], second.result["connection"]["id"]])
    lifecycle.known.update(ids)
    assert ids[0] != ids[1]
    assert lifecycle.live_ids() == ids
    assert lifecycle.recorded_ids() == ids, "force dropped the record of the older proxy while it was live"

    closed = lifecycle.module(SELECT + " state=absent")
    assert closed.rc == 0, closed.output
    assert sorted(closed.result["closed"]) == ids
    assert lifecycle.live_ids() == []


def test_a_lost_connect_answer_closes_only_the_proxy_that_connect_opened(lifecycle):
    # The same account's desktop app (or another controller) opened a session to the service 40 s ago.
    client = Client(lifecycle.sandbox)
    other = client.connect(GARAGE_SSH)["id"]
    lifecycle.known.add(other)
    lifecycle.sandbox.backdate(other, 40)
    lifecycle.sandbox.clear_requests()
    lifecycle.sandbox.add_faults([{"field": "connect", "drop_response": True}])

    run = lifecycle.module(SELECT)
    assert run.rc == 0, run.output
    mine = run.result["connection"]["id"]
    assert other in lifecycle.live_ids(), "reconciling the lost connect closed a session opened 40 s before it"
    assert lifecycle.live_ids() == sorted([other, mine])
    assert len(lifecycle.requests_for("connect")) == 2
    disconnects = lifecycle.requests_for("disconnect")
    assert len(disconnects) == 1, "expected one disconnect, of the proxy the lost connect opened: %s" % disconnects
    assert other not in json.dumps(disconnects[0]["variables"])

    closed = lifecycle.module(SELECT + " state=absent")
    assert closed.result["closed"] == [mine]
    assert client.disconnect(other)["data"]["disconnect"] is True
    assert lifecycle.live_ids() == []


@pytest.mark.parametrize("rerun", ["present", "absent"])
def test_the_next_run_closes_the_proxy_of_a_run_killed_before_connect_answered(lifecycle, rerun):
    lifecycle.sandbox.add_faults([{"field": "connect", "hold": HOLD}])
    log = lifecycle.tmp_path / "killed-run.log"
    cmd = [ansible_bin("ansible-playbook"), CONNECTION_PLAYBOOK, "-e",
           json.dumps(lifecycle.connection_vars("present"))]
    killed = start_run(cmd, lifecycle.env, lifecycle.tmp_path, log)
    try:
        lost = wait_for_a_proxy(lifecycle.sandbox, killed, log)  # connect was processed, its answer is held
    finally:
        kill_like_a_lost_runner(killed.pid)  # no signal handler runs, nothing is recorded
        killed.wait(30)
    lifecycle.known.add(lost)
    try:
        assert lost not in lifecycle.recorded_ids()
        again = lifecycle.playbook(rerun)
        assert again.rc == 0, again.output
        live = lifecycle.live_ids()
        assert lost not in live, "the %s run left open the proxy that the killed run had opened" % rerun
        if rerun == "present":
            assert len(live) == 1 and live == lifecycle.recorded_ids()
            closed = lifecycle.playbook("absent")
            assert closed.rc == 0, closed.output
        assert lifecycle.live_ids() == []
    finally:
        wait_until_answered(lifecycle.sandbox, "connect")


def test_device_without_service_is_an_error_listing_the_services_even_with_one_recorded(lifecycle):
    web = lifecycle.module("device=pi-kitchen service=web")
    assert web.rc == 0, web.output
    lifecycle.sandbox.clear_requests()

    run = lifecycle.module("device=pi-kitchen")
    assert run.rc != 0, "expected an error listing the services ssh and web, got:\n" + run.output
    message = run.result["msg"]
    assert re.search(r"\bssh\b", message) and re.search(r"\bweb\b", message), message
    assert lifecycle.mutations() == []

    closed = lifecycle.module("device=pi-kitchen service=web state=absent")
    assert closed.result["closed"] == [web.result["connection"]["id"]]
    assert lifecycle.live_ids() == []


def test_absent_by_id_at_a_wrong_api_path_fails_naming_the_url_and_keeps_the_record(lifecycle):
    opened = lifecycle.module(SELECT)
    assert opened.rc == 0, opened.output
    connection_id = opened.result["connection"]["id"]
    wrong_url = lifecycle.sandbox.base_url + "/graphql/v2"  # the sandbox answers 404 there

    run = lifecycle.module("connection_id=%s state=absent" % connection_id, REMOTEIT_API_URL=wrong_url)
    assert run.rc != 0, "closing through a URL that answers 404 did not fail:\n" + run.output
    assert wrong_url in run.result["msg"]
    assert lifecycle.recorded_ids() == [connection_id]
    assert lifecycle.live_ids() == [connection_id]

    closed = lifecycle.module("connection_id=%s state=absent" % connection_id)
    assert closed.rc == 0, closed.output
    assert closed.result["closed"] == [connection_id]
    assert lifecycle.live_ids() == []


def test_absent_without_the_connections_file_warns_of_live_sessions_and_all_sessions_closes_them(lifecycle):
    opened = lifecycle.module(SELECT)
    assert opened.rc == 0, opened.output
    connection_id = opened.result["connection"]["id"]
    lifecycle.known.add(connection_id)
    (lifecycle.tmp_path / "connections.json").unlink()

    run = lifecycle.module(SELECT + " state=absent")
    assert run.rc == 0, run.output
    assert run.result["closed"] == []
    warning = run.warning_naming("all_sessions")
    assert re.search(r"\b(1|one)\b", warning, re.IGNORECASE), "the warning does not say how many: " + warning
    assert lifecycle.live_ids() == [connection_id]

    swept = lifecycle.module(SELECT + " state=absent all_sessions=true")
    assert swept.rc == 0, swept.output
    assert swept.result["closed"] == [connection_id]
    assert lifecycle.live_ids() == []


def test_an_inventory_connect_service_no_device_has_is_a_warning_listing_the_services(lifecycle):
    path = lifecycle.tmp_path / "devices.remoteit.yml"
    path.write_text(json.dumps({"plugin": "community.remoteit.remoteit", "connect_service": "sshh"}))
    run = Run(run_command([ansible_bin("ansible-inventory"), "-i", path, "--list"], lifecycle.env,
                          cwd=lifecycle.tmp_path))
    warning = run.warning_naming("sshh")
    assert re.search(r"\bssh\b", warning) and re.search(r"\bweb\b", warning), warning
    hostvars = json.loads(run.stdout)["_meta"]["hostvars"]
    assert "pi-garage" in hostvars
    assert [host for host, values in hostvars.items() if "ansible_host" in values] == []
    assert lifecycle.live_ids() == []


def test_a_connect_answered_503_every_time_is_tried_retries_plus_one_times(lifecycle):
    lifecycle.sandbox.add_faults([{"field": "connect", "status": 503, "times": 10}])
    run = lifecycle.module(SELECT + " retries=3")
    connects = lifecycle.requests_for("connect")
    assert len(connects) <= 4, "%d connect requests reached remote.it with retries=3" % len(connects)
    assert run.rc != 0, run.output
    assert "503" in run.output
    assert lifecycle.live_ids() == []


def test_a_lookup_that_finds_nothing_asks_remoteit_once_per_process(lifecycle, run_playbook):
    # One task evaluates the lookup 15 times (see the playbook): a miss is cached within the process
    # like a hit, so remote.it is asked at most once.
    run_playbook("tests/e2e/playbooks/lifecycle_lookup_misses.yml")
    asked = lifecycle.sandbox.requests()
    assert len(asked) <= 1, "%d API requests for 15 evaluations of a lookup that found nothing: %s" % (
        len(asked), [entry["fields"] for entry in asked])
    assert lifecycle.live_ids() == []
