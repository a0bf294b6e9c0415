"""The community.remoteit.proxy role end to end: real ansible-playbook, the sandbox, and a real sshd
as the devices behind the proxies."""

import pytest

DEVICES = ("pi-kitchen", "pi-garage")


@pytest.fixture
def devices_inventory(device):
    """The devices by name only: no address, so SSH can only go through a proxy."""
    return {"devices": {"hosts": {name: device.ansible_ssh_args() for name in DEVICES}}}


def mutation_fields(sandbox):
    return sorted(entry["fields"][0] for entry in sandbox.requests() if entry.get("operation") == "mutation")


def test_role_opens_reuses_and_closes(run_playbook, clean_sandbox, devices_inventory, tmp_path):
    device_dir = tmp_path / "device"
    device_dir.mkdir()
    key_id, secret = clean_sandbox.credentials
    # Only module_defaults in the playbook reach the sandbox: the environment points nowhere.
    env = {"REMOTEIT_API_URL": "http://127.0.0.1:9/graphql/v1", "R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": ""}
    run_playbook("tests/e2e/playbooks/role_open_use_close.yml", inventory=devices_inventory, env=env,
                 extra_vars={"device_dir": str(device_dir), "sandbox_url": clean_sandbox.url,
                             "sandbox_key_id": key_id, "sandbox_secret": secret})
    for name in DEVICES:
        assert (device_dir / (name + ".conf")).read_text().startswith("configured through ")
    assert clean_sandbox.proxies() == []
    assert mutation_fields(clean_sandbox) == ["connect", "connect", "disconnect", "disconnect"]


def test_role_rejects_bad_input_before_any_api_call(run_playbook, clean_sandbox, devices_inventory):
    result = run_playbook("tests/e2e/playbooks/role_bad_input.yml", inventory=devices_inventory, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Validation of arguments failed" in output
    assert "remoteit_proxy_wait_timeout" in output and "convert to int" in output
    assert "Traceback" not in output
    assert clean_sandbox.requests() == []


def test_role_in_check_mode_sends_no_mutation(run_playbook, clean_sandbox, devices_inventory):
    run_playbook("tests/e2e/playbooks/role_check_mode.yml", "--check", inventory=devices_inventory)
    assert mutation_fields(clean_sandbox) == []
    assert clean_sandbox.proxies() == []
