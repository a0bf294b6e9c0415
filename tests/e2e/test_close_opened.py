"""The callback community.remoteit.close_opened end to end: real ansible-playbook runs against the sandbox and a real
sshd, the callback enabled as a user enables it. A run opens proxies through the connection plugin and the module,
reuses one an earlier run opened and one another job handed over, then fails, or is stopped with SIGINT while a
task runs. What the run opened is closed and forgotten; what it reused stays open and recorded. Check mode, which
opens nothing but what the plugin needs to run a task, is left to the unit tests.
"""

import json
import signal
import subprocess
import time

import pytest
from conftest import ansible_bin
from utils.connections import read_records

pytestmark = pytest.mark.every_core

CALLBACK = "community.remoteit.close_opened"
HANDED_SERVICE_ID = "80:00:00:00:01:00:04:01"  # kiosk-lobby's ssh

# Opens, without the callback, one proxy as an earlier run of this controller and one as another job would (a
# connections file of its own), and writes that one out as extra vars to hand over.
EARLIER = """
- name: An earlier run, and another job
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Open a proxy in an earlier run
      community.remoteit.remoteit_connection:
        device: pi-garage
        service: ssh
    - name: Open a proxy in another job
      community.remoteit.remoteit_connection:
        service_id: "%s"
        connections_file: "{{ other_job_file }}"
      register: other_job
    - name: Hand it over
      ansible.builtin.copy:
        content: "{{ {'remoteit_connections': [other_job.connection]} | to_json }}"
        dest: "{{ handed_file }}"
        mode: "0600"
""" % HANDED_SERVICE_ID

# The run under test: stop=fail fails after reusing, stop=wait waits for the test's SIGINT.
RUN = """
- name: Reach the device through the connection plugin
  hosts: pi-kitchen
  gather_facts: false
  tasks:
    - name: Ping through a proxy the plugin opens
      ansible.builtin.ping:

- name: Open one proxy, reuse two, then stop
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Open a proxy with the module
      community.remoteit.remoteit_connection:
        device: pi-kitchen
        service: web
    - name: Reuse the earlier run's proxy
      community.remoteit.remoteit_connection:
        device: pi-garage
        service: ssh
      register: earlier
    - name: Reuse the handed-over proxy
      community.remoteit.remoteit_connection:
        service_id: "%s"
      register: handed
    - name: Both were reused
      ansible.builtin.assert:
        that: earlier.connection.reused and handed.connection.reused
    - name: Fail
      ansible.builtin.fail:
        msg: failed on purpose
      when: stop == 'fail'
    - name: Say the next task runs
      ansible.builtin.file:
        path: "{{ marker }}"
        state: touch
        mode: "0600"
    - name: Wait for SIGINT
      ansible.builtin.wait_for:
        path: "{{ release }}"
        timeout: 600
""" % HANDED_SERVICE_ID


@pytest.fixture
def runs(clean_sandbox, device, run_playbook, ansible_env, tmp_path):
    """Inventory, playbooks and environment of one test; its teardown closes what is left and proves no proxy stays."""
    assert clean_sandbox.proxies() == [], "an earlier test left proxies open"
    (tmp_path / "earlier.yml").write_text(EARLIER)
    (tmp_path / "run.yml").write_text(RUN)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"devices": {"hosts": {"pi-kitchen": dict(
        device.ansible_ssh_args(), ansible_connection="community.remoteit.ssh")}}}))
    env = dict(ansible_env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp"))
    try:
        yield {"run_playbook": run_playbook, "inventory": str(inventory), "env": env, "tmp_path": tmp_path}
    finally:
        left = clean_sandbox.proxies()
        for proxy in left:
            clean_sandbox.registry.close(proxy["id"])
        assert clean_sandbox.proxies() == []


def recorded_ids(path):
    records = read_records(path) if path.exists() else []
    return sorted(record["id"] for record in records)


def live_ids(sandbox):
    return sorted(proxy["id"] for proxy in sandbox.proxies())


def test_a_failed_and_an_interrupted_run_close_what_they_opened_and_nothing_else(runs, clean_sandbox):
    tmp_path, env = runs["tmp_path"], dict(runs["env"], ANSIBLE_CALLBACKS_ENABLED=CALLBACK)
    connections = tmp_path / "connections.json"
    handed_file = tmp_path / "handed.json"
    runs["run_playbook"](tmp_path / "earlier.yml", extra_vars={
        "other_job_file": str(tmp_path / "other-job.json"), "handed_file": str(handed_file)},
        env=runs["env"])
    earlier = recorded_ids(connections)
    kept = sorted(earlier + recorded_ids(tmp_path / "other-job.json"))
    assert len(earlier) == 1 and len(kept) == 2 and live_ids(clean_sandbox) == kept
    args = ["-v", "-i", runs["inventory"], "-e", "@%s" % handed_file]
    marker, release = tmp_path / "marker", tmp_path / "release"

    # A failed run: the plugin's proxy and the module's are opened, then closed.
    clean_sandbox.clear_requests()
    failed = runs["run_playbook"](tmp_path / "run.yml", *args, check=False, env=env, extra_vars={
        "stop": "fail", "marker": str(marker), "release": str(release)})
    output = failed.stdout + failed.stderr
    assert failed.returncode == 2 and "failed on purpose" in output, output
    # The plugin's and the module's; on a loaded machine the plugin may replace a proxy that was slow to answer.
    assert len([entry for entry in clean_sandbox.requests() if "connect" in entry["fields"]]) >= 2, output
    assert "%s: closed the proxies this run opened: " % CALLBACK in output
    assert "[WARNING]: %s" % CALLBACK not in output and "Traceback" not in output, output
    assert live_ids(clean_sandbox) == kept and recorded_ids(connections) == kept

    # An interrupted run: SIGINT to ansible-playbook while a task runs, as Ctrl-C sends it.
    log = tmp_path / "interrupted.log"
    # As from a terminal: a shell that runs the tests in the background (`nohup make test &`, some CI runners) hands
    # them SIGINT ignored, which ansible-playbook would inherit. A handled signal is reset to its default by exec.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # waited for below
            [ansible_bin("ansible-playbook"), str(tmp_path / "run.yml"), *args, "-e", json.dumps(
                {"stop": "wait", "marker": str(marker), "release": str(release)})],
            env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    signal.signal(signal.SIGINT, ignored)
    try:
        deadline = time.monotonic() + 300  # a guard only: a loaded machine may take minutes
        while not marker.exists() or "TASK [Wait for SIGINT]" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, "never reached the task:\n" + log.read_text()
            time.sleep(0.1)
        assert len(live_ids(clean_sandbox)) == 4
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    finally:
        release.touch()  # ends a wait_for module that outlived its worker
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert process.returncode == 99 and "User interrupted execution" in output, "not interrupted:\n" + output
    assert "%s: closed the proxies this run opened: " % CALLBACK in output
    assert "Traceback" not in output, output
    assert live_ids(clean_sandbox) == kept and recorded_ids(connections) == kept
