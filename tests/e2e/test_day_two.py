"""Day two through the connection plugin community.remoteit.ssh, end to end: a device that reboots (offline in the
sandbox, its sshd stopped and started again, a new boot id) while remote.it keeps its proxy or closes it, a device
that never comes back, `meta: reset_connection`, a port that serves another device's proxy, and a web service.

The sandbox and sshds are this module's own, as a test stops and starts an sshd. Host key checking stays on, and
every test's teardown closes what the connections file records and proves no proxy is left live.
"""

import contextlib
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import ansible_bin
from remoteit_sandbox import Sandbox
from test_connection_plugin import PLAYBOOKS, PluginRuns, Run, connect_requests, wait_for_path
from utils.connections import read_records, write_records
from utils.device import SshDevice

SERVICES = {"reboot-01": "80:00:00:00:0A:00:01:01", "one": "80:00:00:00:0A:00:02:01", "two": "80:00:00:00:0A:00:03:01",
            "web-01": "80:00:00:00:0A:00:04:01"}
SSHDS = ("reboot-01", "one", "two")
OFFLINE = "device 'reboot-01' is offline (state 'inactive'): remote.it can only connect to active devices"
NOT_FOR_SSH = ("service %s is an HTTP(S) service, which remote.it serves through a reverse proxy (a URL), not a port "
               "SSH can connect to; nothing was opened" % SERVICES["web-01"])


def world():
    """reboot-01, one and two reach an sshd each; web-01 has an HTTP service only."""
    def ssh_device(number, name):
        return {"id": "80:00:00:00:0A:00:00:%02d" % number, "name": name, "services": [
            {"id": SERVICES[name], "name": "ssh", "application": 28,
             "target": "127.0.0.1:${DEVICE_SSH_PORT_%s}" % name.upper().replace("-", "_")}]}

    devices = [ssh_device(number, name) for number, name in enumerate(SSHDS, start=1)]
    devices.append({"id": "80:00:00:00:0A:00:00:04", "name": "web-01",
                    "services": [{"id": SERVICES["web-01"], "name": "web", "application": 7, "port": 80}]})
    user = "5e1f0a2b-0000-4000-8000-000000000001"
    return {"users": [{"id": user, "email": "demo@example.com", "devices": devices}],
            "access_keys": [{"id": "SBXDEMOACCESSKEY0001", "secret": "c2FuZGJveC1kZW1vLXNlY3JldC1kby1ub3QtdXNlIQ==",
                             "user": user}]}


@pytest.fixture(scope="module")
def sshds():
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(SshDevice()) for name in SSHDS}


@pytest.fixture(scope="module")
def day_two_sandbox(sshds):
    env = {"DEVICE_SSH_PORT_%s" % name.upper().replace("-", "_"): str(device.port) for name, device in sshds.items()}
    with Sandbox(world=world(), lifetime=900, idle_timeout=300, env=env) as sandbox:
        yield sandbox


@pytest.fixture
def runs(day_two_sandbox, sshds, run_playbook, ansible_env, tmp_path):
    """As test_connection_plugin's `plugin`: no live proxy at the start, none left at the end."""
    sandbox = day_two_sandbox
    assert sandbox.proxies() == [], "an earlier test left proxies open"
    control_dir = tempfile.mkdtemp(prefix="rit-d2-")
    key_id, secret = sandbox.credentials
    env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret,
               ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
               ANSIBLE_CALLBACK_FORMAT_PRETTY="false")
    found = PluginRuns(sandbox, sshds, run_playbook, env, tmp_path)
    found.control_dir = control_dir
    yield found
    try:
        for name in SSHDS:
            sandbox.set_device_state(name, "active")
        sandbox.settings = dataclasses.replace(sandbox.settings, offline_proxies="stay")
        recorded = found.recorded_ids()
        if recorded:
            found.playbook(PLAYBOOKS / "connection_plugin_close_recorded.yml", extra_vars={"connection_ids": recorded})
        leaked = sandbox.proxies()
        for proxy in leaked:
            sandbox.registry.close(proxy["id"])
        assert leaked == [], "proxies left open after closing what the connections file records"
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)


