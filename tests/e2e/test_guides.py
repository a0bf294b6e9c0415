"""Every command of every guide, run the way a reader runs it.

The guides are docs/docsite/rst/*.rst, README.md and tests/sandbox/README.md. From each, in
document order, a test takes

* the ``console`` blocks: every ``$ `` line (with its ``\\`` continuation lines) is a command,
  the lines under it are what the guide says it prints;
* the ``yaml`` blocks whose first line names a file (``# site.yml``): the file is written at that
  point, into the directory the commands run in, as a reader saves it.

The commands run one after the other in one bash, so ``export``, shell functions and background
jobs (``cmd &``) carry over as in a terminal, in a fresh copy of the repository (a clone), with
the virtual environment's bin first on PATH and a HOME of its own. A command must exit 0 and
print what the guide shows: every shown line, in order, possibly among other lines, where
``...`` stands for anything, a version for any version, and a number of three or more digits (a
port, a pid) for any number.
For a background command the test waits until it printed what the guide shows, as a reader does.
When the guide is done, nothing it started may still run.

A block the tests cannot run carries an rst comment ``.. not-run: <why>`` (in Markdown,
``<!-- not-run: <why> -->``) right before it, so that skipping it is a visible, reviewed decision;
test_every_command_block_is_run_or_marked lists them.

Guides that address "your remote.it account" and "your devices" run against the session's
sandbox (the demo world) and sshd device: the account's key replaces the placeholders
YOUR_ACCESS_KEY_ID and YOUR_BASE64_SECRET, REMOTEIT_API_URL points at the sandbox, and every
ansible-playbook command gets the device's SSH settings (user, key) as extra vars.
"""

import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import BIN_DIR, DEMO_WORLD, REPO_ROOT, ensure_collection_link
from utils.connections import read_records
from utils.device import processes

GUIDES = sorted((REPO_ROOT / "docs" / "docsite" / "rst").glob("*.rst")) + [
    REPO_ROOT / "README.md",
    REPO_ROOT / "tests" / "sandbox" / "README.md",
]
# The guides whose commands a test below runs.
RUN_BY_TESTS = {
    "docs/docsite/rst/guide_sandbox.rst",
    "docs/docsite/rst/guide_getting_started.rst",
    "docs/docsite/rst/guide_pipelines.rst",
    "docs/docsite/rst/guide_reaching_devices.rst",
    "docs/docsite/rst/guide_tags.rst",
    "README.md",
    "tests/sandbox/README.md",
}
# Blocks the tests do not run, by guide; a new one is a decision for review, so it fails here.
# guide_awx.rst has no other command: test_across_machines.py runs its files as AWX does, and the CI
# pipelines of guide_pipelines.rst as GitHub Actions and GitLab CI do.
NOT_RUN = {
    "README.md": 3,
    "docs/docsite/rst/guide_getting_started.rst": 1,
    "docs/docsite/rst/guide_awx.rst": 1,
}
PLACEHOLDER_KEY_ID = "YOUR_ACCESS_KEY_ID"
PLACEHOLDER_SECRET = "YOUR_BASE64_SECRET"
COMMAND_TIMEOUT = 300  # `make demo` may have to bring .venv up to date first
BACKGROUND_TIMEOUT = 60
# Set by the developer's shell or the Makefile, not by a reader's.
NOT_A_READERS_ENV = ("R3_", "REMOTEIT_", "ANSIBLE_", "MAKE", "MFLAGS", "PYTEST", "PYTHONPATH", "VIRTUAL_ENV",
                     "TMPDIR")


# ---- reading the guides -------------------------------------------------------------------------

