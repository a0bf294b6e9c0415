"""The connection plugin community.remoteit.ssh end to end: real ansible-playbook, the sandbox speaking the
remote.it API with real TCP proxies, and real sshd devices, each with its own host key and client key
(tests/sandbox/worlds/connection_plugin.yml says which service reaches which sshd).

Hosts have no address: only the plugin can reach them. Host key checking stays on in every test: each test
has a known_hosts file of its own, `StrictHostKeyChecking=accept-new` on first contact and `yes` after.
Every test's teardown closes what the connections file records (by id, never all_sessions) and asserts
that no proxy is left live.
"""

import collections
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from conftest import REPO_ROOT, TESTS_DIR, ansible_bin, run_command
from remoteit_sandbox import Sandbox
from utils.connections import read_records
from utils.device import SshDevice

WORLD = TESTS_DIR / "sandbox" / "worlds" / "connection_plugin.yml"
PLAYBOOKS = REPO_ROOT / "tests" / "e2e" / "playbooks"
PING = PLAYBOOKS / "connection_plugin_ping.yml"
CLOSE = PLAYBOOKS / "connection_plugin_close.yml"
# Long enough that nothing expires on its own during a test: tests close proxies themselves.
SANDBOX_LIFETIME = 900
SANDBOX_IDLE_TIMEOUT = 300
PLUGIN = "community.remoteit.ssh"

# The sshd devices of the world file (DEVICE_SSH_PORT_<name>); REKEY is delta's alone.
SSHD_NAMES = ("1", "2", "3", "4", "5", "REKEY")
# Host name -> the sshd behind its ssh service (ghost is no device at all; it gets sshd 1's login key).
NAMED = {"alpha": "1", "bravo": "2", "charlie": "3", "delta": "REKEY", "offline-01": "1", "twin": "1", "ghost": "1"}
SSH_SERVICE_IDS = {"alpha": "80:00:00:00:05:00:01:01", "bravo": "80:00:00:00:05:00:02:01",
                   "charlie": "80:00:00:00:05:00:03:01", "delta": "80:00:00:00:05:00:04:01"}
FLEET_SIZE = 100
FLEET = {"fleet-%03d" % index: str((index - 1) % 5 + 1) for index in range(1, FLEET_SIZE + 1)}
FLEET_SERVICE_IDS = {"80:00:00:00:07:00:%02d:%02d" % (index // 100, index % 100) for index in range(1, FLEET_SIZE + 1)}


def host_key_alias(service_id):
    """The alias SSH checks a service's host key under (the plugin's documentation: `remoteit-` and the
    service id with `-` for `:`), the same whatever port the service's proxy has."""
    return "remoteit-" + service_id.replace(":", "-").lower()


# -- runs ------------------------------------------------------------------------------------------------

class Run:
    """One ansible-playbook run: return code, output, PLAY RECAP per host, UNREACHABLE messages, and the
    connect requests the sandbox received while it ran."""

    RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
    UNREACHABLE = re.compile(r"^fatal: \[([^\]]+)\]: UNREACHABLE! => ", re.MULTILINE)

    def __init__(self, rc, stdout, stderr, connects):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.output = stdout + stderr
        self.connects = connects

    @property
    def recap(self):
        """host -> {"ok", "changed", "unreachable", "failed"} from the PLAY RECAP."""
        return {match.group(1): dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()[1:])))
                for match in self.RECAP.finditer(self.stdout)}

    def succeeded(self):
        """The hosts that were neither unreachable nor failed."""
        return sorted(host for host, counts in self.recap.items() if not counts["unreachable"] and not counts["failed"])

    @property
    def unreachable(self):
        """host -> the msg of its UNREACHABLE result (the callback prints each result on one line)."""
        found = {}
        for match in self.UNREACHABLE.finditer(self.stdout):
            result, _end = json.JSONDecoder().raw_decode(self.stdout, match.end())
            found.setdefault(match.group(1), result.get("msg", ""))
        return found

    def connected_services(self):
        """serviceId of each connect request, counted."""
        return collections.Counter((entry.get("variables") or {}).get("serviceId") for entry in self.connects)

    def __str__(self):
        """For assertion messages: the errors first, since pytest cuts long messages short without -vv."""
        errors = [line[:300] for line in self.stdout.splitlines() if line.startswith("fatal:")]
        return "rc=%s\n%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.rc, "\n".join(errors), self.stdout, self.stderr)


