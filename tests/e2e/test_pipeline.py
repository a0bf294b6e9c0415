"""The CI/CD story: one ansible-playbook process opens, a second uses, a third tears down."""

import json

from utils.connections import read_records

# Ansible templates connection variables for every task, also while job 1 is still opening the
# proxies, so one inventory for all jobs falls back until the connection exists.
LOOKUP = ("{{ lookup('community.remoteit.remoteit_connection', inventory_hostname ~ '/ssh', on_missing='skip').%s"
          " | default(%s) }}")


def test_open_use_and_tear_down_in_separate_runs(run_playbook, clean_sandbox, device, tmp_path):
    hosts = {name: device.ansible_ssh_args() for name in ("pi-kitchen", "pi-garage")}
    proxied = {"ansible_host": LOOKUP % ("host", "inventory_hostname"), "ansible_port": LOOKUP % ("port", 22)}
    inventory = {"devices": {"hosts": hosts, "vars": proxied}}
    device_dir = tmp_path / "device"
    device_dir.mkdir()

    run_playbook("tests/e2e/playbooks/pipeline_open.yml", inventory=inventory)
    assert len(clean_sandbox.proxies()) == 2

    clean_sandbox.clear_requests()
    run_playbook("tests/e2e/playbooks/pipeline_use.yml", inventory=inventory, extra_vars={"device_dir": str(device_dir)})
    for name in hosts:
        assert (device_dir / (name + ".pipeline")).read_text().startswith("reached through 127.0.0.1:")
    used = clean_sandbox.requests()
    assert [entry for entry in used if entry.get("operation") == "mutation"] == []
    # Two hosts, several tasks and many evaluations of the lookup: one sessions query each at most.
    assert len(used) <= 2, used

    run_playbook("tests/e2e/playbooks/pipeline_close.yml", inventory=inventory)
    assert clean_sandbox.proxies() == []
    assert read_records(tmp_path / "connections.json") == []


def test_lookup_without_a_connection_names_the_module_that_opens_one(run_ansible, ansible_env, clean_sandbox):
    result = run_ansible("localhost", "-m", "ansible.builtin.debug", "-a",
                         "msg={{ lookup('community.remoteit.remoteit_connection', 'pi-garage/ssh') }}",
                         check=False, env=ansible_env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "no live remote.it connection is recorded for 'pi-garage/ssh'" in output
    assert "community.remoteit.remoteit_connection module (state: present)" in output
    assert "Traceback" not in output


def test_lookup_can_skip_or_warn_instead(run_ansible, ansible_env, clean_sandbox):
    skip = "query('community.remoteit.remoteit_connection', 'pi-garage/ssh', on_missing='skip') == []"
    run_ansible("localhost", "-m", "ansible.builtin.assert", "-a", "that=" + json.dumps(skip), env=ansible_env)
    warn = "{{ query('community.remoteit.remoteit_connection', 'pi-garage', on_missing='warn') }}"
    result = run_ansible("localhost", "-m", "ansible.builtin.debug", "-a", "msg=" + warn, env=ansible_env)
    assert "no live remote.it connection is recorded for 'pi-garage'" in result.stdout + result.stderr