def wait_for_text(log, text, process, timeout=120):
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the playbook never printed %r (rc=%s):\n%s" % (text, process.poll(), log.read_text()),
                        pytrace=False)
        time.sleep(0.2)


def playbook(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


REBOOT = """---
- name: Reboot the device through its proxy
  hosts: all
  gather_facts: false
  tasks:
    - name: Reboot
      ansible.builtin.reboot:
        reboot_command: /bin/sh -c 'echo rebooting > {handshake}/rebooting'
        boot_time_command: cat {boot_dir}/boot_id
        reboot_timeout: 60
    - name: Read the boot id it came back with
      ansible.builtin.command: cat {boot_dir}/boot_id
      register: after
      changed_when: false
    - name: Write it down
      ansible.builtin.copy:
        content: "{{{{ after.stdout }}}}"
        dest: "{boot_dir}/seen"
        mode: "0644"
"""


@pytest.mark.every_core
@pytest.mark.parametrize("offline_proxies", ["stay", "close"])
def test_a_reboot_comes_back_whether_remote_it_keeps_the_proxy_or_closes_it(runs, tmp_path, offline_proxies):
    runs.sandbox.settings = dataclasses.replace(runs.sandbox.settings, offline_proxies=offline_proxies)
    handshake, boot_dir = tmp_path / "handshake", tmp_path / "boot"
    handshake.mkdir()
    boot_dir.mkdir()
    (boot_dir / "boot_id").write_text("boot-1\n")
    book = playbook(tmp_path, "reboot.yml", REBOOT.format(handshake=handshake, boot_dir=boot_dir))
    log = tmp_path / "reboot.log"
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(runs.inventory({"reboot-01": "reboot-01"})))
    runs.sandbox.clear_requests()
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([ansible_bin("ansible-playbook"), str(book), "-i", str(inventory), "-vvv"],
                                   env=runs.env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_path(handshake / "rebooting", process, log, timeout=60)
        (proxy,) = runs.live()
        runs.sandbox.set_device_state("reboot-01", "inactive")
        # Down until a try of the reboot module has been told that the device is offline: its tries back off, so
        # a fixed downtime can fall between two of them on a loaded machine.
        runs.sshds["reboot-01"].restart(while_down=lambda: wait_for_text(log, OFFLINE, process))
        (boot_dir / "boot_id").write_text("boot-2\n")
        runs.sandbox.set_device_state("reboot-01", "active")
        process.wait(timeout=240)  # a loaded machine; the run itself takes about 25 s
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)
    run = Run(process.returncode, log.read_text(), "", connect_requests(runs.sandbox))
    assert run.rc == 0, str(run)
    assert (boot_dir / "seen").read_text() == "boot-2"
    assert OFFLINE in run.output, "no try during the reboot was told that the device is offline:\n%s" % run
    if offline_proxies == "stay":
        assert len(run.connects) == 1 and [item["id"] for item in runs.live()] == [proxy["id"]], str(run)
        assert "is gone; replacing it" not in run.output
    else:
        assert len(run.connects) == 2, "expected one replacement of the closed proxy:\n%s" % run
        assert "community.remoteit.ssh: proxy %s (127.0.0.1:%s) is gone; replacing it" % (proxy["id"], proxy["port"]) \
            in run.output
        assert runs.live_ids() == runs.recorded_ids() and proxy["id"] not in runs.live_ids()
    assert "community.remoteit.ssh: opened proxy %s (127.0.0.1:%s)" % (proxy["id"], proxy["port"]) in run.output
    assert runs.sandbox.credentials[1] not in run.output


