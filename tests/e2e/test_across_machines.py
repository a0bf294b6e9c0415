"""Pipelines across machines: every job on a machine of its own, with an empty home and no shared disk.

AWX runs each job of a workflow with ansible-runner, in a private data directory of its own, in a fresh
container; GitHub Actions and GitLab CI give each job a fresh runner. Here every job gets a directory of its
own with its own HOME (so its own default connections file), and only what the real systems carry from job
to job passes on: the set_stats artifact (read from the runner's playbook_on_stats event, as AWX does) as
the next jobs' extra vars, the jsonfile fact cache, or a CI artifact.

The playbooks, inventories and CI pipelines are those the guides show (guide_awx.rst, guide_pipelines.rst),
read from them, so the guides cannot drift from what is tested. SSH checks host keys strictly, against a
known_hosts file that the project holds as the AWX guide says.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import BIN_DIR, REPO_ROOT, ensure_collection_link
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from test_guides import read_blocks
from utils.connections import read_records

GUIDE_AWX = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_awx.rst"
GUIDE_PIPELINES = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_pipelines.rst"
CREDENTIAL_TYPE = REPO_ROOT / "extensions" / "awx" / "credential_type.yml"
CLOSE_BY_ID = REPO_ROOT / "tests" / "e2e" / "playbooks" / "connection_plugin_close_recorded.yml"
# The devices of the guides, in the demo world; both ssh services reach the session's sshd.
SSH_SERVICES = {"pi-kitchen": "80:00:00:00:01:00:01:01", "pi-garage": "80:00:00:00:01:00:02:01"}
# Set by the developer's shell or the Makefile: a fresh machine has none of it.
NOT_A_MACHINES_ENV = ("R3_", "REMOTEIT_", "ANSIBLE_", "MAKE", "MFLAGS", "PYTEST", "PYTHONPATH", "VIRTUAL_ENV")
# What a CI job's setup installs; the test's virtualenv stands in for it.
INSTALL = re.compile(r"pip install ansible-core requests|ansible-galaxy collection install community\.remoteit")
JOB_TIMEOUT = 300
# An ed25519 host key that is not the device's.
OTHER_HOST_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIISGjrF6euy6bmCNZN5ItfxsJdoai+EOTn1Xd+0YXZBA"
MISSING = "no live remote.it connection is recorded for '%s/ssh'"


def guide_files(guide):
    """The guide's `# file` YAML blocks as {name: text}; of blocks with one name the last wins, as when a
    reader saves them in order."""
    return {block.file_name: block.text + "\n" for block in read_blocks(guide) if block.file_name}


def guide_blocks(guide, name):
    """Every YAML block of the guide saved as `name`, in order."""
    return [yaml.safe_load(block.text) for block in read_blocks(guide) if block.file_name == name]


def mutations(sandbox):
    return sorted(entry["fields"][0] for entry in sandbox.requests() if entry["operation"] == "mutation")


def live_ids(sandbox):
    return sorted(proxy["id"] for proxy in sandbox.proxies())


def record_ids(records):
    return sorted(record["id"] for record in records)


def fresh_env(home):
    """The environment of a fresh machine with ansible-core, ansible-runner and the collection installed."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(NOT_A_MACHINES_ENV)}
    env.update(HOME=str(home), PATH=os.pathsep.join([str(BIN_DIR), env.get("PATH", "")]),
               ANSIBLE_COLLECTIONS_PATH=str(ensure_collection_link()), ANSIBLE_NOCOLOR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def credential_env(sandbox):
    """What the credential type's injectors give a job for the sandbox account's key (as AWX renders them)."""
    credential_type = yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))
    key_id, secret = sandbox.credentials
    inputs = {"access_key_id": key_id, "secret_access_key": secret, "api_url": sandbox.url}
    templates = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    return {name: templates.from_string(template).render(**inputs)
            for name, template in credential_type["injectors"]["env"].items()}


def recorded(home):
    path = Path(home) / ".remoteit" / "ansible-connections.json"
    return read_records(path) if path.exists() else []


