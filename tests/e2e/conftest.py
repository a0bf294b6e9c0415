"""Fixtures for the end-to-end tests: a real sshd "device", the local remote.it
sandbox, and helpers that run ansible / ansible-playbook against them."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / "tests"
# `utils` is tests/utils; the sandbox package lives in tests/sandbox/remoteit_sandbox.
for _path in (TESTS_DIR, TESTS_DIR / "sandbox"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from utils.device import SshDevice  # noqa: E402

COLLECTIONS_PATH = REPO_ROOT / ".cache" / "collections"
# The venv's console scripts sit beside its python (do not resolve the symlink).
BIN_DIR = Path(sys.executable).parent
DEMO_WORLD = TESTS_DIR / "sandbox" / "worlds" / "demo.yml"
# Seconds. The lifetime stays above the module's default renew_before (300 s) so
# that `state: present` can reuse a connection; tests of expiry start their own sandbox.
SANDBOX_LIFETIME = 900
SANDBOX_IDLE_TIMEOUT = 300
# Variables from the developer's shell that would change what the tests see.
SCRUBBED_ENV = ("REMOTEIT_PROFILE", "REMOTEIT_ACCOUNT_ID", "REMOTEIT_VALIDATE_CERTS", "ANSIBLE_CONFIG")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "every_core: the representative part, which the cores between the oldest and the newest run as well (`make "
        "integration-<core>`): the module, connection, inventory, callback and event source plugins and the role "
        "driven the everyday ways, and what ansible-core itself handles (templating of untrusted strings, no_log, "
        "ssh's command line, reboot and reset_connection). The rest exercises the collection's own code the same "
        "way on every core: the oldest and the newest run it.",
    )


def ansible_bin(name):
    """Path of an Ansible console script (ansible, ansible-playbook, ...) in this venv."""
    return str(BIN_DIR / name)


def ensure_collection_link():
    """Same as `make collection`, so `pytest tests/e2e` also works on its own."""
    link = COLLECTIONS_PATH / "ansible_collections" / "community" / "remoteit"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():  # dangling
            link.unlink()
        link.symlink_to(REPO_ROOT)
    return COLLECTIONS_PATH


def run_command(cmd, env, check=True, cwd=None, timeout=600):
    """Run cmd, capture output; with check, fail the test showing stdout/stderr."""
    result = subprocess.run(
        [str(part) for part in cmd], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
        check=False,  # checked below, so the failure shows the output
    )
    if check and result.returncode != 0:
        pytest.fail(
            "command failed (rc=%s): %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
            % (result.returncode, " ".join(map(str, cmd)), result.stdout, result.stderr),
            pytrace=False,
        )
    return result


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def device():
    """A real OpenSSH server on 127.0.0.1 playing the managed device."""
    with SshDevice() as dev:
        yield dev


@pytest.fixture(scope="session")
def device_vars(device):
    """Host vars that reach the device directly (without a remote.it proxy)."""
    return dict(device.ansible_ssh_args(), ansible_host=device.host, ansible_port=device.port)


@pytest.fixture(scope="session")
def sandbox(device):
    """The local remote.it API, serving the demo world; its ssh service targets `device`."""
    from remoteit_sandbox import Sandbox

    sb = Sandbox(
        world=str(DEMO_WORLD),
        lifetime=SANDBOX_LIFETIME,
        idle_timeout=SANDBOX_IDLE_TIMEOUT,
        env={"DEVICE_SSH_PORT": str(device.port)},
    )
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def clean_sandbox(sandbox):
    """The session sandbox with an empty request log and no faults."""
    sandbox.clear_requests()
    sandbox.clear_faults()
    yield sandbox
    sandbox.clear_faults()


@pytest.fixture
def control_path_dir():
    """A test's own directory for ssh's ControlMaster sockets. community.remoteit.ssh names a socket after the service
    id, which every pytest-xdist worker's sandbox shares: in the default ~/.ansible/cp, a worker's ssh could join
    another worker's master and run on that worker's device. Short, as a unix socket's path must be."""
    path = tempfile.mkdtemp(prefix="rit-cp-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def base_ansible_env(tmp_path, control_path_dir):
    """Environment for ansible subprocesses that need no sandbox."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    local_temp = tmp_path / "ansible-local"
    local_temp.mkdir()
    env.update(
        ANSIBLE_SSH_CONTROL_PATH_DIR=control_path_dir,
        ANSIBLE_COLLECTIONS_PATH=str(ensure_collection_link()),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_LOCAL_TEMP=str(local_temp),
        ANSIBLE_REMOTE_TEMP="/tmp/.ansible-remote",
        # The controller python is the venv's; keep the venv's scripts first on PATH.
        PATH=os.pathsep.join([str(BIN_DIR), env.get("PATH", "")]),
    )
    return env


@pytest.fixture
def ansible_env(base_ansible_env, sandbox, tmp_path):
    """Environment for ansible subprocesses talking to the sandbox, with a fresh
    connections file and no credentials file (credentials come from the env)."""
    key_id, secret = sandbox.credentials
    env = dict(base_ansible_env)
    env.update(
        R3_ACCESS_KEY_ID=key_id,
        R3_SECRET_ACCESS_KEY=secret,
        REMOTEIT_API_URL=sandbox.url,
        REMOTEIT_CONNECTIONS_FILE=str(tmp_path / "connections.json"),
        REMOTEIT_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return env


def _write_inventory(inventory, tmp_path):
    """A dict inventory becomes a YAML-plugin file (JSON is valid YAML)."""
    if isinstance(inventory, dict):
        path = tmp_path / "inventory.json"
        path.write_text(json.dumps(inventory))
        return str(path)
    return str(inventory)


@pytest.fixture
def run_ansible(base_ansible_env, tmp_path):
    """run_ansible(pattern, *args, inventory=None, check=True, env=None): ad-hoc `ansible`
    without the sandbox (add ansible_env's variables through `env` when needed)."""

    def run(pattern, *args, inventory=None, check=True, env=None, timeout=600):
        cmd = [ansible_bin("ansible"), pattern]
        if inventory is not None:
            cmd += ["-i", _write_inventory(inventory, tmp_path)]
        cmd += list(args)
        return run_command(cmd, dict(base_ansible_env, **(env or {})), check=check, cwd=tmp_path, timeout=timeout)

    return run


@pytest.fixture
def run_playbook(ansible_env, tmp_path):
    """run_playbook(playbook, *args, check=True, extra_vars=None, inventory=None, env=None)

    Runs the venv's ansible-playbook (cwd = tmp_path) with `ansible_env` (plus `env`
    overrides); returns the CompletedProcess. A relative playbook path is taken
    from the repo root. `inventory` is a path, an inline host list or a dict.
    With check=True a non-zero exit fails the test showing stdout and stderr.
    """

    def run(playbook, *args, check=True, extra_vars=None, inventory=None, env=None, timeout=600):
        cmd = [ansible_bin("ansible-playbook"), REPO_ROOT / playbook]
        if inventory is not None:
            cmd += ["-i", _write_inventory(inventory, tmp_path)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        cmd += list(args)
        return run_command(cmd, dict(ansible_env, **(env or {})), check=check, cwd=tmp_path, timeout=timeout)

    return run