@pytest.mark.every_core
@pytest.mark.parametrize("offline_proxies", ["stay", "close"])
def test_a_device_that_never_comes_back_is_unreachable_with_the_offline_message(runs, offline_proxies):
    runs.sandbox.settings = dataclasses.replace(runs.sandbox.settings, offline_proxies=offline_proxies)
    inventory = runs.inventory({"reboot-01": "reboot-01", "one": "one"})
    first = runs.playbook(PLAYBOOKS / "connection_plugin_ping.yml", inventory=inventory, extra_vars={"gather": False})
    assert first.rc == 0, str(first)
    runs.sandbox.set_device_state("reboot-01", "inactive")

    second = runs.playbook(PLAYBOOKS / "connection_plugin_ping.yml", inventory=inventory, extra_vars={"gather": False})
    assert second.succeeded() == ["one"], str(second)
    assert sorted(second.unreachable) == ["reboot-01"], str(second)
    # Some cores put "Task failed: " before the message.
    assert second.unreachable["reboot-01"].endswith("community.remoteit.ssh: " + OFFLINE), str(second)
    assert second.connects == [], "a proxy was opened for an offline device:\n%s" % second


RESET = """---
- name: Reset the master connection of the host's proxy
  hosts: all
  gather_facts: false
  tasks:
    - name: Use the device, which leaves a master behind (ControlPersist)
      ansible.builtin.ping:
    - name: List the control sockets
      ansible.builtin.find:
        paths: {control_dir}
        file_type: any
      delegate_to: localhost
      register: before
    - name: Reset
      ansible.builtin.meta: reset_connection
    - name: List the control sockets again
      ansible.builtin.find:
        paths: {control_dir}
        file_type: any
      delegate_to: localhost
      register: after
    - name: Say what was there
      ansible.builtin.debug:
        msg: "sockets before {{{{ before.matched }}}} after {{{{ after.matched }}}}"
    - name: Use the device again
      ansible.builtin.ping:
"""


@pytest.mark.every_core
def test_meta_reset_connection_stops_the_master_of_the_hosts_proxy(runs, tmp_path):
    book = playbook(tmp_path, "reset.yml", RESET.format(control_dir=runs.control_dir))
    inventory = runs.inventory({"one": "one"})
    inventory["local"] = {"hosts": {"localhost": {"ansible_connection": "local",
                                                  "ansible_python_interpreter": sys.executable}}}
    run = runs.playbook(book, "--limit", "one", "-vvv", inventory=inventory)
    assert run.rc == 0, str(run)
    assert "sockets before 1 after 0" in run.output, str(run)
    assert "No connection to reset" not in run.output, str(run)
    assert len(run.connects) == 1


def test_another_devices_proxy_on_a_known_address_never_joins_its_master(runs):
    """The sandbox cannot give a new proxy a port an old one had: two's record is pointed at one's live proxy instead,
    as a recycled port would be, while one's master lives. SSH connects anew and checks the host key under two's
    alias, which one's sshd does not have: refused, not run on one."""
    inventory = runs.inventory({"one": "one", "two": "two"})
    inventory["devices"]["hosts"]["two"]["ansible_ssh_args"] = "-o ControlMaster=no"  # one's master alone lives on
    first = runs.playbook(PLAYBOOKS / "connection_plugin_ping.yml", inventory=inventory, extra_vars={"gather": False})
    assert first.rc == 0, str(first)
    path = runs.tmp_path / "connections.json"
    stored = read_records(path)
    ones = next(record for record in stored if record.get("service_id") == SERVICES["one"])
    for record in stored:
        if record.get("service_id") == SERVICES["two"]:
            record.update(host=ones["host"], port=ones["port"])
    write_records(path, stored)

    strict = runs.inventory({"one": "one", "two": "two"}, policy="yes")
    second = runs.playbook(PLAYBOOKS / "connection_plugin_ping.yml", inventory=strict, extra_vars={"gather": False})
    assert second.succeeded() == ["one"], str(second)
    assert "Host key verification failed" in second.unreachable.get("two", ""), str(second)
    assert second.connects == [], str(second)


def test_a_web_service_is_refused_before_anything_is_opened(runs):
    inventory = {"web": {"hosts": {"web-01": runs.host_vars("one", remoteit_service="web")}}}
    run = runs.playbook(PLAYBOOKS / "connection_plugin_ping.yml", inventory=inventory, extra_vars={"gather": False})
    assert sorted(run.unreachable) == ["web-01"], str(run)
    assert run.unreachable["web-01"].endswith("community.remoteit.ssh: " + NOT_FOR_SSH), str(run)
    assert run.connects == [] and runs.live() == [] and runs.recorded_ids() == []