def plain(value):
    """A value as ansible-inventory prints it, without the marker some cores put on unsafe strings."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def connect_requests(sandbox):
    return [entry for entry in sandbox.requests() if "connect" in entry["fields"]]


def wait_for_path(path, process, log, timeout=180):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the playbook never reached %s (rc=%s):\n%s" % (path.name, process.poll(), log.read_text()),
                        pytrace=False)
        time.sleep(0.1)


class PluginRuns:
    """The plugin's sandbox and sshd devices seen by one test, and the ansible runs the test makes."""

    def __init__(self, sandbox, sshds, run_playbook, env, tmp_path):
        self.sandbox = sandbox
        self.sshds = sshds
        self.env = env
        self.tmp_path = tmp_path
        self.known_hosts = tmp_path / "known_hosts"
        self._run_playbook = run_playbook

    def host_vars(self, sshd, policy="accept-new", **extra):
        """Vars of a host that sshd `sshd` serves: its login key, and host key checking against this test's
        known_hosts file under `policy` (accept-new or yes). No address: the plugin finds the proxy."""
        device = self.sshds[sshd]
        values = {
            "ansible_connection": PLUGIN,
            "ansible_user": device.user,
            "ansible_ssh_private_key_file": device.private_key,
            "ansible_python_interpreter": device.python_interpreter,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null "
                                       "-o StrictHostKeyChecking=%s" % (self.known_hosts, policy),
        }
        values.update(extra)
        return values

    def inventory(self, hosts, policy="accept-new", group="devices", **groups):
        """{group: {hosts: {name: vars}}} for hosts given as name -> sshd name; more groups as keywords."""
        inventory = {group: {"hosts": {name: self.host_vars(sshd, policy) for name, sshd in hosts.items()}}}
        for name, members in groups.items():
            inventory[name] = {"hosts": {host: self.host_vars(sshd, policy) for host, sshd in members.items()}}
        return inventory

    def playbook(self, playbook, *args, inventory=None, extra_vars=None):
        """Run a playbook (never failing the test by itself); the request log starts empty for it."""
        self.sandbox.clear_requests()
        completed = self._run_playbook(playbook, *args, inventory=inventory, extra_vars=extra_vars, env=self.env,
                                       check=False)
        return Run(completed.returncode, completed.stdout, completed.stderr, connect_requests(self.sandbox))

    def start_playbook(self, playbook, inventory, extra_vars, log):
        """Start a playbook in the background, its output going to `log`."""
        self.sandbox.clear_requests()
        path = self.tmp_path / "inventory.json"
        path.write_text(json.dumps(inventory))
        cmd = [ansible_bin("ansible-playbook"), str(playbook), "-i", str(path), "-e", json.dumps(extra_vars)]
        with open(log, "w", encoding="utf-8") as out:
            return subprocess.Popen(cmd, env=self.env, cwd=self.tmp_path, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)

    def live(self):
        return self.sandbox.proxies()

    def live_ids(self):
        return sorted(proxy["id"] for proxy in self.live())

    def live_services(self):
        return collections.Counter(proxy["service_id"] for proxy in self.live())

    def recorded_ids(self):
        """Ids of the connections the connections file records (not the notes of connects in flight)."""
        path = self.tmp_path / "connections.json"
        records = read_records(path) if path.exists() else []
        return sorted(record["id"] for record in records if record.get("id") and not record.get("intent"))

    def close_elsewhere(self):
        """Close every live proxy inside remote.it (as expiry or another client would): the records stay."""
        closed = self.live_ids()
        for connection_id in closed:
            self.sandbox.registry.close(connection_id)
        assert self.live_ids() == []
        return closed

    def known_host_keys(self, alias=None):
        """The keys (type base64) known_hosts holds, all of them or those under one host name or alias;
        entries may be hashed (Debian's ssh_config hashes them), so ssh-keygen -F finds them."""
        if not self.known_hosts.exists():
            return []
        if alias is None:
            lines = self.known_hosts.read_text().splitlines()
        else:
            found = subprocess.run(["ssh-keygen", "-F", alias, "-f", str(self.known_hosts)], capture_output=True,
                                   text=True, check=False, stdin=subprocess.DEVNULL)
            lines = found.stdout.splitlines()
        return [" ".join(line.split()[1:3]) for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def sshds():
    """The world's sshd devices, each with its own host key and client key."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(SshDevice()) for name in SSHD_NAMES}


@pytest.fixture(scope="module")
def plugin_sandbox(sshds):
    """A sandbox serving tests/sandbox/worlds/connection_plugin.yml, its services pointed at `sshds`."""
    env = {"DEVICE_SSH_PORT_%s" % name: str(device.port) for name, device in sshds.items()}
    with Sandbox(world=str(WORLD), lifetime=SANDBOX_LIFETIME, idle_timeout=SANDBOX_IDLE_TIMEOUT, env=env) as sandbox:
        yield sandbox


@pytest.fixture
def plugin(plugin_sandbox, sshds, run_playbook, ansible_env, tmp_path):
    """Starts with no live proxy; its teardown closes what the connections file records, by id through the
    module (never all_sessions), then asserts that no proxy is left live."""
    assert plugin_sandbox.proxies() == [], "an earlier test left proxies open"
    plugin_sandbox.clear_faults()
    key_id, secret = plugin_sandbox.credentials
    # ssh's control sockets of this test alone, on a path short enough for a unix socket.
    control_dir = tempfile.mkdtemp(prefix="rit-cp-")
    env = dict(ansible_env, REMOTEIT_API_URL=plugin_sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret,
               ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
               ANSIBLE_CALLBACK_FORMAT_PRETTY="false")
    runs = PluginRuns(plugin_sandbox, sshds, run_playbook, env, tmp_path)
    yield runs
    try:
        recorded = runs.recorded_ids()
        if recorded:
            runs.playbook(PLAYBOOKS / "connection_plugin_close_recorded.yml", extra_vars={"connection_ids": recorded})
        leaked = plugin_sandbox.proxies()
        for proxy in leaked:  # reset the sandbox so a leak fails this test alone
            plugin_sandbox.registry.close(proxy["id"])
        assert leaked == [], "proxies left open after closing what the connections file records"
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)


def with_vars(inventory, **values):
    """The inventory with `values` added to every host's vars."""
    for group in inventory.values():
        for host_vars in group["hosts"].values():
            host_vars.update(values)
    return inventory


def task_output(output, task):
    """The part of a run's output that one task printed."""
    start = output.index("TASK [%s]" % task)
    end = output.find("TASK [", start + 1)
    return output[start:] if end < 0 else output[start:end]


def become_method():
    """Vars for a become method that works here without a password: sudo if it does, else su when root."""
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return {"ansible_become_method": "sudo"}
    if os.geteuid() == 0 and shutil.which("su"):
        # root needs no password for su; the unprivileged user's login shell is nologin, so name a shell.
        return {"ansible_become_method": "su", "ansible_become_flags": "-s /bin/sh"}
    pytest.skip("become needs passwordless sudo, or root for su: this machine has neither")


# -- tests -----------------------------------------------------------------------------------------------

@pytest.mark.every_core
def test_facts_copy_and_fetch_through_the_plugin_then_a_second_run_opens_nothing(plugin, tmp_path):
    hosts = {name: NAMED[name] for name in ("alpha", "bravo", "charlie")}
    inventory = plugin.inventory(hosts)
    device_dir, fetch_dir = tmp_path / "device", tmp_path / "fetched"
    device_dir.mkdir()
    extra_vars = {"device_dir": str(device_dir), "fetch_dir": str(fetch_dir)}

    first = plugin.playbook(PLAYBOOKS / "connection_plugin_files.yml", inventory=inventory, extra_vars=extra_vars)
    assert first.rc == 0, str(first)
    assert first.succeeded() == sorted(hosts)
    assert first.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in hosts), str(first)
    for name, sshd in hosts.items():
        written = (device_dir / (name + ".txt")).read_text()
        assert written.split()[0] == name
        # SSH_CONNECTION ends with the server's port: each host reached its own device's sshd.
        assert int(written.split()[-1]) == plugin.sshds[sshd].port, "%s reached the wrong sshd: %s" % (name, written)
        assert (fetch_dir / (name + ".txt")).read_text() == written
    live = plugin.live()
    assert sorted(proxy["service_id"] for proxy in live) == sorted(SSH_SERVICE_IDS[name] for name in hosts)
    # latching by default, and latched to the controller by SSH itself
    assert {(proxy["host_ip"], proxy["latched_ip"]) for proxy in live} == {("255.255.255.255", "127.0.0.1")}
    assert plugin.recorded_ids() == plugin.live_ids(), "the plugin's proxies are not in the module's records"
    opened = plugin.live_ids()

    second = plugin.playbook(PLAYBOOKS / "connection_plugin_files.yml", inventory=inventory, extra_vars=extra_vars)
    assert second.rc == 0, str(second)
    assert second.succeeded() == sorted(hosts)
    assert second.connects == [], "the second run opened proxies again:\n%s" % second
    assert plugin.live_ids() == opened
    assert all(counts["changed"] == 0 for counts in second.recap.values()), str(second)

    closed = plugin.playbook(CLOSE, inventory=inventory)
    assert closed.rc == 0, str(closed)
    assert closed.connects == [], "closing with the module made the plugin open a proxy:\n%s" % closed
    assert plugin.live_ids() == []
    assert plugin.recorded_ids() == []