class RunnerJob:
    """One finished AWX job: ansible-runner's command, exit status, output and events."""

    def __init__(self, command, completed, pdd, ident):
        self.command = command
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.home = pdd / "home"
        self.artifact_dir = pdd / "artifacts" / ident
        self.events = [json.loads(path.read_text()) for path in sorted((self.artifact_dir / "job_events").glob("*.json"))]

    @property
    def artifact(self):
        """The set_stats data, where AWX reads it: the playbook_on_stats event's artifact_data."""
        stats = [event for event in self.events if event.get("event") == "playbook_on_stats"]
        assert len(stats) == 1, "no playbook_on_stats event:\n%s" % self
        return stats[0]["event_data"]["artifact_data"]

    def ok(self, task):
        """The hosts on which `task` succeeded."""
        return sorted(event["event_data"]["host"] for event in self.events
                      if event.get("event") == "runner_on_ok" and event["event_data"].get("task") == task)

    def changed(self):
        """The hosts on which a task changed something."""
        return sorted({event["event_data"]["host"] for event in self.events
                       if event.get("event") == "runner_on_ok" and event["event_data"]["res"].get("changed")})

    def __str__(self):
        return "$ %s\nrc=%s\n%s" % (self.command, self.rc, self.output)


class Machines:
    """The machines of one test: each job runs in a directory of its own with its own HOME."""

    def __init__(self, sandbox, device, root):
        self.sandbox = sandbox
        self.device = device
        self.root = root
        self.count = 0

    def known_hosts(self):
        """The devices' host keys under the connection plugin's aliases, as a project keeps them."""
        return "".join("remoteit-%s %s\n" % (service.replace(":", "-").lower(), self.device.host_public_key)
                       for service in SSH_SERVICES.values())

    def awx_job(self, playbook, inventory="inventory.yml", extravars=None, facts_from=None, home=None,
                known_hosts=None, node="127.0.0.1"):
        """Run `playbook` as an AWX job: the guide's project checked out, the credentials injected, the
        Machine credential's user and key on the command line; extravars as a workflow passes artifacts,
        facts_from: the job whose fact cache AWX's fact storage carries here; home: a machine used before;
        known_hosts: the project's, if not the devices' keys; node: the address its SSH connections come from, as
        AWX's execution nodes have addresses of their own."""
        self.count += 1
        ident = "job%d" % self.count
        pdd = self.root / ident
        project = pdd / "project"
        project.mkdir(parents=True)
        for name, text in guide_files(GUIDE_AWX).items():
            (project / name).write_text(text, encoding="utf-8")
        (project / "known_hosts").write_text(self.known_hosts() if known_hosts is None else known_hosts)
        (pdd / "env").mkdir()
        (pdd / "env" / "envvars").write_text(json.dumps(credential_env(self.sandbox)))
        (pdd / "env" / "cmdline").write_text("-u %s --private-key %s -e ansible_python_interpreter=%s "
                                             "--ssh-extra-args='-o BindAddress=%s'" % (
                                                 self.device.user, self.device.private_key,
                                                 self.device.python_interpreter, node))
        if extravars is not None:
            (pdd / "env" / "extravars").write_text(json.dumps(extravars))
        if facts_from is not None:
            shutil.copytree(facts_from.artifact_dir / "fact_cache", pdd / "artifacts" / ident / "fact_cache")
        if home is None:
            (pdd / "home").mkdir()
        else:
            (pdd / "home").symlink_to(home)
        command = ["ansible-runner", "run", str(pdd), "--ident", ident, "-p", playbook,
                   "--inventory", str(project / inventory)]
        completed = subprocess.run(command, env=fresh_env(pdd / "home"), cwd=self.root, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=JOB_TIMEOUT, check=False)
        shown = "HOME=%s/home %s" % (pdd, " ".join(command))
        return RunnerJob(shown.replace(str(self.root), "$JOBS"), completed, pdd, ident)