@dataclass
class Block:
    guide: str  # path relative to the repository
    line: int  # of the directive or the opening fence, 1-based
    language: str
    text: str
    not_run: str = None  # the reason a not-run marker gives

    @property
    def where(self):
        return "%s:%d" % (self.guide, self.line)

    @property
    def file_name(self):
        """`site.yml` for a YAML block that starts with `# site.yml` (or `# site.yml, shared by ...`)."""
        match = re.match(r"# ([\w./-]+\.ya?ml)\b", self.text)
        return match.group(1) if self.language == "yaml" and match else None

    def commands(self):
        """The block's commands, each with the output lines the guide shows under it."""
        commands = []
        lines = self.text.splitlines()
        while lines:
            line = lines.pop(0)
            if line.startswith("$ "):
                text = [line[2:]]
                while text[-1].endswith("\\") and lines:
                    text.append(lines.pop(0))
                commands.append(Command("\n".join(text), []))
            elif commands:
                commands[-1].shown.append(line)
            elif line.strip():
                raise AssertionError("%s: output before the first $ command: %r" % (self.where, line))
        return commands


@dataclass
class Command:
    text: str
    shown: list = field(default_factory=list)

    @property
    def background(self):
        return bool(re.search(r"(^|[^&])&\s*$", self.text))


def _not_run_reason(line, markdown):
    pattern = r"<!--\s*not-run:(.*?)-->" if markdown else r"\.\. not-run:(.*)"
    match = re.fullmatch(pattern, line.strip())
    return match.group(1).strip() if match else None


