"""community.remoteit.ssh end to end, as ssh, scp and sftp see it: wrappers in front of the real binaries log every
command line ansible-core runs through the plugin. The host key alias is one argument of its own, and a proxy record
whose host ssh would read as an option (ProxyCommand runs code on the controller) never reaches a command line.
"""

import json
import shutil
import sys

import pytest
from test_connection_plugin import (  # pylint: disable=unused-import  # fixtures: pytest finds them by name here
    NAMED,
    PING,
    SSH_SERVICE_IDS,
    host_key_alias,
    plugin,
    plugin_sandbox,
    sshds,
    with_vars,
)
from utils.connections import read_records

pytestmark = pytest.mark.every_core

# ping moves its module over sftp (smart tries sftp first); the copy pipes its modules and moves the file over scp;
# the reset stops ssh's ControlMaster (ssh -O).
PLAY = """
- name: Ping, copy a file over scp, reset the connection
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
    - name: Copy a file over scp
      ansible.builtin.copy: {content: "scp\\n", dest: "{{ device_dir }}/scp.txt", mode: "0644"}
      vars: {ansible_ssh_transfer_method: scp, ansible_pipelining: true}
    - name: Reset the connection
      ansible.builtin.meta: reset_connection
"""
WRAPPER = """#!%(python)s -S
import json, os, sys
with open(%(log)r, "a", encoding="utf-8") as log:
    log.write(json.dumps([%(name)r] + sys.argv[1:]) + "\\n")
os.execv(%(real)r, [%(real)r] + sys.argv[1:])
"""
# What ansible-core itself puts on these command lines: options with their value, and flags.
OPTIONS_WITH_VALUE = {"-o", "-O", "-b"}
FLAGS = {"-C", "-tt"}


def logging_executables(tmp_path):
    """(host vars that make ansible-core run the wrappers, the log they write: one JSON list a command)."""
    log = tmp_path / "argv.log"
    executables = {}
    for name in ("ssh", "scp", "sftp"):
        wrapper = tmp_path / ("logged-" + name)
        wrapper.write_text(WRAPPER % {"python": sys.executable, "log": str(log), "name": name, "real": shutil.which(name)})
        wrapper.chmod(0o700)
        executables["ansible_%s_executable" % name] = str(wrapper)
    return executables, log


def logged(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def unexpected_options(argv):
    """The options of a command line (the binary's name first) that ansible-core does not give these binaries."""
    found, args = [], iter(argv[1:])
    for arg in args:
        if arg in OPTIONS_WITH_VALUE:
            next(args, None)
        elif arg.startswith("-") and arg not in FLAGS:
            found.append(arg)
    return found


def test_ssh_scp_and_sftp_get_the_alias_as_one_argument_and_a_hostile_recorded_host_never_runs(plugin, tmp_path):
    executables, log = logging_executables(tmp_path)
    device_dir = tmp_path / "device"
    device_dir.mkdir()
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    inventory = with_vars(plugin.inventory({"alpha": NAMED["alpha"]}), **executables)
    run = plugin.playbook(play, inventory=inventory, extra_vars={"device_dir": str(device_dir)})
    assert run.rc == 0, str(run)
    assert run.succeeded() == ["alpha"], str(run)
    assert (device_dir / "scp.txt").read_text() == "scp\n"

    commands = logged(log)
    assert {argv[0] for argv in commands} == {"ssh", "scp", "sftp"}, commands
    assert any(argv[0] == "ssh" and "-O" in argv for argv in commands), "the reset ran no ssh -O: %s" % commands
    alias = "HostKeyAlias=" + host_key_alias(SSH_SERVICE_IDS["alpha"])
    for argv in commands:
        assert [arg for arg in argv if "HostKeyAlias" in arg] == [alias], argv
        assert argv[argv.index(alias) - 1] == "-o", argv
        assert not [arg for arg in argv if "ProxyCommand" in arg or "LocalCommand" in arg], argv
        assert unexpected_options(argv) == [], argv
        assert "StrictHostKeyChecking=no" not in argv, "host key checking was switched off"
    assert plugin.known_host_keys(host_key_alias(SSH_SERVICE_IDS["alpha"])) == [plugin.sshds[NAMED["alpha"]].host_public_key]

    # The same record, planted with a host that ssh would read as -o ProxyCommand=..., in a file of its own: of
    # format 1, as earlier versions wrote it, which is still read and checked.
    marker = tmp_path / "marker"
    record = read_records(tmp_path / "connections.json")[0]
    records = tmp_path / "records"
    records.mkdir(mode=0o700)
    planted = records / "connections.json"
    planted.write_text(json.dumps({"version": 1, "connections": [dict(record, host="-oProxyCommand=touch %s" % marker)]}))
    planted.chmod(0o600)
    log.unlink()
    hostile = plugin.playbook(PING, inventory=with_vars(plugin.inventory({"alpha": NAMED["alpha"]}),
                                                        remoteit_connections_file=str(planted), **executables),
                              extra_vars={"gather": False})
    assert hostile.rc != 0 and hostile.succeeded() == [], str(hostile)
    assert not marker.exists(), "the planted host ran as a ProxyCommand"
    assert not [argv for argv in logged(log) if any("ProxyCommand" in arg or str(marker) in arg for arg in argv)]
    # The plugin names the field; a records file checked when read names the file and the record.
    assert "not a host name or IP address" in hostile.output or str(planted) in hostile.output, str(hostile)
    assert "Traceback" not in hostile.output and "exception occurred" not in hostile.output, str(hostile)