@pytest.mark.every_core
def test_proxies_closed_in_the_middle_of_a_play_are_replaced_once_and_the_play_goes_on(plugin, tmp_path):
    hosts = {name: NAMED[name] for name in ("alpha", "bravo", "charlie")}
    handshake, device_dir = tmp_path / "handshake", tmp_path / "device"
    handshake.mkdir()
    device_dir.mkdir()
    log = tmp_path / "interrupted.log"
    process = plugin.start_playbook(PLAYBOOKS / "connection_plugin_interrupted.yml", plugin.inventory(hosts),
                                    {"handshake_dir": str(handshake), "device_dir": str(device_dir)}, log)
    try:
        wait_for_path(handshake / "in-use", process, log)
        assert sorted(plugin.live_services()) == sorted(SSH_SERVICE_IDS[name] for name in hosts)
        closed = plugin.close_elsewhere()
        plugin.sandbox.clear_requests()
        (handshake / "closed").write_text("closed\n")
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(30)
    run = Run(process.returncode, log.read_text(), "", connect_requests(plugin.sandbox))
    assert run.rc == 0, str(run)
    assert run.succeeded() == sorted([*hosts, "localhost"])
    for name in hosts:
        assert (device_dir / (name + ".after")).read_text() == "%s went on\n" % name
    assert run.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in hosts), \
        "expected one replacement per service:\n%s" % run
    assert set(plugin.live_ids()).isdisjoint(closed)
    assert sorted(plugin.live_services()) == sorted(SSH_SERVICE_IDS[name] for name in hosts)
    assert set(plugin.live_ids()) <= set(plugin.recorded_ids())