@pytest.fixture
def machines(clean_sandbox, device, run_playbook):
    """Starts with no live proxy. The teardown closes, by id through the module, what a failed test left open,
    then fails it if anything was left: each test closes what it opened."""
    assert clean_sandbox.proxies() == [], "an earlier test left proxies open"
    root = Path(tempfile.mkdtemp(prefix="rit-am-"))  # short: ssh's control sockets live under each HOME
    try:
        yield Machines(clean_sandbox, device, root)
        left = live_ids(clean_sandbox)
        if left:
            run_playbook(CLOSE_BY_ID, extra_vars={"connection_ids": left})
        assert left == [], "the test left proxies open"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def assert_complete(records):
    """One complete record per device, for the live proxies."""
    assert sorted(record["device_name"] for record in records) == sorted(SSH_SERVICES)
    for record in records:
        assert record["service_id"] == SSH_SERVICES[record["device_name"]]
        assert record["api_url"] and record["session_id"] and record["host"] and record["port"], record


# -- AWX: three jobs through ansible-runner ----------------------------------------------------------------------

def workflow_artifacts(*jobs):
    """What an AWX workflow gives the next job: every earlier job's artifacts, the later one's winning per name."""
    merged = {}
    for job in jobs:
        merged.update(job.artifact)
    return merged


@pytest.mark.parametrize("open_playbook", ["open.yml", "open-set-stats.yml"])
def test_guide_awx_workflow_hands_the_proxies_from_job_to_job(machines, open_playbook):
    """publish: true and the SPEC's set_stats give the same artifact; jobs 2 and 3 open nothing."""
    sandbox = machines.sandbox
    opened = machines.awx_job(open_playbook, node="127.0.0.1")
    assert opened.rc == 0, str(opened)
    assert set(opened.artifact) == {"remoteit_connections"}
    records = opened.artifact["remoteit_connections"]
    assert_complete(records)
    assert record_ids(records) == live_ids(sandbox)

    for inventory in ("inventory.yml", "inventory-lookup.yml"):
        sandbox.clear_requests()
        configured = machines.awx_job("configure.yml", inventory=inventory, extravars=opened.artifact,
                                      node="127.0.0.2")
        assert configured.rc == 0, str(configured)
        assert configured.ok("Check that the device answers over SSH") == sorted(SSH_SERVICES), str(configured)
        assert mutations(sandbox) == [], "job 2 (%s) opened or closed proxies:\n%s" % (inventory, configured)
        assert record_ids(recorded(configured.home)) == record_ids(records), "confirmed records are kept here"
        handed_on = configured.artifact["remoteit_connections"]
        assert set(record_ids(handed_on)) == set(record_ids(records)), "it hands them on"
    # Opening connects to nothing: the proxies belong to the node of the first job that uses them.
    assert {proxy["latched_ip"] for proxy in sandbox.proxies()} == {"127.0.0.2"}

    sandbox.clear_requests()
    closed = machines.awx_job("close.yml", extravars=workflow_artifacts(opened, configured), node="127.0.0.3")
    assert closed.rc == 0, str(closed)
    assert closed.changed() == sorted(SSH_SERVICES)
    assert mutations(sandbox) == ["disconnect", "disconnect"]
    assert sandbox.proxies() == []


def test_guide_awx_workflow_with_fact_storage_hands_the_proxies_on_as_host_facts(machines):
    sandbox = machines.sandbox
    opened = machines.awx_job("open-facts.yml")
    assert opened.rc == 0, str(opened)
    # One file per host (its name and format depend on the ansible-core version), as AWX stores them.
    cached = sorted(path.name for path in (opened.artifact_dir / "fact_cache").iterdir())
    assert [name for name in cached if name.endswith(tuple(SSH_SERVICES))] == cached and len(cached) == 2, cached

    for inventory in ("inventory.yml", "inventory-lookup.yml"):
        sandbox.clear_requests()
        configured = machines.awx_job("configure.yml", inventory=inventory, facts_from=opened)
        assert configured.rc == 0, str(configured)
        assert configured.ok("Check that the device answers over SSH") == sorted(SSH_SERVICES), str(configured)
        assert mutations(sandbox) == [], "job 2 (%s) opened or closed proxies:\n%s" % (inventory, configured)

    closed = machines.awx_job("close.yml", facts_from=opened)
    assert closed.rc == 0, str(closed)
    assert sandbox.proxies() == []


