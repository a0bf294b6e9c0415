# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: a device behind "NAT", the remote.it sandbox in front of it, and a playbook through both, the
README's way: the connection plugin, host key checking on (accept-new the first run, strict the second); the
playbook tags each device it configured `configured` in remote.it, and an inventory then selects the devices by
that tag.

The device is a real OpenSSH server on loopback whose address the inventory never names; the
sandbox speaks the remote.it API and opens real TCP proxies to it. Nothing leaves this machine,
and nothing stays: the demo's files live in a temporary directory it removes when it ends.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests", "sandbox"), os.path.join(REPO, "tests")]

from remoteit_sandbox import Sandbox  # noqa: E402  pylint: disable=wrong-import-position
from utils.device import SshDevice  # noqa: E402  pylint: disable=wrong-import-position

WORLD = os.path.join(REPO, "tests", "sandbox", "worlds", "demo.yml")
DEVICES = ("pi-kitchen", "pi-garage")
TAG = "configured"


def say(text):
    print("\n== " + textwrap.fill(text, 96, subsequent_indent="   ", break_on_hyphens=False, break_long_words=False),
          flush=True)


def main():
    # Removed however the demo ends (failure and Ctrl-C included); the device and the sandbox
    # remove their own files when they stop.
    with tempfile.TemporaryDirectory(prefix="remoteit-demo-") as workdir:
        say("The demo's files (inventory, connections file, what the playbook writes on the device) go to "
            "%s, which is removed when the demo ends." % workdir)
        returncode = demo(workdir)
    say("Removed %s; the device and the sandbox are stopped." % workdir)
    return returncode


def demo(workdir):
    with SshDevice() as device:
        say("The device: an OpenSSH server on 127.0.0.1:%d. It plays %s, Raspberry Pis behind NAT: the "
            "inventory names them but gives no address, so the only way in is a remote.it proxy."
            % (device.port, " and ".join(DEVICES)))
        with Sandbox(world=WORLD, env={"DEVICE_SSH_PORT": str(device.port)}) as sandbox:
            say("The remote.it sandbox: the remote.it GraphQL API at %s, checking every request's "
                "signature and opening real TCP proxies." % sandbox.url)
            inventory = os.path.join(workdir, "inventory.json")
            known_hosts = os.path.join(workdir, "known_hosts")
            ssh = device.ansible_ssh_args()
            host_vars = {"ansible_connection": "community.remoteit.ssh", "ansible_user": ssh["ansible_user"],
                         "ansible_ssh_private_key_file": ssh["ansible_ssh_private_key_file"],
                         "ansible_python_interpreter": ssh["ansible_python_interpreter"],
                         "ansible_ssh_common_args": "-o UserKnownHostsFile=" + known_hosts}
            with open(inventory, "w", encoding="utf-8") as handle:
                json.dump({"devices": {"hosts": {name: dict(host_vars) for name in DEVICES}}}, handle)
            key_id, secret = sandbox.credentials
            env = dict(os.environ, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret,
                       REMOTEIT_API_URL=sandbox.url,
                       REMOTEIT_CONNECTIONS_FILE=os.path.join(workdir, "connections.json"),
                       ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_RETRY_FILES_ENABLED="False")
            playbook = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                        "-i", inventory, os.path.join(REPO, "demo", "playbook.yml"), "-e", "demo_dir=" + workdir]
            runs = (
                ("1", ["--ssh-extra-args=-o StrictHostKeyChecking=accept-new"],
                 "First run of demo/playbook.yml, with StrictHostKeyChecking=accept-new: the connection plugin opens a "
                 "proxy per device the first time a task uses it, ssh records each device's host key under the alias "
                 "remoteit-<service id>, a file is written and read on each device, remoteit_device_tags tags the "
                 "device %s in remote.it, and the last play closes the proxies." % TAG),
                ("2", [],
                 "Second run, host keys checked strictly: new proxies on new ports, and the keys still match under "
                 "the alias; the devices hold the tag already, so tagging them changes nothing."),
            )
            for run, extra, what in runs:
                say(what)
                returncode = subprocess.call(playbook + ["-e", "demo_run=" + run] + extra, env=env)
                if returncode:
                    say("The playbook failed (exit %d)." % returncode)
                    return returncode
            calls = [entry["fields"] for entry in sandbox.requests() if entry.get("operation") == "mutation"]
            with open(known_hosts, encoding="utf-8") as handle:
                keys = sum(1 for line in handle if line.strip())
            say("Afterwards: the sandbox has %d live proxies; remote.it saw %d connect, %d disconnect and %d addTag "
                "mutations over %d signed API requests; %s holds %d host keys, one per device under its alias."
                % (len(sandbox.proxies()), sum("connect" in fields for fields in calls),
                   sum("disconnect" in fields for fields in calls), sum("addTag" in fields for fields in calls),
                   len(sandbox.requests()), known_hosts, keys))
            for name in DEVICES:
                with open(os.path.join(workdir, name + ".motd"), encoding="utf-8") as handle:
                    say("On the device, %s.motd says: %s" % (name, handle.read().strip()))
            return select_by_tag(workdir, env)


def select_by_tag(workdir, env):
    """ansible-inventory over the devices tagged TAG, a group per tag; 0 when it shows the demo's DEVICES there."""
    inventory = os.path.join(workdir, "%s.remoteit.yml" % TAG)
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("plugin: community.remoteit.remoteit\ntags: [%s]\nkeyed_groups:\n"
                     "  - key: remoteit_tags\n    prefix: tag\n" % TAG)
    say("The devices by tag: the inventory %s (plugin: community.remoteit.remoteit, tags: [%s], keyed_groups on "
        "remoteit_tags with prefix tag) holds only the devices tagged %s, as remote.it selects them, and makes a "
        "group of each tag they hold. ansible-inventory --graph:" % (inventory, TAG, TAG))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", inventory, "--graph"]
    result = subprocess.run(command, env=dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="True"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, text=True, check=False)
    print(result.stdout, end="", flush=True)
    tagged = graph_members(result.stdout, "tag_" + TAG)
    if result.returncode or sorted(tagged) != sorted(DEVICES):
        say("ansible-inventory (exit %d) did not show %s in group tag_%s."
            % (result.returncode, " and ".join(DEVICES), TAG))
        return result.returncode or 1
    say("remote.it tags %s with %s: the inventory holds them, and only them, in group tag_%s (and their other "
        "tags' groups)." % (" and ".join(sorted(tagged)), TAG, TAG))
    return 0


def graph_members(graph, group):
    """The hosts directly in `group` of `ansible-inventory --graph` output."""
    members, prefix = [], None
    for line in graph.splitlines():
        if prefix is None:
            found = re.fullmatch(r"(.*)\|--@%s:" % re.escape(group), line)
            prefix = found and found.group(1) + "|  |--"
        elif line.startswith(prefix) and not line[len(prefix):].startswith("@"):
            members.append(line[len(prefix):])
        elif not line.startswith(prefix[:-3]):
            break
    return members


if __name__ == "__main__":
    sys.exit(main())
