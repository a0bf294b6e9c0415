"""Hostile API answers never run code, never reach ssh, and leave nothing open: the sandbox answers connect with
values an attacker (or a broken API) would choose, and lists devices whose ids and names are not what they should be.

Each test ends by proving its own cleanup: no proxy stays live on the sandbox and nothing is recorded.
"""

import json

import pytest
import yaml
from conftest import ansible_bin, run_command
from remoteit_sandbox import Sandbox
from test_inventory import plain
from utils.connections import read_records

GARAGE_SSH = "80:00:00:00:01:00:02:01"
MARKER = "pwned"  # the file a hostile value would create if it ever ran


def hostile_answers(marker):
    """(label, fields of the connect answer, what the user must read) for each row of the issue's table."""
    command = "touch %s" % marker
    return [
        ("host-option", {"host": "-oProxyCommand=%s" % command}, "host: '-oProxyCommand=touch "),
        ("host-space", {"host": "127.0.0.1 -oProxyCommand=%s" % command}, "host: '127.0.0.1 -oProxyCommand="),
        ("host-newline", {"host": "127.0.0.1\n-oProxyCommand=x"}, "host: '127.0.0.1\\n-oProxyCommand=x' is not"),
        ("port-0", {"port": 0}, "port: 0 is not a port"),
        ("port-70000", {"port": 70000}, "port: 70000 is not a port"),
        ("port-negative", {"port": -1}, "port: -1 is not a port"),
        ("port-true", {"port": True}, "port: True is not a port"),
        ("port-text", {"port": "abc"}, "port: 'abc' is not a port"),
        ("file-url", {"host": None, "port": None, "url": "file:///etc/passwd"}, "host: None is not a host name"),
        ("reverse-proxy-file-url", {"reverseProxy": True, "url": "file:///etc/passwd"},
         "url: 'file:///etc/passwd' is not a URL (http, https)"),
    ]


def words(text):
    """Output with its whitespace made single spaces: ansible-core 2.16 wraps warnings at the terminal's width."""
    return " ".join(text.split())


def assert_nothing_left(sandbox, connections_file):
    assert sandbox.proxies() == []
    if connections_file.exists():
        assert read_records(connections_file) == []


def test_every_hostile_connect_answer_is_refused_naming_the_field_and_its_proxy_closed(
        run_playbook, clean_sandbox, tmp_path):
    marker = tmp_path / MARKER
    cases = hostile_answers(marker)
    clean_sandbox.add_faults([{"field": "connect", "answer": fields} for _label, fields, _message in cases])
    results = tmp_path / "results.json"
    playbook = tmp_path / "open.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Open a proxy, one hostile answer per try", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Open", "community.remoteit.remoteit_connection": {"device": "pi-garage", "service": "ssh"},
             "loop": [label for label, _fields, _message in cases], "register": "opened", "ignore_errors": True},
            {"name": "Keep what each try answered", "ansible.builtin.copy": {
                "content": "{{ opened.results | map(attribute='msg', default='') | list | to_json }}",
                "dest": str(results), "mode": "0600"}},
        ]}]))
    result = run_playbook(playbook)
    messages = json.loads(results.read_text())
    assert len(messages) == len(cases)
    for (label, _fields, expected), message in zip(cases, messages):
        assert "remote.it answered connect with a connection that cannot be used: " in message, label
        assert expected in message, label
        assert "the proxy it opened was closed, and nothing was recorded" in message, label
    assert "Traceback" not in result.stdout + result.stderr
    assert not marker.exists()
    assert [entry["fields"] for entry in clean_sandbox.requests()].count(["disconnect"]) == len(cases)
    assert_nothing_left(clean_sandbox, tmp_path / "connections.json")


@pytest.mark.every_core
def test_the_connection_plugin_never_hands_a_hostile_host_to_ssh(run_playbook, clean_sandbox, device, tmp_path):
    marker = tmp_path / MARKER
    clean_sandbox.add_faults({"field": "connect", "answer": {"host": "-oProxyCommand=touch %s" % marker}})
    inventory = {"all": {"hosts": {"pi-garage": dict(device.ansible_ssh_args(),
                                                     ansible_connection="community.remoteit.ssh")}}}
    playbook = tmp_path / "ping.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                         "tasks": [{"ansible.builtin.ping": None}]}]))
    result = run_playbook(playbook, inventory=inventory, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 4  # unreachable
    assert "UNREACHABLE!" in output and "host: '-oProxyCommand=touch " in output
    assert "the proxy it opened was closed, and nothing was recorded" in output
    assert "Traceback" not in output
    assert not marker.exists()
    assert_nothing_left(clean_sandbox, tmp_path / "connections.json")


def test_the_eager_inventory_leaves_out_a_device_whose_connect_answer_is_hostile(
        ansible_env, run_playbook, clean_sandbox, tmp_path):
    clean_sandbox.add_faults({"field": "connect", "answer": {"host": "-oProxyCommand=touch %s" % (tmp_path / MARKER)}})
    path = tmp_path / "devices.remoteit.yml"
    path.write_text(yaml.safe_dump({"plugin": "community.remoteit.remoteit", "connect_service": "ssh",
                                    "connect_mode": "eager", "connect_workers": 1}))
    result = run_command([ansible_bin("ansible-inventory"), "-i", path, "--list"], ansible_env, cwd=tmp_path)
    hostvars = json.loads(result.stdout)["_meta"]["hostvars"]
    addresses = [str(plain(variables.get("ansible_host"))) for variables in hostvars.values()
                 if plain(variables["remoteit_state"]) == "active"]
    assert addresses == ["127.0.0.1"] * 3  # every other device reached; the hostile answer's device left out
    warnings = words(result.stderr)
    assert "host: '-oProxyCommand=touch " in warnings and "the device is left out of this inventory" in warnings
    assert not (tmp_path / MARKER).exists()
    records = read_records(tmp_path / "connections.json")
    assert sorted(proxy["id"] for proxy in clean_sandbox.proxies()) == sorted(record["id"] for record in records)
    close = tmp_path / "close.yml"
    close.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"community.remoteit.remoteit_connection": {"connection_id": "{{ item }}", "state": "absent"},
         "loop": [record["id"] for record in records]}]}]))
    run_playbook(close)
    assert_nothing_left(clean_sandbox, tmp_path / "connections.json")


