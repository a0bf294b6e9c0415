"""Many hosts at once: the connections file loses no record, stays valid and private, and is
never silently replaced when it cannot be read. A file an earlier version wrote is still read."""

import json
import os
import stat

import pytest

from remoteit_sandbox import Sandbox, generate_world
from utils.connections import read_records

FLEET_SIZE = 100


@pytest.fixture(scope="module")
def fleet_sandbox(device):
    world = generate_world(FLEET_SIZE)
    for item in world["users"][0]["devices"]:
        item["state"] = "active"
    with Sandbox(world=world, env={"DEVICE_SSH_PORT": str(device.port)}) as sandbox:
        yield sandbox


def test_a_hundred_hosts_opening_at_once_lose_no_record(run_playbook, fleet_sandbox, ansible_env, tmp_path):
    env = {"REMOTEIT_API_URL": fleet_sandbox.url}
    inventory = {"fleet": {"hosts": {"device-%05d" % index: {} for index in range(1, FLEET_SIZE + 1)}}}
    run_playbook("tests/e2e/playbooks/fleet.yml", "--forks", "50", inventory=inventory,
                 extra_vars={"proxy_state": "present"}, env=env)
    path = tmp_path / "connections.json"
    records = read_records(path)
    assert len(records) == FLEET_SIZE
    assert len({record["device_name"] for record in records}) == FLEET_SIZE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(proxy["id"] for proxy in fleet_sandbox.proxies()) == sorted(record["id"] for record in records)

    run_playbook("tests/e2e/playbooks/fleet.yml", "--forks", "50", inventory=inventory,
                 extra_vars={"proxy_state": "absent"}, env=env)
    assert read_records(path) == []
    assert fleet_sandbox.proxies() == []


def test_a_corrupt_connections_file_stops_the_task_and_is_kept(run_ansible, ansible_env, clean_sandbox, tmp_path):
    path = tmp_path / "connections.json"
    path.write_text('{"version": 1, "connections": [{"id": "half-writ')
    result = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a",
                         "device=pi-garage service=ssh", check=False, env=ansible_env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "connections file %s cannot be used: it is not valid JSON" % path in output
    assert "Traceback" not in output
    assert path.read_text() == '{"version": 1, "connections": [{"id": "half-writ'
    assert clean_sandbox.proxies() == []


def test_a_connections_file_an_earlier_version_wrote_is_used_then_rewritten_as_a_journal(
        run_ansible, ansible_env, clean_sandbox, tmp_path):
    path = tmp_path / "connections.json"
    select = ["localhost", "-m", "community.remoteit.remoteit_connection", "-a", "device=pi-garage service=ssh"]
    run_ansible(*select, env=ansible_env)
    (record,) = read_records(path)
    path.write_text(json.dumps({"version": 1, "connections": [record]}))  # format 1: one JSON document
    again = run_ansible(*select, env=ansible_env)
    assert "localhost | SUCCESS" in again.stdout, again.stdout  # reused: changed is false
    assert [proxy["id"] for proxy in clean_sandbox.proxies()] == [record["id"]]
    assert json.loads(path.read_text()) == {"version": 1, "connections": [record]}, "a read leaves it as it is"
    select[-1] += " state=absent"
    run_ansible(*select, env=ansible_env)
    assert json.loads(path.read_text().splitlines()[0])["version"] == 2
    assert read_records(path) == [] and clean_sandbox.proxies() == []
