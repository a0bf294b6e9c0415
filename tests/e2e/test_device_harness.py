"""The test harness itself: Ansible reaches the sshd "device" on loopback."""

import os
import socket

import pytest

from utils.device import SshDevice, port_open


def test_ansible_runs_a_command_on_the_device(device_vars, run_ansible):
    inventory = {"all": {"hosts": {"device": device_vars}}}

    result = run_ansible("all", "-m", "ansible.builtin.command", "-a", "echo hi", inventory=inventory)

    assert "device | CHANGED | rc=0 >>" in result.stdout
    assert result.stdout.rstrip().endswith("hi")


def test_stopped_device_refuses_connections():
    dev = SshDevice().start()
    host, port, workdir = dev.host, dev.port, dev.workdir
    assert port_open(host, port)

    dev.stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=2).close()
    assert not os.path.exists(workdir)