HOSTILE_SERVICE_ID = "80:00'-oProxyCommand=touch %s'"
ESCAPE_NAME = "evil {{ lookup('pipe', 'touch %s') }}\x1b]0;owned\x07\nforged: line"
LONG_NAME = "long-" + "x" * 10000


@pytest.fixture
def hostile_world(device, tmp_path):
    """A sandbox whose devices have ids that are not ids and names chosen to break output."""
    marker = tmp_path / MARKER
    world = {
        "settings": {"validate_ids": False},
        "access_keys": [{"id": "SBXHOSTILEKEY0000001", "secret": "aG9zdGlsZS13b3JsZC1rZXk=", "user": "u1"}],
        "users": [{"id": "u1", "email": "hostile@example.com", "devices": [
            {"id": "80:00:00:00:0b:00:00:01", "name": "odd-services", "services": [
                {"id": HOSTILE_SERVICE_ID % marker, "name": "ssh", "application": 28,
                 "target": "127.0.0.1:%d" % device.port}]},
            {"id": "-oProxyCommand=touch %s" % marker, "name": "odd-device", "services": []},
            {"id": "80:00:00:00:0b:00:00:03", "name": ESCAPE_NAME % marker, "services": [
                {"id": "80:00:00:00:0b:00:03:01", "name": "ssh", "application": 28,
                 "target": "127.0.0.1:%d" % device.port}]},
            {"id": "80:00:00:00:0b:00:00:04", "name": LONG_NAME, "services": []},
        ]}],
    }
    with Sandbox(world) as sandbox:
        yield sandbox, marker


def test_devices_and_services_whose_id_is_not_an_id_are_left_out_with_a_warning(
        run_ansible, ansible_env, hostile_world, device):
    sandbox, marker = hostile_world
    key_id, secret = sandbox.credentials
    env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret)
    listed = run_ansible("localhost", "-m", "community.remoteit.remoteit_device_info", env=env)
    output = listed.stdout + listed.stderr
    assert "left out a device that remote.it listed: its id: '-oProxyCommand=touch " in words(output)
    assert "left out a service of device 'odd-services' that remote.it listed: its id: " in words(output)
    devices = json.loads(listed.stdout[listed.stdout.index("{"):])["devices"]
    assert sorted((item["name"], len(item["services"])) for item in devices) == sorted([
        ("odd-services", 0), (ESCAPE_NAME % marker, 1), (LONG_NAME, 0)])  # the names whole, in the result
    opened = run_ansible("odd-services", "-m", "ansible.builtin.ping", check=False, env=env, inventory={
        "all": {"hosts": {"odd-services": dict(device.ansible_ssh_args(), ansible_connection="community.remoteit.ssh")}}})
    output = opened.stdout + opened.stderr
    assert opened.returncode != 0
    assert "UNREACHABLE!" in output and "device 'odd-services' has no service named 'ssh'; its services: none" in output
    assert "Traceback" not in output
    assert not marker.exists()
    assert sandbox.proxies() == []


def test_names_in_errors_are_escaped_and_cut_short(run_ansible, ansible_env, hostile_world):
    sandbox, _marker = hostile_world
    key_id, secret = sandbox.credentials
    env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret)
    result = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a", "device=toaster service=ssh",
                         check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "no device named 'toaster'; your devices: " in output
    assert "\x1b" not in output and "\x07" not in output and "\nforged: line" not in output
    assert "your devices: evil {{ lookup('pipe', 'touch " in output  # shown, not run, and cut short
    assert "...(10005 characters)" in output and "x" * 200 not in output
    assert len(output) < 3000
    assert sandbox.proxies() == []


@pytest.mark.every_core
def test_a_device_with_an_odd_name_stays_reachable_by_its_id_and_its_name_never_runs(
        run_playbook, ansible_env, hostile_world, device, tmp_path):
    sandbox, marker = hostile_world
    key_id, secret = sandbox.credentials
    env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret)
    inventory = tmp_path / "devices.remoteit.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "community.remoteit.remoteit", "connect_service": "ssh",
                                         "compose": {name: repr(value) for name, value in device.ansible_ssh_args().items()}}))
    playbook = tmp_path / "odd.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "remoteit_active", "gather_facts": False, "tasks": [
        {"ansible.builtin.command": "echo reached", "register": "reached"},
        {"ansible.builtin.debug": {"msg": "{{ remoteit_device_name }}"}},
        {"community.remoteit.remoteit_connection": {"device": "{{ remoteit_device }}", "service": "ssh",
                                                    "state": "absent"}, "delegate_to": "localhost"}]}]))
    result = run_playbook(playbook, "-i", inventory, "--limit", "evil*", env=env)
    assert "evil____lookup__pipe____touch_" in result.stdout  # the host: its name made safe as a host name
    assert result.stdout.count("ok=3") == 1 and "unreachable=0" in result.stdout
    assert not marker.exists()
    assert sandbox.proxies() == []
