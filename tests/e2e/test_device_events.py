"""The event source community.remoteit.device_events end to end: a real ansible-rulebook runs the collection's
example rulebook (extensions/eda/rulebooks/configure_online_devices.yml) against the sandbox, and configures a
real sshd device through the connection plugin when the sandbox brings the device online. A rulebook of the test's
own hands a device whose names are templates to a playbook that uses them, which must run none of them.

ansible-rulebook has a virtualenv of its own (`make venv-eda`; REMOTEIT_TEST_RULEBOOK names its executable); the
playbooks it runs are this core's ansible-playbook, first on PATH. Host key checking stays on: known_hosts holds
the device's host key under the alias the connection plugin checks it under. The teardown closes what the run
opened, by the ids the connections file records (never all_sessions), and asserts that no proxy is left live.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime

import pytest
from conftest import BIN_DIR, REPO_ROOT
from remoteit_sandbox import Sandbox
from utils.connections import read_records

pytestmark = pytest.mark.every_core

RULEBOOK = "community.remoteit.configure_online_devices"
RULEBOOK_EXECUTABLE = os.environ.get("REMOTEIT_TEST_RULEBOOK") or str(REPO_ROOT / ".venv-eda" / "bin" / "ansible-rulebook")
CLOSE_RECORDED = REPO_ROOT / "tests" / "e2e" / "playbooks" / "connection_plugin_close_recorded.yml"
INTERVAL = 2  # seconds between the source's polls
# What a poll, ansible-rulebook's start (a JVM) or a playbook run may take at most on a busy CI machine.
STARTUP_DEADLINE = 120
RUN_DEADLINE = 120
EDGE_01 = {"device": "80:00:00:00:0E:00:00:01", "ssh": "80:00:00:00:0E:00:01:01"}  # offline at start
EDGE_02 = {"device": "80:00:00:00:0E:00:00:02", "ssh": "80:00:00:00:0E:00:02:01"}  # online from the start


def world(sshd_port):
    """Two devices whose ssh services reach the test's sshd: edge-01 offline at start, edge-02 online."""
    devices = [{"id": ids["device"], "name": name, "state": state,
                "services": [{"id": ids["ssh"], "name": "ssh", "application": 28, "target": "127.0.0.1:%d" % sshd_port}]}
               for name, ids, state in (("edge-01", EDGE_01, "inactive"), ("edge-02", EDGE_02, "active"))]
    return {"users": [{"id": "5e1f0a2b-0000-4000-8000-000000000001", "email": "demo@example.com", "devices": devices}],
            "access_keys": [{"id": "SBXDEMOACCESSKEY0001", "secret": "c2FuZGJveC1kZW1vLXNlY3JldC1kby1ub3QtdXNlIQ==",
                             "user": "5e1f0a2b-0000-4000-8000-000000000001"}]}


def host_key_alias(service_id):
    """The name the connection plugin checks a service's host key under (its documentation: HostKeyAlias)."""
    return "remoteit-" + service_id.replace(":", "-").lower()


class RulebookRun:
    """One ansible-rulebook process, its output in a file, and the sandbox it watches."""

    def __init__(self, sandbox, tmp_path, env):
        self.sandbox = sandbox
        self.log = tmp_path / "rulebook.log"
        self.configured_log = tmp_path / "configured.log"  # written on the device (the same machine here)
        self.connections_file = tmp_path / "connections.json"
        self.tmp_path = tmp_path
        self.env = env
        self.process = None

    def start(self, inventory, variables, rulebook=RULEBOOK):
        (self.tmp_path / "vars.yml").write_text(json.dumps(variables))
        (self.tmp_path / "fleet.remoteit.yml").write_text(json.dumps(inventory))
        with open(self.log, "w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [RULEBOOK_EXECUTABLE, "--rulebook", rulebook, "--inventory", "fleet.remoteit.yml", "--vars", "vars.yml",
                 "--verbose"], env=self.env, cwd=self.tmp_path, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        return self.log.read_text(errors="replace")

    def wait_for(self, what, predicate, deadline):
        """Wait until predicate() holds; fail, showing the rulebook's output, if it does not by `deadline` seconds
        from now or the rulebook exits."""
        limit = time.monotonic() + deadline
        while not predicate():
            if self.process.poll() is not None or time.monotonic() > limit:
                pytest.fail("%s: not within %d s (ansible-rulebook rc=%s); its output:\n%s"
                            % (what, deadline, self.process.poll(), self.output()), pytrace=False)
            time.sleep(0.1)

    def polls(self):
        """How many polls of the source the sandbox has answered."""
        return sum(1 for entry in self.sandbox.requests() if entry["fields"] == ["login"] and entry["status"] == 200)

    def wait_for_polls(self, count):
        target = self.polls() + count
        self.wait_for("%d more polls" % count, lambda: self.polls() >= target, STARTUP_DEADLINE)

    def configured(self):
        """The lines the example playbook wrote on the device: received_at, type, device id, event uuid."""
        return self.configured_log.read_text().splitlines() if self.configured_log.exists() else []

    def connects(self):
        return [entry["variables"]["serviceId"] for entry in self.sandbox.requests() if entry["fields"] == ["connect"]]

    def recorded_ids(self):
        records = read_records(self.connections_file) if self.connections_file.exists() else []
        return sorted(record["id"] for record in records if record.get("id") and not record.get("intent"))

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)