def read_blocks(path):
    """The code blocks of an rst or Markdown guide, in order, with their not-run markers."""
    guide = str(path.relative_to(REPO_ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    markdown = path.suffix == ".md"
    blocks, marker, index = [], None, 0
    while index < len(lines):
        line = lines[index]
        start = index
        if markdown:
            fence = re.match(r"(\s*)```(\w*)\s*$", line)
            if fence:
                body, index = [], index + 1
                while index < len(lines) and not re.match(r"\s*```\s*$", lines[index]):
                    body.append(lines[index])
                    index += 1
                text = textwrap.dedent("\n".join(body)).strip("\n")
                blocks.append(Block(guide, start + 1, fence.group(2), text, marker))
                marker, index = None, index + 1
                continue
        else:
            directive = re.match(r"(\s*)\.\. code-block:: *(\S+)", line)
            if directive:
                indent = len(directive.group(1))
                body, index = [], index + 1
                while index < len(lines) and (not lines[index].strip()
                                              or len(lines[index]) - len(lines[index].lstrip()) > indent):
                    body.append(lines[index])
                    index += 1
                body = [text for text in body if not re.match(r"\s*:[\w-]+:", text)]  # directive options
                text = textwrap.dedent("\n".join(body)).strip("\n")
                blocks.append(Block(guide, start + 1, directive.group(2), text, marker))
                marker = None
                continue
        reason = _not_run_reason(line, markdown)
        if reason is not None:
            marker = reason
        elif line.strip():
            marker = None
        index += 1
    return blocks


def _normalized(line):
    return " ".join(line.split())


# In a shown line, `...` stands for anything, a version (0.1.0) for any version, and a number of
# three or more digits (a port, a pid) for any number; the rest must be as shown.
_WILDCARDS = ((r"\.\.\.", ".*"), (r"\d+\.\d+\.\d+", r"\d+\.\d+\.\d+"), (r"\d{3,}", r"\d+"))


def _pattern(shown):
    """A shown line as a regex (see _WILDCARDS)."""
    parts = re.split("(%s)" % "|".join(wildcard for wildcard, _regex in _WILDCARDS), _normalized(shown))
    regex = ""
    for part in parts:
        regex += next((replacement for wildcard, replacement in _WILDCARDS if re.fullmatch(wildcard, part)),
                      re.escape(part))
    return re.compile(regex)


def shows(shown, output):
    """True when `output` holds every shown line, in order."""
    patterns = [_pattern(line) for line in shown if line.strip() and line.strip() != "..."]
    actual = iter(_normalized(line) for line in output)
    return all(any(pattern.fullmatch(line) for line in actual) for pattern in patterns)


# ---- running them ---------------------------------------------------------------------------------

def _process_group_members(pgid):
    """'pid command line' of each live process in process group `pgid` (zombies are gone already)."""
    members = []
    for pid, state, _ppid, pgrp in processes():
        if pgrp == pgid and state != "Z":
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
                    members.append("%d %s" % (pid, cmdline.read().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                continue
    return members


class Shell:
    """One bash, fed one command at a time, like a terminal a reader types into."""

    def __init__(self, cwd, env, scratch):
        self.scratch = scratch
        self.count = 0
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: whatever the guide starts stays in it
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next_line(self, deadline, what):
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("timed out waiting for %s" % what) from None
        if line is None:
            raise AssertionError("the shell exited while waiting for %s" % what)
        return line

    def run(self, command):
        """Run one command; return (exit status, output lines)."""
        self.count += 1
        script = self.scratch / ("command-%02d.sh" % self.count)
        script.write_text(command.text + "\n", encoding="utf-8")
        marker = "__guide_command_%s_done__" % uuid.uuid4().hex
        # `source` runs it in this shell (exports, functions, jobs stay); stdin is not the test's.
        self.proc.stdin.write("source %s </dev/null\nprintf '\\n%s %%s\\n' $?\n" % (shlex.quote(str(script)), marker))
        self.proc.stdin.flush()
        output, deadline = [], time.monotonic() + COMMAND_TIMEOUT
        while True:
            line = self._next_line(deadline, "`%s` to finish" % command.text)
            if line.startswith(marker):
                status = int(line.split()[1])
                break
            output.append(line)
        if output and output[-1] == "":
            output.pop()  # the newline that puts the marker on a line of its own
        if command.background and status == 0:
            deadline = time.monotonic() + BACKGROUND_TIMEOUT
            while not shows(command.shown, output):
                output.append(self._next_line(deadline, "`%s` to print %s" % (command.text, command.shown)))
        return status, output

    def finish(self):
        """End the shell; return what the guide left running (and stop it)."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _process_group_members(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _process_group_members(self.proc.pid)
        self.kill()
        return left

    def kill(self):
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 10
            while _process_group_members(self.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)


@dataclass
class Account:
    """What stands in for a reader's remote.it account and devices."""

    api_url: str
    key_id: str
    secret: str
    ssh_vars_file: Path
    credentials_in_env: bool = False  # as a CI job's masked variables provide them


@dataclass
class Transcript:
    commands: list = field(default_factory=list)  # (block, command, output lines)

    def output_of(self, prefix, occurrence=0):
        found = [output for _block, command, output in self.commands if command.text.startswith(prefix)]
        return found[occurrence]


def make_clone(dest):
    """What `git clone` gives: the tracked and not ignored files of this working tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture
def workspace():
    """A short path (ssh's ControlPath under HOME must fit a unix socket name): clone, home, tmp."""
    root = Path(tempfile.mkdtemp(prefix="guide-"))
    for name in ("home", "tmp", "scratch"):
        (root / name).mkdir()
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def readers_env(workspace, installed=True):
    env = {name: value for name, value in os.environ.items() if not name.startswith(NOT_A_READERS_ENV)}
    env.update(
        HOME=str(workspace / "home"),
        TMPDIR=str(workspace / "tmp"),
        PATH=os.pathsep.join([str(BIN_DIR), env.get("PATH", "")]),  # the venv, activated
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        ANSIBLE_NOCOLOR="1",
    )
    if installed:  # the collection as `ansible-galaxy collection install` would put it
        env["ANSIBLE_COLLECTIONS_PATH"] = str(ensure_collection_link())
    return env


def run_guide(guide, cwd, env, scratch, account=None):
    """Run every command of `guide` in order (writing its named YAML files); return the transcript."""
    if account is not None:
        env = dict(env, REMOTEIT_API_URL=account.api_url)
        if account.credentials_in_env:
            env.update(R3_ACCESS_KEY_ID=account.key_id, R3_SECRET_ACCESS_KEY=account.secret)

    def substitute(text):
        if account is None:
            return text
        return text.replace(PLACEHOLDER_KEY_ID, account.key_id).replace(PLACEHOLDER_SECRET, account.secret)

    transcript = Transcript()
    shell = Shell(cwd, env, scratch)
    try:
        for block in read_blocks(REPO_ROOT / guide):
            if block.not_run is not None:
                continue
            if block.file_name:
                path = cwd / block.file_name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(substitute(block.text) + "\n", encoding="utf-8")
            elif block.language == "console":
                for command in block.commands():
                    shown = command.shown
                    text = substitute(command.text)
                    if account is not None and text.startswith("ansible-playbook "):
                        text += " -e @%s" % shlex.quote(str(account.ssh_vars_file))
                    status, output = shell.run(Command(text, shown))
                    transcript.commands.append((block, command, output))
                    where = "%s: `%s`" % (block.where, command.text)
                    assert status == 0, "%s exited %d; it printed:\n%s" % (where, status, "\n".join(output))
                    assert shows(shown, output), "%s does not print what the guide shows:\n%s\n--- it printed ---\n%s" % (
                        where, "\n".join(shown), "\n".join(output))
    except BaseException:
        shell.kill()
        raise
    left = shell.finish()
    assert left == [], "%s left these running: %s" % (guide, left)
    return transcript


@pytest.fixture
def account(sandbox, device, workspace):
    ssh_vars = workspace / "scratch" / "device-ssh.json"
    ssh_vars.write_text(json.dumps(device.ansible_ssh_args()))
    key_id, secret = sandbox.credentials
    return Account(sandbox.url, key_id, secret, ssh_vars)


def recorded_connections(home):
    path = home / ".remoteit" / "ansible-connections.json"
    return read_records(path) if path.exists() else []


# ---- the guides, checked without running anything -------------------------------------------------

def test_every_command_block_is_run_or_marked():
    not_run, unrun = {}, []
    for path in GUIDES:
        guide = str(path.relative_to(REPO_ROOT))
        for block in read_blocks(path):
            assert block.language not in ("sh", "shell", "bash"), (
                "%s: commands go in `console` blocks with `$ ` prompts, so that the tests run them" % block.where)
            if block.language != "console":
                continue
            assert block.commands(), "%s: a console block without a `$ ` command" % block.where
            if block.not_run is not None:
                assert block.not_run, "%s: not-run needs a reason" % block.where
                not_run[guide] = not_run.get(guide, 0) + 1
            elif guide not in RUN_BY_TESTS:
                unrun.append(block.where)
    assert unrun == [], "console blocks that no test runs (run them, or mark them not-run): %s" % unrun
    assert not_run == NOT_RUN


def test_yaml_and_python_examples_parse():
    for path in GUIDES:
        for block in read_blocks(path):
            if block.language == "yaml":
                assert yaml.safe_load(block.text) is not None, block.where
            elif block.language == "python":
                compile(block.text, block.where, "exec")


def test_shown_output_matches_by_shape():
    assert shows(["PLAY RECAP ***", "h : ok=4 changed=3"], ["x", "PLAY RECAP ***", "h    : ok=4    changed=3"])
    assert not shows(["h : ok=4 changed=3 failed=0"], ["h : ok=4 changed=3 failed=1"])
    assert shows(['{"port": 40222, ...}'], ['{"port": 5123, "pid": 9}'])
    assert shows(["community.remoteit:0.1.0 was installed"], ["community.remoteit:1.12.0 was installed"])
    assert not shows(["ok=4 changed=3"], ["ok=4 changed=33"])


# ---- the guides, run ------------------------------------------------------------------------------

def test_guide_sandbox(workspace):
    """A device and the sandbox from the command line, a playbook through them (also --check),
    inspection, faults, and everything stopped again."""
    clone = make_clone(workspace / "clone")
    transcript = run_guide("docs/docsite/rst/guide_sandbox.rst", clone, readers_env(workspace), workspace / "scratch")

    device = json.loads((clone / "device.json").read_text())
    assert device["port"] > 0 and not (clone / "device").exists(), "the device removes its directory"
    assert not os.path.exists("/proc/%d" % device["sshd_pid"]), "sshd stops with the device"
    assert (clone / "shop-pi-01.motd").read_text() == "Configured by Ansible through remote.it\n"
    check_run = transcript.output_of("ansible-playbook -i inventory.yml site.yml --check")
    assert any("changed: [shop-pi-01]" in line for line in check_run)
    assert read_records(clone / "sandbox-connections.json") == []


def test_guide_getting_started(workspace, account, sandbox):
    cwd = workspace / "clone"
    cwd.mkdir()
    sandbox.clear_requests()
    transcript = run_guide("docs/docsite/rst/guide_getting_started.rst", cwd, readers_env(workspace),
                           workspace / "scratch", account=account)

    assert sandbox.proxies() == []
    assert recorded_connections(workspace / "home") == []
    check_run = "\n".join(transcript.output_of("ansible-playbook -i inventory.yml site.yml --check"))
    assert "pi-kitchen" in check_run and "'dict object' has no attribute" not in check_run
    mutations = [entry["fields"][0] for entry in sandbox.requests() if entry["operation"] == "mutation"]
    # Two runs over two devices, the check run included: each opened and closed a proxy.
    assert sorted(mutations) == ["connect"] * 4 + ["disconnect"] * 4


def test_guide_pipelines(workspace, account, sandbox):
    cwd = workspace / "clone"
    cwd.mkdir()
    account.credentials_in_env = True
    run_guide("docs/docsite/rst/guide_pipelines.rst", cwd, readers_env(workspace), workspace / "scratch",
              account=account)
    assert sandbox.proxies() == []
    assert recorded_connections(workspace / "home") == []


def test_guide_reaching_devices(workspace, account, sandbox):
    cwd = workspace / "clone"
    cwd.mkdir()
    sandbox.clear_requests()
    account.credentials_in_env = True
    run_guide("docs/docsite/rst/guide_reaching_devices.rst", cwd, readers_env(workspace), workspace / "scratch",
              account=account)
    assert sandbox.proxies() == []
    assert recorded_connections(workspace / "home") == []
    mutations = [entry["fields"][0] for entry in sandbox.requests() if entry["operation"] == "mutation"]
    # The plugin opens 4 (the second run reuses them, close.yml closes them), 4 again in the run that the close_opened
    # callback closes as it ends, the eager web inventory 1, the module 2; all closed.
    assert sorted(mutations) == ["connect"] * 11 + ["disconnect"] * 11


def test_guide_tags(workspace, device):
    """An inventory by tag, a play that tags what it configured, a CI job that configures only the untagged devices.
    On a sandbox of its own: the guide tags devices, which the session's sandbox must not keep for other tests."""
    from remoteit_sandbox import Sandbox

    cwd = workspace / "clone"
    cwd.mkdir()
    ssh_vars = workspace / "scratch" / "device-ssh.json"
    ssh_vars.write_text(json.dumps(device.ansible_ssh_args()))
    with Sandbox(world=str(DEMO_WORLD), env={"DEVICE_SSH_PORT": str(device.port)}) as sandbox:
        key_id, secret = sandbox.credentials
        account = Account(sandbox.url, key_id, secret, ssh_vars, credentials_in_env=True)
        run_guide("docs/docsite/rst/guide_tags.rst", cwd, readers_env(workspace), workspace / "scratch",
                  account=account)
        assert sandbox.proxies() == []
        mutations = [entry["fields"][0] for entry in sandbox.requests() if entry["operation"] == "mutation"]
    assert recorded_connections(workspace / "home") == []
    # site.yml tags pi-kitchen (defining the tag first), the CI job the three others, its second run none; the
    # close_opened callback closes each proxy that a run opened.
    assert sorted(set(mutations)) == ["addTag", "connect", "disconnect", "setTag"], mutations
    assert mutations.count("addTag") == 4 and mutations.count("connect") == mutations.count("disconnect") == 4


def test_readme(workspace, account, sandbox):
    """`make demo`, installing from a clone into HOME, credentials, the first playbook (also --check)."""
    clone = make_clone(workspace / "clone")
    # `make demo` uses the clone's .venv: the tests lend it the one they run in (`make integration-<core>`
    # brought it up to date) rather than have make install one from PyPI.
    (clone / ".venv").symlink_to(BIN_DIR.parent)
    transcript = run_guide("README.md", clone, readers_env(workspace, installed=False), workspace / "scratch",
                           account=account)

    demo = " ".join(" ".join(transcript.output_of("make demo")).split())
    assert re.search(r"Removed \S*/remoteit-demo-\w+", demo), demo
    assert list((workspace / "tmp").iterdir()) == [], "the demo leaves nothing in TMPDIR"
    installed = workspace / "home" / ".ansible" / "collections" / "ansible_collections" / "community" / "remoteit"
    assert (installed / "MANIFEST.json").is_file()
    assert sandbox.proxies() == []
    assert recorded_connections(workspace / "home") == []


def test_sandbox_readme(workspace):
    clone = make_clone(workspace / "clone")
    run_guide("tests/sandbox/README.md", clone, readers_env(workspace, installed=False), workspace / "scratch")


# ---- `make demo` leaves nothing behind ------------------------------------------------------------

def run_demo(workspace, env):
    return subprocess.run([sys.executable, str(REPO_ROOT / "demo" / "run.py")], env=env, cwd=workspace / "scratch",
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def test_demo_says_where_its_files_are_and_removes_them(workspace):
    result = run_demo(workspace, readers_env(workspace))

    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    workdir = re.search(r"go to (\S+), which is removed when the demo ends", said).group(1)
    assert workdir.startswith(str(workspace / "tmp" / "remoteit-demo-"))
    assert "Removed %s;" % workdir in said
    assert list((workspace / "tmp").iterdir()) == []


def test_a_failed_demo_removes_its_files_too(workspace):
    env = dict(readers_env(workspace), ANSIBLE_COLLECTIONS_PATH=str(workspace / "scratch"))  # no collection

    result = run_demo(workspace, env)

    assert result.returncode != 0
    assert "The playbook failed" in result.stdout
    assert list((workspace / "tmp").iterdir()) == []


# ---- secrets: not in a task ------------------------------------------------------------------------

GETTING_STARTED = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_getting_started.rst"


def _block_starting(path, start):
    return next(block.text for block in read_blocks(path) if block.text.startswith(start))


REACHING_DEVICES = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_reaching_devices.rst"
SHARED_PLAYS = {
    "open.yml": "community.remoteit.remoteit_connection: {device: '{{ inventory_hostname }}', service: ssh}",
    "use.yml": "ansible.builtin.ping:",
    "close.yml": "community.remoteit.remoteit_connection: {device: '{{ inventory_hostname }}', service: ssh, "
                 "state: absent}",
}


def test_the_guides_lookup_variables_are_safe_in_the_plays_that_open_use_and_close_the_proxies(workspace, sandbox,
                                                                                               device):
    """The reaching-devices guide's group_vars, shared by an open, a use and a close job of one inventory: every
    job passes, the use job goes through the proxy with the host key checked under the plugin's alias."""
    cwd = workspace / "clone"
    (cwd / "group_vars").mkdir(parents=True)
    (cwd / "group_vars" / "raspberry_pis.yml").write_text(
        _block_starting(REACHING_DEVICES, "# In group_vars/raspberry_pis.yml"))
    ssh = device.ansible_ssh_args()
    host = {name: ssh[name] for name in ("ansible_user", "ansible_ssh_private_key_file", "ansible_python_interpreter")}
    (cwd / "inventory.yml").write_text(json.dumps({"raspberry_pis": {"hosts": {"pi-kitchen": host}}}))
    key_id, secret = sandbox.credentials
    env = dict(readers_env(workspace), REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id,
               R3_SECRET_ACCESS_KEY=secret, ANSIBLE_HOST_KEY_CHECKING="True")
    known_hosts = workspace / "scratch" / "known_hosts"
    outputs = []
    for name, task in SHARED_PLAYS.items():  # in this order: open, use, close
        (cwd / name).write_text("- name: %s\n  hosts: raspberry_pis\n  gather_facts: false\n  tasks:\n"
                                "    - name: The job's task\n      %s\n" % (name, task))
        result = subprocess.run([str(BIN_DIR / "ansible-playbook"), "-i", "inventory.yml", name, "--ssh-extra-args",
                                 "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new" % known_hosts],
                                env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT, check=False)
        assert result.returncode == 0, "%s: exit %d\n%s%s" % (name, result.returncode, result.stdout, result.stderr)
        outputs.append(result.stdout)

    assert sandbox.proxies() == [] and recorded_connections(workspace / "home") == []
    assert "ok: [pi-kitchen]" in outputs[1]
    # pi-kitchen's ssh service in the demo world: the use job checked the device's key under the plugin's alias.
    assert subprocess.run(["ssh-keygen", "-F", "remoteit-80-00-00-00-01-00-01-01", "-f", str(known_hosts)],
                          capture_output=True, check=False).returncode == 0, "the key is not kept under the alias"


def test_the_docs_say_to_keep_the_secret_out_of_tasks():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    credentials = readme[readme.index("## Credentials"):readme.index("## A first playbook")]
    guide = GETTING_STARTED.read_text(encoding="utf-8")
    for text in (credentials, " ".join(guide.split())):
        assert re.search(r"ansible-core (itself )?prints the lines of the\s+playbook", text)
        assert "export R3_SECRET_ACCESS_KEY=YOUR_BASE64_SECRET" in text
        assert "ansible-vault encrypt" in text


def test_a_secret_in_a_task_shows_in_an_error_the_documented_ways_do_not(workspace, sandbox):
    """What the docs warn about, and that their advice (environment, Ansible Vault) avoids it."""
    key_id, secret = sandbox.credentials
    cwd = workspace / "clone"
    (cwd / "group_vars" / "all").mkdir(parents=True)
    env = dict(readers_env(workspace), REMOTEIT_API_URL=sandbox.url)
    password_file = workspace / "scratch" / "vault-password"
    password_file.write_text("correct horse battery staple\n")
    # The getting started guide's variables file, encrypted, and its module_defaults.
    variables = cwd / _block_starting(GETTING_STARTED, "# group_vars/all/remoteit.yml").split(",")[0][2:]
    variables.write_text(_block_starting(GETTING_STARTED, "# group_vars/all/remoteit.yml")
                         .replace(PLACEHOLDER_KEY_ID, key_id).replace(PLACEHOLDER_SECRET, secret))
    encrypt = subprocess.run([str(BIN_DIR / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file),
                              str(variables)], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    assert encrypt.returncode == 0, encrypt.stderr
    assert secret not in variables.read_text()
    module_defaults = textwrap.indent(_block_starting(GETTING_STARTED, "module_defaults:"), "  ")

    def play(play_keywords, options, name, play_env):
        """A play whose task has `options` on the lines right before `name`."""
        playbook = cwd / "play.yml"
        playbook.write_text(textwrap.dedent("""\
            - name: List my devices
              hosts: localhost
              gather_facts: false
            %s
              tasks:
                - name: List the device
                  community.remoteit.remoteit_device_info:
            %s
                    name: %s
            """) % (play_keywords, textwrap.indent(options, " " * 8), name))
        return subprocess.run([str(BIN_DIR / "ansible-playbook"), str(playbook), "--vault-password-file",
                               str(password_file)], env=play_env, cwd=cwd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)

    ways = {  # play keywords, task options, environment
        "inline": ("", "access_key_id: %s\nsecret_access_key: %s" % (key_id, secret), env),
        "environment": ("", "", dict(env, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret)),
        "vault": (module_defaults, "", env),
    }
    mistakes = {"no mistake": "pi-kitchen", "missing quotes": "{{ device_name }}", "undefined": '"{{ device_nmae }}"'}
    leaks, failures = [], []
    for way, (keywords, options, play_env) in ways.items():
        for mistake, name in mistakes.items():
            if way == "inline" and mistake != "missing quotes":
                continue  # ansible-core 2.16 shows no source for an undefined variable
            result = play(keywords, options, name, play_env)
            if (result.returncode == 0) != (mistake == "no mistake"):
                failures.append("%s, %s: exit %d\n%s%s" % (way, mistake, result.returncode, result.stdout,
                                                           result.stderr))
            if secret in result.stdout + result.stderr:
                leaks.append("%s, %s" % (way, mistake))

    assert failures == []
    assert leaks == ["inline, missing quotes"]