def test_guide_awx_jobs_given_stale_records_open_new_proxies_or_say_what_to_run(machines):
    """Records of proxies remote.it closed: the module and the plugin open new ones, the lookup fails naming
    the module, closing has nothing to do; nothing uses a stale record."""
    sandbox = machines.sandbox
    opened = machines.awx_job("open.yml")
    assert opened.rc == 0, str(opened)
    stale = opened.artifact
    for connection_id in live_ids(sandbox):
        sandbox.registry.close(connection_id)  # closed on remote.it's side: idle, expired, or by someone else

    sandbox.clear_requests()
    lookup = machines.awx_job("configure.yml", inventory="inventory-lookup.yml", extravars=stale)
    assert lookup.rc != 0
    for host in SSH_SERVICES:
        assert MISSING % host in lookup.output, str(lookup)
    assert "community.remoteit.remoteit_connection module (state: present)" in lookup.output
    assert "Traceback" not in lookup.output
    assert mutations(sandbox) == []

    sandbox.clear_requests()
    plugin = machines.awx_job("configure.yml", extravars=stale)
    assert plugin.rc == 0, str(plugin)
    assert mutations(sandbox) == ["connect", "connect"]
    replaced = record_ids(recorded(plugin.home))
    assert replaced == live_ids(sandbox) and not set(replaced) & set(record_ids(stale["remoteit_connections"]))

    handed_on = set(record_ids(plugin.artifact["remoteit_connections"]))
    assert handed_on == set(replaced) | set(record_ids(stale["remoteit_connections"])), \
        "it hands on the proxies it opened, and the records it was given"

    sandbox.clear_requests()
    closed = machines.awx_job("close.yml", extravars=workflow_artifacts(opened, plugin))
    assert closed.rc == 0, str(closed)
    assert closed.changed() == sorted(SSH_SERVICES), str(closed)
    disconnected = sorted(entry["variables"]["connectionId"] for entry in sandbox.requests()
                          if entry["operation"] == "mutation")
    assert disconnected == replaced, "it closed what it was not handed"
    assert sandbox.proxies() == []

    sandbox.clear_requests()
    closed = machines.awx_job("close.yml", extravars=stale)
    assert closed.rc == 0, str(closed)
    assert not closed.changed(), "records of proxies that are gone: nothing to close\n%s" % closed

    sandbox.clear_requests()
    reopened = machines.awx_job("open.yml", extravars=stale)
    assert reopened.rc == 0, str(reopened)
    assert mutations(sandbox) == ["connect", "connect"]
    fresh = reopened.artifact["remoteit_connections"]
    assert_complete(fresh)
    assert record_ids(fresh) == live_ids(sandbox)
    assert machines.awx_job("close.yml", extravars=reopened.artifact).rc == 0
    assert sandbox.proxies() == []


def test_guide_awx_jobs_check_host_keys_although_ansible_runner_turns_that_off(machines):
    """ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False; the guide's inventories turn it on again."""
    opened = machines.awx_job("open.yml")
    assert opened.rc == 0, str(opened)
    other_key = machines.known_hosts().replace(machines.device.host_public_key.split()[1], OTHER_HOST_KEY)
    for inventory in ("inventory.yml", "inventory-lookup.yml"):
        refused = machines.awx_job("configure.yml", inventory=inventory, extravars=opened.artifact,
                                   known_hosts=other_key)
        assert refused.rc != 0
        assert "Host key verification failed" in refused.output, str(refused)
    assert machines.awx_job("close.yml", extravars=opened.artifact).rc == 0
    assert machines.sandbox.proxies() == []


