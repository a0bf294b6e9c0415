"""The secret access key never shows: not at -vvvv with ANSIBLE_DEBUG, not in results, errors,
logs or the connections file, for every module, the lookup and the inventory plugin."""

import pytest
import yaml

from conftest import ansible_bin, run_command

pytestmark = pytest.mark.every_core


def test_the_secret_appears_nowhere(run_playbook, clean_sandbox, ansible_env, device, tmp_path):
    key_id, secret = clean_sandbox.credentials
    log = tmp_path / "ansible.log"
    results = tmp_path / "results.json"
    env = {"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "", "SANDBOX_KEY_ID": key_id, "SANDBOX_SECRET": secret,
           "ANSIBLE_DEBUG": "1", "ANSIBLE_LOG_PATH": str(log)}
    inventory = {"devices": {"hosts": {"pi-garage": device.ansible_ssh_args()}}}
    played = run_playbook("tests/e2e/playbooks/secrets.yml", "-vvvv", inventory=inventory, env=env,
                          extra_vars={"results_file": str(results)})

    inventory_file = tmp_path / "devices.remoteit.yml"
    inventory_file.write_text(yaml.safe_dump({"plugin": "community.remoteit.remoteit", "connect_service": "ssh"}))
    listed = run_command([ansible_bin("ansible-inventory"), "-i", inventory_file, "--list", "-vvvv"],
                         dict(ansible_env, ANSIBLE_DEBUG="1", ANSIBLE_LOG_PATH=str(log)), cwd=tmp_path)
    rejected = run_command([ansible_bin("ansible-inventory"), "-i", inventory_file, "--list", "-vvvv"],
                           dict(ansible_env, ANSIBLE_DEBUG="1", R3_ACCESS_KEY_ID="AKNOTAKEY"), cwd=tmp_path)

    places = {
        "playbook output": played.stdout + played.stderr,
        "inventory output": listed.stdout + listed.stderr,
        "failed inventory output": rejected.stdout + rejected.stderr,
        "results": results.read_text(),
        "log": log.read_text(),
        "connections file": (tmp_path / "connections.json").read_text(),
    }
    assert "rejected the request signature" in places["results"]
    # ansible-core 2.16 wraps warnings at 79 columns, wherever the path before the message ends.
    assert "rejected the request signature" in " ".join(places["failed inventory output"].split())
    assert "pi-garage" in places["inventory output"]
    found = [place for place, text in places.items() if secret in text]
    assert found == [], "the secret access key appears in: %s" % ", ".join(found)


def test_the_check_would_catch_a_leak(run_ansible, ansible_env, clean_sandbox, tmp_path):
    """The same capture does show a secret that a task prints, so the test above can fail."""
    _key_id, secret = clean_sandbox.credentials
    log = tmp_path / "ansible.log"
    result = run_ansible("localhost", "-m", "ansible.builtin.debug", "-a", "msg={{ lookup('env', 'SANDBOX_SECRET') }}",
                         "-vvvv", env=dict(ansible_env, SANDBOX_SECRET=secret, ANSIBLE_DEBUG="1",
                                           ANSIBLE_LOG_PATH=str(log)))
    assert secret in result.stdout + result.stderr
    assert secret in log.read_text()