@pytest.mark.every_core
def test_proxies_closed_between_two_runs_sharing_the_records_are_replaced_once(plugin):
    hosts = {name: NAMED[name] for name in ("alpha", "bravo", "charlie")}
    inventory = plugin.inventory(hosts)
    first = plugin.playbook(PING, inventory=inventory, extra_vars={"gather": False})
    assert first.rc == 0, str(first)
    # Records younger than the API confirmation's lifetime are trusted without asking remote.it: the next
    # run finds out from SSH that the proxies are gone.
    closed = plugin.close_elsewhere()

    second = plugin.playbook(PING, inventory=inventory, extra_vars={"gather": False})
    assert second.rc == 0, str(second)
    assert second.succeeded() == sorted(hosts)
    assert second.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in hosts), str(second)
    assert set(plugin.live_ids()).isdisjoint(closed)
    assert len(plugin.live_ids()) == len(hosts)


@pytest.mark.every_core
def test_offline_unknown_and_ambiguous_devices_are_unreachable_with_the_modules_message_others_go_on(plugin):
    hosts = {name: NAMED[name] for name in ("alpha", "bravo", "offline-01", "twin", "ghost")}
    run = plugin.playbook(PING, inventory=plugin.inventory(hosts))
    assert run.rc != 0, str(run)
    assert run.succeeded() == ["alpha", "bravo"], str(run)
    assert run.recap["alpha"]["ok"] == run.recap["bravo"]["ok"] == 2, run  # facts and ping
    messages = run.unreachable
    assert sorted(messages) == ["ghost", "offline-01", "twin"], str(run)
    assert "offline-01" in messages["offline-01"] and "offline" in messages["offline-01"].replace("offline-01", "")
    assert "ambiguous" in messages["twin"] and "TWIN" in messages["twin"], messages["twin"]
    assert "no device named" in messages["ghost"] and "ghost" in messages["ghost"], messages["ghost"]
    assert "Traceback" not in run.output
    opened = collections.Counter(SSH_SERVICE_IDS[name] for name in ("alpha", "bravo"))
    assert run.connected_services() == opened, str(run)


