"""remoteit_connection and remoteit_device_info end to end: real ansible-playbook, the sandbox
speaking the remote.it API, and a real sshd as the device behind the proxy."""

import pytest
from utils.connections import read_records

pytestmark = pytest.mark.every_core

DEVICES = ("pi-kitchen", "pi-garage")


@pytest.fixture
def devices_inventory(device):
    """The devices by name only: no address, so SSH can only go through a proxy."""
    return {"devices": {"hosts": {name: device.ansible_ssh_args() for name in DEVICES}}}


def mutations(sandbox):
    return [entry for entry in sandbox.requests() if entry.get("operation") == "mutation"]


def test_open_configure_and_close_through_real_ssh(run_playbook, clean_sandbox, devices_inventory, tmp_path):
    device_dir = tmp_path / "device"
    device_dir.mkdir()
    run_playbook("tests/e2e/playbooks/open_configure_close.yml", inventory=devices_inventory,
                 extra_vars={"device_dir": str(device_dir)})
    for name in DEVICES:
        assert (device_dir / (name + ".conf")).read_text().startswith("configured through ")
    assert clean_sandbox.proxies() == []
    fields = [entry["fields"] for entry in mutations(clean_sandbox)]
    assert fields.count(["connect"]) == 2
    assert fields.count(["disconnect"]) == 2
    assert read_records(tmp_path / "connections.json") == []


def test_check_mode_sends_no_mutation(run_playbook, clean_sandbox, devices_inventory):
    run_playbook("tests/e2e/playbooks/check_mode.yml", inventory=devices_inventory)
    fields = sorted(entry["fields"][0] for entry in mutations(clean_sandbox))
    assert fields == ["connect", "connect", "disconnect", "disconnect"]
    assert clean_sandbox.proxies() == []


def test_device_info_through_module_defaults(run_playbook, clean_sandbox, ansible_env):
    key_id, secret = clean_sandbox.credentials
    env = {"REMOTEIT_API_URL": "http://127.0.0.1:9/graphql/v1", "R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": ""}
    run_playbook("tests/e2e/playbooks/device_info.yml", env=env,
                 extra_vars={"sandbox_url": clean_sandbox.url, "sandbox_key_id": key_id, "sandbox_secret": secret})
