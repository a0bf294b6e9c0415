"""The everyday flows under every answer to the API's unknowns (tests/sandbox/README.md, "The API's unknowns").

For each setting value that is not the sandbox's default (and the defaults, as a baseline) a sandbox is started
with it, and a user's successive runs go through it, each its own ansible-playbook process against a real sshd:

1. remoteit_connection opens a proxy to the device's ssh service (changed);
2. a second run reuses it (not changed, the same connection and port); where the unknown is about sessions or
   ids, this run comes after remote.it's last answer stopped being trusted, so that it asks remote.it again;
3. the connection plugin community.remoteit.ssh reaches the device;
4. the proxy goes away inside remote.it (expired, or its device went offline with offline_proxies: close), and
   the connection plugin reaches the device again through a new proxy;
5. state: absent closes everything; then nothing is live, the connections file records nothing (no intent
   either), and no run printed a traceback.

Each test's teardown proves its own cleanup (no live proxy), closing what is left the way a user would (state:
absent), never by sweeping the sandbox.
"""

import json
import re
import shutil
import tempfile
import time

import pytest
from remoteit_sandbox import Sandbox
from remoteit_sandbox.world import DEMO_KEY_ID, DEMO_SECRET, DEMO_USER_ID
from utils.connections import read_records, write_records

DEVICE = "hexbox"
# Ids with hex letters, so that their case shows (the demo world's are digits only).
DEVICE_ID = "80:00:00:00:0A:BC:00:01"
SSH_ID = "80:00:00:00:0A:BC:01:01"
PLUGIN = "community.remoteit.ssh"
# Long enough that nothing expires on its own and above the default renew_before (300 s): step 2 can reuse.
LIFETIME = 900
IDLE_TIMEOUT = 300

# remoteit_connection trusts remote.it's answer on which connections are live for 30 s (its documentation): a
# second run within that time asks nothing. In the cases whose unknown is about sessions or ids, the records are made
# older than that before the second run, as if the user ran it a minute later, so that its reuse rests on remote.it's
# `sessions`; the others (and everything else) do not.
TRUSTED_FOR = 30
ASKS_REMOTEIT_AGAIN = ("defaults", "id_case-lower-ids_case_sensitive", "id_case-upper-ids_case_sensitive", "session_ids-distinct",
                       "session_ids-distinct-connect_session-null", "sessions_list_unused-false")
CASES = {
    "defaults": {},
    "disconnect_unknown-false": {"disconnect_unknown": "false"},
    "disconnect_unknown-error-Connection-expired": {"disconnect_unknown": "error", "disconnect_unknown_message": "Connection expired"},
    "disconnect_unknown-error-Invalid-connection": {"disconnect_unknown": "error", "disconnect_unknown_message": "Invalid connection"},
    "id_case-lower-ids_case_sensitive": {"id_case": "lower", "ids_case_sensitive": True},
    "id_case-upper-ids_case_sensitive": {"id_case": "upper", "ids_case_sensitive": True},
    "session_ids-distinct": {"session_ids": "distinct"},
    "session_ids-distinct-connect_session-null": {"session_ids": "distinct", "connect_session": "null"},
    "sessions_list_unused-false": {"sessions_list_unused": False},
    "offline_proxies-close": {"offline_proxies": "close"},
}

CONNECTION_PLAYBOOK = """
- name: A proxy to the device's ssh service, its result kept for the test
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Bring the proxy to the wanted state
      community.remoteit.remoteit_connection:
        device: "{{ unknowns_device }}"
        service: ssh
        state: "{{ unknowns_state }}"
      register: unknowns_result
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ unknowns_result | to_json }}"
        dest: "{{ unknowns_result_file }}"
        mode: "0600"
"""

PING_PLAYBOOK = """
- name: Reach the device through its remote.it proxy
  hosts: devices
  gather_facts: false
  tasks:
    - name: Run a module on the device
      ansible.builtin.ping:
"""


def world(device):
    """The demo user with one device whose ssh service is the `device` sshd."""
    return {
        "users": [{"id": DEMO_USER_ID, "email": "demo@example.com", "devices": [{
            "id": DEVICE_ID, "name": DEVICE,
            "services": [{"id": SSH_ID, "name": "ssh", "application": 28, "target": "127.0.0.1:%d" % device.port}],
        }]}],
        "access_keys": [{"id": DEMO_KEY_ID, "secret": DEMO_SECRET, "user": DEMO_USER_ID}],
    }


