"""The community.remoteit.proxy role end to end: real ansible-playbook, the sandbox, and a real sshd
as the devices behind the proxies."""

import pytest
from test_inventory import close_recorded

DEVICES = ("pi-kitchen", "pi-garage")


@pytest.fixture
def devices_inventory(device):
    """The devices by name only: no address, so SSH can only go through a proxy."""
    return {"devices": {"hosts": {name: device.ansible_ssh_args() for name in DEVICES}}}


def mutation_fields(sandbox):
    return sorted(entry["fields"][0] for entry in sandbox.requests() if entry.get("operation") == "mutation")


@pytest.mark.every_core
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


@pytest.mark.every_core
def test_role_in_check_mode_sends_no_mutation(run_playbook, clean_sandbox, devices_inventory):
    run_playbook("tests/e2e/playbooks/role_check_mode.yml", "--check", inventory=devices_inventory)
    assert mutation_fields(clean_sandbox) == []
    assert clean_sandbox.proxies() == []


ALIAS_PLAYBOOK = """
- name: Reach devices through two proxies in turn, their host keys checked strictly
  hosts: devices
  gather_facts: false
  tasks:
    - name: Open a proxy
      ansible.builtin.include_role:
        name: community.remoteit.proxy

    - name: Keep the first connection
      ansible.builtin.set_fact:
        first_connection: "{{ remoteit_proxy_connection }}"

    - name: Reach the device through the first proxy
      ansible.builtin.ping:

    - name: Open a second proxy
      ansible.builtin.include_role:
        name: community.remoteit.proxy
      vars:
        remoteit_proxy_force: true

    - name: Reach the device through the second proxy
      ansible.builtin.ping:

    - name: Two proxies, one alias after the host's own options
      ansible.builtin.assert:
        that:
          - remoteit_proxy_connection.port != first_connection.port
          - ansible_ssh_extra_args == '-o ServerAliveInterval=7 ' ~ alias
          - ansible_sftp_extra_args == alias
      vars:
        alias: -o HostKeyAlias=remoteit-{{ remoteit_proxy_connection.service_id | replace(':', '-') | lower }}

    - name: Close the proxies
      ansible.builtin.include_role:
        name: community.remoteit.proxy
        tasks_from: close
"""


def test_role_checks_host_keys_under_the_plugins_alias_across_proxies(run_playbook, run_ansible, ansible_env, clean_sandbox,
                                                                      device, tmp_path):
    """known_hosts holds each device's key under its service's alias only, and SSH accepts no other."""
    services = {"pi-kitchen": "80-00-00-00-01-00-01-01", "pi-garage": "80-00-00-00-01-00-02-01"}
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join("remoteit-%s %s\n" % (service, device.host_public_key)
                                   for service in services.values()))
    strict = "-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes" % known_hosts
    inventory = {"devices": {"hosts": {name: dict(device.ansible_ssh_args(), ansible_ssh_common_args=strict)
                                       for name in services}}}
    playbook = tmp_path / "role_host_key_alias.yml"
    playbook.write_text(ALIAS_PLAYBOOK)
    try:
        # The user's own extra options, from the command line, stay first.
        result = run_playbook(playbook, "--ssh-extra-args=-o ServerAliveInterval=7", inventory=inventory,
                              env={"ANSIBLE_HOST_KEY_CHECKING": "True"}, check=False)
    finally:  # what an unreachable host left open
        close_recorded(run_ansible, ansible_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mutation_fields(clean_sandbox).count("connect") == 4
    assert known_hosts.read_text().count("\n") == 2, "no proxy's [host]:port became an entry"
    assert clean_sandbox.proxies() == []