def test_guide_awx_shows_the_credential_type_and_the_ee_that_ship():
    """The guide's credential type and execution environment are the files the collection ships and tests."""
    shipped = yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))
    shown = [yaml.safe_load(block.text) for block in read_blocks(GUIDE_AWX)
             if block.language == "yaml" and not block.file_name]
    assert shown == [shipped["inputs"], shipped["injectors"]]
    ee = yaml.safe_load((REPO_ROOT / "tests" / "ee" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert guide_blocks(GUIDE_AWX, "execution-environment.yml") == [ee]


# -- CI runners: the guide's GitHub Actions and GitLab CI pipelines ----------------------------------------------

class Pipeline:
    """Runs the jobs of a CI pipeline as its CI system does: each in a fresh workspace (a checkout of the guide's
    files) with a fresh HOME, passing on only the artifacts; the setup steps that install software are checked,
    not run (the test's virtualenv has ansible-core and the collection)."""

    def __init__(self, machines, name):
        self.machines = machines
        self.root = machines.root / name
        self.artifacts = {}
        self.jobs = {}
        # The device's login, and strict host key checking against its key (proxies change ports).
        self.ssh_vars = self.root / "device-ssh.json"
        known_hosts = self.root / "known_hosts"
        self.root.mkdir()
        known_hosts.write_text("[127.0.0.1]:* %s\n" % machines.device.host_public_key)
        self.ssh_vars.write_text(json.dumps({
            "ansible_user": machines.device.user,
            "ansible_ssh_private_key_file": machines.device.private_key,
            "ansible_python_interpreter": machines.device.python_interpreter,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % known_hosts,
        }))

    def run_job(self, name, steps, env, umask=0o022):
        """steps: ("checkout",), ("install", command), ("run", command), ("upload", artifact, path), ("download",
        artifact). A failed step fails the test. `umask` is the runner's: GitLab's Docker executor uses 0000, so its
        workspace and the files it checks out and downloads are writable by all."""
        workspace, home = self.root / name / "workspace", self.root / name / "home"
        workspace.mkdir(parents=True)
        workspace.chmod(0o777 & ~umask)
        home.mkdir()
        sandbox = self.machines.sandbox
        sandbox.clear_requests()
        env = dict(fresh_env(home), REMOTEIT_API_URL=sandbox.url, **{key: value(workspace) for key, value in env.items()})
        installs, outputs = [], []
        for step in steps:
            if step[0] == "checkout":
                for file_name, text in guide_files(GUIDE_PIPELINES).items():
                    (workspace / file_name).parent.mkdir(parents=True, exist_ok=True)
                    (workspace / file_name).write_text(text, encoding="utf-8")
                    (workspace / file_name).chmod(0o666 & ~umask)
            elif step[0] == "install":
                installs.append(step[1])
            elif step[0] == "download":
                for path, content in self.artifacts[step[1]].items():
                    (workspace / path).write_bytes(content)
                    (workspace / path).chmod(0o666 & ~umask)
            elif step[0] == "upload":
                assert "/" not in step[2], "a file at the workspace's root comes back where it was"
                self.artifacts[step[1]] = {step[2]: (workspace / step[2]).read_bytes()}
            else:
                command = step[1]
                if command.startswith("ansible-playbook "):
                    command += " -e @%s" % self.ssh_vars
                result = subprocess.run(["bash", "-e", "-c", command], env=env, cwd=workspace, stdin=subprocess.DEVNULL,
                                        capture_output=True, text=True, timeout=JOB_TIMEOUT, check=False)
                outputs.append("$ %s\n%s%s" % (step[1], result.stdout, result.stderr))
                assert result.returncode == 0, "job %s failed:\n%s" % (name, "\n".join(outputs))
        assert any("pip install" in line for line in installs) and any("ansible-galaxy" in line for line in installs)
        self.jobs[name] = {"home": home, "workspace": workspace, "mutations": mutations(sandbox)}


def github_steps(steps):
    converted = []
    for step in steps:
        uses, with_ = step.get("uses", ""), step.get("with", {})
        if uses.startswith("actions/checkout@"):
            converted.append(("checkout",))
        elif uses.startswith("actions/upload-artifact@"):
            converted.append(("upload", with_["name"], with_["path"]))
        elif uses.startswith("actions/download-artifact@"):
            converted.append(("download", with_["name"]))
        else:
            assert set(step) == {"run"}, step
            converted.append(("install" if INSTALL.fullmatch(step["run"]) else "run", step["run"]))
    return converted


def run_github_actions(pipeline, workflow, secrets):
    def expression(text):
        """The ${{ }} expressions the guide uses: secrets and the workspace."""
        def value(workspace):
            return re.sub(r"\$\{\{ *(secrets\.(\w+)|github\.workspace) *\}\}",
                          lambda match: secrets[match.group(2)] if match.group(2) else str(workspace), text)
        return value

    env = {name: expression(text) for name, text in workflow.get("env", {}).items()}
    env["GITHUB_WORKSPACE"] = str
    done = []
    for name, job in workflow["jobs"].items():
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(done), "%s runs after what it needs" % name
        pipeline.run_job(name, github_steps(job["steps"]), env)
        done.append(name)
    assert workflow["jobs"][done[-1]].get("if") == "always()", "the last job closes the proxies also after a failure"


def run_gitlab_ci(pipeline, config, secrets):
    stages = [".pre", "build", "test", "deploy", ".post"]
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    before = config.get("default", {}).get("before_script", [])

    def variable(text):
        return lambda workspace: str(text).replace("$CI_PROJECT_DIR", str(workspace))

    env = {name: variable(text) for name, text in config.get("variables", {}).items()}
    env.update({name: variable(value) for name, value in secrets.items()})  # masked CI/CD variables
    env["CI_PROJECT_DIR"] = str
    order = sorted(jobs, key=lambda name: stages.index(jobs[name]["stage"]))
    for name in order:
        job = jobs[name]
        steps = [("checkout",)] + [("download", artifact) for artifact in sorted(pipeline.artifacts)]
        steps += [("install" if INSTALL.fullmatch(line) else "run", line) for line in before + job["script"]]
        steps += [("upload", path, path) for path in job.get("artifacts", {}).get("paths", [])]
        pipeline.run_job(name, steps, env, umask=0o000)
    assert jobs[order[-1]].get("when") == "always", "the last job closes the proxies also after a failure"


@pytest.mark.parametrize("system, variant", [("github", 0), ("github", 1), ("gitlab", 0), ("gitlab", 1)],
                         ids=["github-connections-file", "github-remoteit-connections",
                              "gitlab-connections-file", "gitlab-remoteit-connections"])
def test_guide_pipelines_ci_jobs_on_fresh_runners_hand_the_proxies_on_as_artifacts(machines, system, variant):
    key_id, secret = machines.sandbox.credentials
    secrets = {"R3_ACCESS_KEY_ID": key_id, "R3_SECRET_ACCESS_KEY": secret}
    pipeline = Pipeline(machines, "%s-%d" % (system, variant))
    if system == "github":
        run_github_actions(pipeline, guide_blocks(GUIDE_PIPELINES, ".github/workflows/devices.yml")[variant], secrets)
    else:
        run_gitlab_ci(pipeline, guide_blocks(GUIDE_PIPELINES, ".gitlab-ci.yml")[variant], secrets)

    jobs = pipeline.jobs
    assert list(jobs) == ["open", "configure", "close"]
    assert [jobs[name]["mutations"] for name in jobs] == [["connect", "connect"], [], ["disconnect", "disconnect"]]
    assert machines.sandbox.proxies() == []
    if variant == 0:  # the connections file travelled in the workspace, the homes stayed empty
        assert read_records(jobs["close"]["workspace"] / "remoteit-connections.json") == []
        assert all(recorded(job["home"]) == [] for job in jobs.values())