class Runs:
    """A user's successive runs against one sandbox, sharing the connections file and known_hosts."""

    def __init__(self, case, sandbox, device, run_playbook, env, tmp_path):
        self.case = case
        self.sandbox = sandbox
        self.device = device
        self.env = env
        self.tmp_path = tmp_path
        self._run_playbook = run_playbook
        self.outputs = []
        self.count = 0
        (tmp_path / "connection.yml").write_text(CONNECTION_PLAYBOOK)
        (tmp_path / "ping.yml").write_text(PING_PLAYBOOK)

    def inventory(self):
        """The device as a host only the plugin can reach: no address, host key checked against this test's file."""
        return {"devices": {"hosts": {DEVICE: {
            "ansible_connection": PLUGIN,
            "ansible_user": self.device.user,
            "ansible_ssh_private_key_file": self.device.private_key,
            "ansible_python_interpreter": self.device.python_interpreter,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null "
                                       "-o StrictHostKeyChecking=accept-new" % (self.tmp_path / "known_hosts"),
        }}}}

    def _run(self, playbook, extra_vars=None):
        self.count += 1
        completed = self._run_playbook(self.tmp_path / playbook, inventory=self.inventory(), extra_vars=extra_vars,
                                       env=self.env, check=False)
        output = completed.stdout + completed.stderr
        self.outputs.append(output)
        return completed.returncode, output

    def connection(self, state):
        """remoteit_connection with `state`: (rc, output, its registered result or None)."""
        result_file = self.tmp_path / ("result-%d.json" % (self.count + 1))
        rc, output = self._run("connection.yml", {"unknowns_device": DEVICE, "unknowns_state": state,
                                                  "unknowns_result_file": str(result_file)})
        return rc, output, json.loads(result_file.read_text()) if result_file.exists() else None

    def ping(self):
        return self._run("ping.yml")

    def live_ids(self):
        return sorted(proxy["id"] for proxy in self.sandbox.proxies())

    def records(self):
        """Every record of the connections file, intents (notes of connects in flight) included."""
        path = self.tmp_path / "connections.json"
        return read_records(path) if path.exists() else []

    def a_minute_later(self):
        """The next run comes a minute after the proxies were opened or last confirmed, as far as the records say."""
        path = self.tmp_path / "connections.json"
        records = read_records(path)
        earlier = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * TRUSTED_FOR))
        for record in records:
            record["created"] = earlier
            if record.get("confirmed_at"):
                record["confirmed_at"] = earlier
        write_records(path, records)

    def tracebacks(self):
        return [output for output in self.outputs if "Traceback" in output or "To see the full traceback" in output]


def first_lines(output, count=15):
    """The lines of a run's output that say what went wrong, for assertion messages."""
    lines = [line[:300] for line in output.splitlines() if re.match(r"(fatal|failed|\[ERROR\]|ERROR|.*UNREACHABLE)", line)]
    return "\n".join((lines or output.splitlines())[:count]) + "\n--- whole output ---\n" + output


def reached(output):
    """Whether the ping run's recap says the device was reached and the task succeeded."""
    return re.search(r"^%s\s+: ok=1\s+changed=0\s+unreachable=0\s+failed=0" % DEVICE, output, re.MULTILINE) is not None


@pytest.fixture(params=list(CASES), ids=list(CASES))
def runs(request, device, run_playbook, ansible_env, tmp_path):
    """A sandbox with one case's settings, and the runs of one user against it. The teardown proves that the test
    left nothing live: what is still live is closed with state: absent, as a user would, and then nothing may be."""
    settings = CASES[request.param]
    with Sandbox(world(device), lifetime=LIFETIME, idle_timeout=IDLE_TIMEOUT, **settings) as sandbox:
        control_dir = tempfile.mkdtemp(prefix="rit-unk-")  # ssh's control sockets, on a path short enough
        key_id, secret = sandbox.credentials
        env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret,
                   ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
                   ANSIBLE_CALLBACK_FORMAT_PRETTY="false")
        state = Runs(request.param, sandbox, device, run_playbook, env, tmp_path)
        try:
            yield state
            if state.live_ids():
                state.connection("absent")
            assert state.live_ids() == [], "proxies left live after state: absent (%s)" % request.param
        finally:
            shutil.rmtree(control_dir, ignore_errors=True)


def test_everyday_flows_under_each_answer_of_the_api(runs):
    # 1. open
    rc, output, opened = runs.connection("present")
    assert rc == 0 and opened is not None, "opening failed:\n" + first_lines(output)
    assert opened["changed"] is True, output
    first = opened["connection"]
    assert runs.live_ids() == [first["id"]], (first, runs.sandbox.proxies())

    # 2. reuse, in a run of its own
    if runs.case in ASKS_REMOTEIT_AGAIN:
        runs.a_minute_later()
    rc, output, reused = runs.connection("present")
    assert rc == 0 and reused is not None, "the second run failed:\n" + first_lines(output)
    assert reused["changed"] is False, "the second run did not reuse the proxy:\n" + output
    assert (reused["connection"]["id"], reused["connection"]["port"]) == (first["id"], first["port"])
    assert runs.live_ids() == [first["id"]], "the second run left other proxies live: %s" % runs.sandbox.proxies()

    # 3. the connection plugin reaches the device
    rc, output = runs.ping()
    assert rc == 0 and reached(output), "the connection plugin did not reach the device:\n" + first_lines(output)

    # 4. the proxy goes away inside remote.it; the next run reaches the device through a new one
    gone = runs.live_ids()
    assert gone, "no proxy is live after the plugin reached the device"
    if runs.sandbox.settings.offline_proxies == "close":
        runs.sandbox.set_device_state(DEVICE, "inactive")
        runs.sandbox.set_device_state(DEVICE, "active")
    else:
        for connection_id in gone:
            runs.sandbox.registry.close(connection_id)  # expired, as remote.it closes a proxy at its lifetime
    assert runs.live_ids() == []
    rc, output = runs.ping()
    assert rc == 0 and reached(output), "the run after the proxy expired failed:\n" + first_lines(output)
    renewed = runs.live_ids()
    assert renewed and set(renewed).isdisjoint(gone), "no new proxy was opened: live %s, gone %s" % (renewed, gone)

    # 5. close everything
    rc, output, closed = runs.connection("absent")
    assert rc == 0, "state: absent failed:\n" + first_lines(output)
    assert runs.live_ids() == [], "state: absent left proxies live: %s\n%s" % (runs.sandbox.proxies(), output)
    assert runs.records() == [], "the connections file still holds records: %s" % runs.records()
    assert runs.tracebacks() == [], "a run printed a traceback:\n" + "\n=====\n".join(runs.tracebacks())
    assert runs.count <= 5