@pytest.mark.every_core
def test_host_keys_are_checked_under_the_service_alias_across_new_proxies_and_another_key_is_refused(plugin):
    hosts = {name: NAMED[name] for name in ("alpha", "bravo", "delta")}
    first = plugin.playbook(PING, inventory=plugin.inventory(hosts, "accept-new"), extra_vars={"gather": False})
    assert first.rc == 0, str(first)
    assert len(plugin.known_host_keys()) == len(hosts), "expected one known_hosts entry per service"
    for name, sshd in hosts.items():
        assert plugin.known_host_keys(host_key_alias(SSH_SERVICE_IDS[name])) == [plugin.sshds[sshd].host_public_key]
    known = plugin.known_hosts.read_text()
    first_ids, first_ports = plugin.live_ids(), sorted(proxy["port"] for proxy in plugin.live())

    closed = plugin.playbook(CLOSE, inventory=plugin.inventory(hosts))
    assert closed.rc == 0, str(closed)
    strict = plugin.playbook(PING, inventory=plugin.inventory(hosts, "yes"), extra_vars={"gather": False})
    assert strict.rc == 0, "new proxies on new ports failed strict host key checking:\n%s" % strict
    assert set(plugin.live_ids()).isdisjoint(first_ids)
    assert sorted(proxy["port"] for proxy in plugin.live()) != first_ports
    assert plugin.known_hosts.read_text() == known

    plugin.sshds[hosts["delta"]].replace_host_key()
    closed = plugin.playbook(CLOSE, inventory=plugin.inventory(hosts))
    assert closed.rc == 0, str(closed)
    refused = plugin.playbook(PING, inventory=plugin.inventory(hosts, "yes"), extra_vars={"gather": False})
    assert refused.rc != 0, str(refused)
    assert refused.succeeded() == ["alpha", "bravo"], str(refused)
    assert sorted(refused.unreachable) == ["delta"], str(refused)
    assert "Host key verification failed" in refused.unreachable["delta"], str(refused)
    # The message says which alias and how to fix it.
    assert "ssh-keygen -R %s" % host_key_alias(SSH_SERVICE_IDS["delta"]) in refused.unreachable["delta"], str(refused)
    assert plugin.known_hosts.read_text() == known
    # A proxy that answers with another key did not stop answering: it is not replaced.
    assert refused.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in hosts), str(refused)


def test_a_hundred_hosts_with_fifty_forks_open_one_proxy_per_service(plugin):
    # sshd drops some of the connections beyond 10 unauthenticated at once (MaxStartups): ssh tries again
    # then, as ansible.builtin.ssh does over a busy network; a proxy that answers is never replaced for it.
    inventory = with_vars(plugin.inventory(FLEET, group="fleet"), ansible_ssh_retries=2)
    run = plugin.playbook(PLAYBOOKS / "connection_plugin_fleet.yml", "--forks", "50", inventory=inventory)
    assert run.rc == 0, str(run)
    assert run.succeeded() == sorted(FLEET)
    opened = run.connected_services()
    assert len(run.connects) == FLEET_SIZE, "%d connects for %d services (more than once: %s)" % (
        len(run.connects), FLEET_SIZE, sorted(service for service, count in opened.items() if count > 1))
    assert set(opened) == FLEET_SERVICE_IDS
    assert set(plugin.live_services()) == FLEET_SERVICE_IDS and len(plugin.live_ids()) == FLEET_SIZE
    assert plugin.recorded_ids() == plugin.live_ids()
    # The teardown closes the hundred by id and finds none left.


@pytest.mark.every_core
def test_become_with_pipelining(plugin):
    become = become_method()
    hosts = {name: NAMED[name] for name in ("alpha", "bravo")}
    inventory = with_vars(plugin.inventory(hosts), ansible_pipelining=True, **become)
    run = plugin.playbook(PLAYBOOKS / "connection_plugin_become.yml", "-vvv", inventory=inventory,
                          extra_vars={"become_target_user": pwd.getpwnam("nobody").pw_name})
    assert run.rc == 0, str(run)
    assert run.succeeded() == sorted(hosts)
    assert "StrictHostKeyChecking=no" not in run.output, "host key checking was switched off"
    pipelined = ["Run without become"]
    if become["ansible_become_method"] != "su":  # ansible-core never pipelines su, whatever the connection
        pipelined += ["Become the unprivileged user", "Become root"]
    for task in pipelined:
        copied = re.search(r"PUT .*AnsiballZ", task_output(run.output, task))
        assert not copied, "%r copied its module to the device: it was not pipelined" % task
    assert run.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in hosts), str(run)