@pytest.fixture
def rulebook(device, ansible_env, run_playbook, tmp_path):
    """ansible-rulebook's run against a sandbox of its own. The teardown stops it, closes the connections the
    connections file records with community.remoteit.remoteit_connection state=absent, and asserts that no proxy
    is left live."""
    if not os.access(RULEBOOK_EXECUTABLE, os.X_OK):
        pytest.fail("%s is not there: `make venv-eda` creates it (or set REMOTEIT_TEST_RULEBOOK)" % RULEBOOK_EXECUTABLE,
                    pytrace=False)
    control_dir = tempfile.mkdtemp(prefix="rit-eda-")  # ssh's control sockets, on a path short enough for a socket
    with Sandbox(world(device.port), lifetime=900, idle_timeout=300) as sandbox:
        env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, ANSIBLE_HOST_KEY_CHECKING="True",
                   ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
                   PATH=os.pathsep.join([str(BIN_DIR), ansible_env["PATH"]]))
        run = RulebookRun(sandbox, tmp_path, env)
        try:
            yield run
        finally:
            run.stop()
            recorded = run.recorded_ids()
            if recorded:
                run_playbook(CLOSE_RECORDED, extra_vars={"connection_ids": recorded}, env=env)
            leaked = sandbox.proxies()
            shutil.rmtree(control_dir, ignore_errors=True)
        assert leaked == [], "proxies left open after closing what the connections file records"


def inventory(device, known_hosts, configured_log):
    """The example's inventory: every device a host the connection plugin reaches over its ssh service, logging in
    as the test's sshd expects, with strict host key checking against `known_hosts`."""
    return {
        "plugin": "community.remoteit.remoteit",
        "connect_service": "ssh",
        "compose": {
            "ansible_user": repr(device.user),
            "ansible_ssh_private_key_file": repr(str(device.private_key)),
            "ansible_python_interpreter": repr(device.python_interpreter),
            "ansible_ssh_common_args": repr("-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null "
                                            "-o StrictHostKeyChecking=yes" % known_hosts),
            "remoteit_configured_log": repr(str(configured_log)),
        },
    }


def test_the_example_rulebook_configures_a_device_once_as_it_comes_online_and_notes_it_going_offline(
        rulebook, device, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join("%s %s\n" % (host_key_alias(ids["ssh"]), device.host_public_key)
                                   for ids in (EDGE_01, EDGE_02)))
    rulebook.start(inventory(device, known_hosts, rulebook.configured_log), {"remoteit_poll_interval": INTERVAL})
    rulebook.wait_for_polls(2)  # the baseline, and a poll that found nothing to tell
    assert rulebook.configured() == [] and rulebook.connects() == [], "a device online from the start got an event"

    changed_at = datetime.now().astimezone()
    rulebook.sandbox.set_device_state("edge-01", "active")
    started = time.monotonic()
    rulebook.wait_for("edge-01 configured", rulebook.configured, RUN_DEADLINE)
    took = time.monotonic() - started
    received_at, kind, device_id, _uuid = rulebook.configured()[0].split()
    detected = (datetime.fromisoformat(received_at.replace("Z", "+00:00")) - changed_at).total_seconds()
    print("edge-01 came online; the rulebook received the event after %.1f s and the device was configured "
          "%.1f s after the change" % (detected, took))
    assert (kind, device_id) == ("online", EDGE_01["device"])
    assert detected <= 3 * INTERVAL, "the online event took %.1f s, more than 3 poll intervals" % detected

    rulebook.wait_for_polls(3)  # nothing changes meanwhile: nothing more may happen
    assert len(rulebook.configured()) == 1, rulebook.output()
    assert rulebook.connects() == [EDGE_01["ssh"]], "the device was configured through one proxy, opened once"
    assert len(re.findall(r"^edge-01\s+: ok=2\s+changed=2 ", rulebook.output(), re.MULTILINE)) == 1, rulebook.output()
    assert rulebook.sandbox.proxies() == [] and rulebook.recorded_ids() == [], "the playbook closes what it opened"
    assert "edge-02" not in rulebook.output(), "the device online from the start got an event"

    rulebook.sandbox.set_device_state("edge-01", "inactive")
    rulebook.wait_for("the offline event", lambda: "remote.it device edge-01 (edge-01) went offline"
                      in rulebook.output(), RUN_DEADLINE)
    rulebook.wait_for_polls(2)
    assert rulebook.output().count("went offline") == 1
    assert len(rulebook.configured()) == 1 and rulebook.connects() == [EDGE_01["ssh"]]