@pytest.mark.every_core
def test_delegate_to_another_device_runs_there_through_its_own_proxy(plugin):
    in_play = {name: NAMED[name] for name in ("alpha", "bravo")}
    inventory = with_vars(plugin.inventory(in_play, others={"charlie": NAMED["charlie"]}), ansible_pipelining=True)
    ports = {name: plugin.sshds[NAMED[name]].port for name in ("alpha", "bravo", "charlie")}
    run = plugin.playbook(PLAYBOOKS / "connection_plugin_delegate.yml", "--limit", "devices", inventory=inventory,
                          extra_vars={"delegate_host": "charlie", "sshd_ports": ports})
    assert run.rc == 0, str(run)
    assert run.succeeded() == sorted(in_play)
    # charlie, reached only by delegation, from both hosts at once, has one proxy like the others.
    assert run.connected_services() == collections.Counter(SSH_SERVICE_IDS[name] for name in ports), str(run)
    assert sorted(plugin.live_services()) == sorted(SSH_SERVICE_IDS[name] for name in ports)


@pytest.mark.every_core
def test_inventory_on_demand_opens_nothing_and_a_limited_run_opens_one(plugin, tmp_path):
    inventory_dir = tmp_path / "inventory"
    (inventory_dir / "host_vars").mkdir(parents=True)
    (inventory_dir / "devices.remoteit.yml").write_text(json.dumps(
        {"plugin": "community.remoteit.remoteit", "connect_service": "ssh"}))
    # How to log in to alpha: its sshd's key and this test's known_hosts (JSON is YAML).
    alpha_vars = plugin.host_vars(NAMED["alpha"])
    del alpha_vars["ansible_connection"]  # the inventory plugin sets it
    (inventory_dir / "host_vars" / "alpha.yml").write_text(json.dumps(alpha_vars))

    plugin.sandbox.clear_requests()
    listed = run_command([ansible_bin("ansible-inventory"), "-i", inventory_dir, "--list"], plugin.env, cwd=tmp_path)
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert connect_requests(plugin.sandbox) == [] and plugin.live_ids() == [], "ansible-inventory opened proxies"
    assert plain(hostvars["alpha"]["ansible_connection"]) == PLUGIN
    assert plain(hostvars["alpha"]["remoteit_service"]) == "ssh"
    assert "ansible_host" not in hostvars["alpha"] and "ansible_port" not in hostvars["alpha"]
    assert plain(hostvars["offline-01"]["ansible_connection"]) == PLUGIN  # reaching it says it is offline
    assert len([host for host, values in hostvars.items() if plain(values.get("ansible_connection")) == PLUGIN]) > 100

    run = plugin.playbook(PING, "-i", str(inventory_dir), "--limit", "alpha")
    assert run.rc == 0, str(run)
    assert run.succeeded() == ["alpha"]
    assert run.connected_services() == collections.Counter([SSH_SERVICE_IDS["alpha"]]), str(run)
    assert sorted(plugin.live_services()) == [SSH_SERVICE_IDS["alpha"]]


@pytest.mark.every_core
def test_hosts_that_name_one_service_differently_share_one_proxy(plugin):
    ways = {"by-name": {"remoteit_device_name": "charlie"},
            "by-id": {"remoteit_service_id": SSH_SERVICE_IDS["charlie"]},
            "by-device": {"remoteit_device": "CHARLIE", "remoteit_service": "SSH"}}
    inventory = {"devices": {"hosts": {host: plugin.host_vars(NAMED["charlie"], **selection)
                                       for host, selection in ways.items()}}}
    run = plugin.playbook(PING, inventory=inventory, extra_vars={"gather": False})
    assert run.rc == 0, str(run)
    assert run.succeeded() == sorted(ways)
    assert run.connected_services() == collections.Counter([SSH_SERVICE_IDS["charlie"]]), str(run)
    assert len(plugin.live_ids()) == 1
    # One service, one alias: every entry is the charlie sshd's key.
    keys = plugin.known_host_keys()
    assert keys and set(keys) == {plugin.sshds[NAMED["charlie"]].host_public_key}
    assert plugin.known_host_keys(host_key_alias(SSH_SERVICE_IDS["charlie"])) == keys