WORD_JOINER = "\u2060"  # what the event source puts after a "{" that would start a template
HOSTILE = {"device": "80:00:00:00:0E:00:00:66", "ssh": "80:00:00:00:0E:00:66:01"}
# A rulebook that matches on the device's name, and a playbook that uses its names as playbooks do.
HOSTILE_RULEBOOK = """
- name: Devices with hostile names
  hosts: all
  sources:
    - community.remoteit.device_events:
        interval: {interval}
  rules:
    - name: A device whose name would run a command came online
      condition: event.remoteit.type == "online" and event.remoteit.device.name is search("lookup", ignorecase=true)
      action:
        run_playbook:
          name: project/names.yml
"""
NAMES_PLAYBOOK = """
- name: Use the names of the device that came online
  hosts: all
  gather_facts: false
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    device: "{{{{ ansible_eda.event.remoteit.device }}}}"
  tasks:
    - name: Show the name as a variable
      ansible.builtin.debug:
        var: ansible_eda.event.remoteit.device.name
    - name: Show the names in a message
      ansible.builtin.debug:
        msg: "{{{{ ansible_eda.event.remoteit.device.name }}}} | {{{{ device.services[0].name }}}}"
    - name: Hand the names to a module
      ansible.builtin.copy:
        content: |
          {{{{ device.name }}}}
          {{{{ device.services[0].name }}}}
        dest: {names_file}
"""


def test_names_that_are_templates_reach_a_playbook_as_text_and_run_nothing(rulebook, device, tmp_path):
    marker = tmp_path / "marker"
    name = "{{ lookup('pipe', 'touch %s') }}" % marker
    service = "{%% set x = lookup('pipe', 'touch %s') %%}{# hidden #}{{ x }}" % marker
    rulebook.sandbox.add_device({"id": HOSTILE["device"], "name": name, "state": "inactive", "services": [
        {"id": HOSTILE["ssh"], "name": service, "application": 28, "target": "127.0.0.1:%d" % device.port}]})
    names_file = tmp_path / "names.txt"
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "names.yml").write_text(NAMES_PLAYBOOK.format(names_file=json.dumps(str(names_file))))
    (tmp_path / "hostile.yml").write_text(HOSTILE_RULEBOOK.format(interval=INTERVAL))
    rulebook.start(inventory(device, tmp_path / "known_hosts", rulebook.configured_log), {}, rulebook="hostile.yml")
    rulebook.wait_for_polls(1)
    rulebook.sandbox.set_device_state(HOSTILE["device"], "active")
    rulebook.wait_for("the playbook's recap", lambda: "PLAY RECAP" in rulebook.output(), RUN_DEADLINE)

    output = rulebook.output()
    assert not marker.exists(), "a device's name ran a command:\n" + output
    assert re.search(r": ok=3\s+changed=1\s+unreachable=0\s+failed=0 ", output), output
    shown = output.replace(WORD_JOINER, "")  # what a terminal shows
    assert '"ansible_eda.event.remoteit.device.name": %s' % json.dumps(name) in shown, output
    assert '"msg": %s' % json.dumps("%s | %s" % (name, service)) in shown, output
    assert names_file.read_text().replace(WORD_JOINER, "") == "%s\n%s\n" % (name, service)
