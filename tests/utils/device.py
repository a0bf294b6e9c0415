"""A real OpenSSH server on loopback that plays "the device" in tests and the demo.

Python API::

    with SshDevice() as device:
        device.port, device.user, device.private_key
        device.ansible_ssh_args()   # inventory vars for Ansible

CLI (for humans)::

    python tests/utils/device.py    # prints one JSON line, runs until SIGTERM/Ctrl-C

Standard library only, so the CLI works without the virtual environment.
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def free_port(host="127.0.0.1"):
    """Return a TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host, port, timeout=0.5):
    """True when ``host:port`` accepts a TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _device_python():
    # The pyenv Python is not on an SSH login's PATH, so name an absolute path.
    if os.path.exists("/usr/bin/python3"):
        return "/usr/bin/python3"
    return os.path.join(sys.base_prefix, "bin", "python3")


def _child_pids(pid):
    """Pids whose parent is ``pid`` (sshd's per-connection children, which call setsid)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                # The field after "(comm)" is the state, then the ppid.
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            children.append(int(entry))
    return children


class SshDevice:
    """An sshd on 127.0.0.1 with its own host key, client key and config."""

    host = "127.0.0.1"

    def __init__(self, port=None, start_timeout=10.0, sshd=SSHD):
        self.requested_port = port
        self.start_timeout = start_timeout
        self.sshd = sshd
        self.port = None
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.python_interpreter = _device_python()
        self.workdir = None
        self.private_key = None
        self.public_key = None
        self.config_file = None
        self.log_file = None
        self.process = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        if self.process is not None:
            return self
        if not os.path.exists(self.sshd):
            raise RuntimeError("%s not found: install openssh-server (make sshd)" % self.sshd)
        self.workdir = tempfile.mkdtemp(prefix="remoteit-device-")
        try:
            self._make_keys()
            if os.geteuid() == 0:
                # sshd refuses to start as root without its privilege separation dir.
                os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            # A free port can be taken between free_port() and sshd's bind: retry then.
            attempts = 1 if self.requested_port else 3
            for _attempt in range(attempts):
                self.port = self.requested_port or free_port(self.host)
                self._write_config()
                # Retry only when sshd exited; a hung one is reported (and stopped) below.
                if self._launch() or self.process is not None:
                    break
            if self.process is None or not port_open(self.host, self.port):
                raise RuntimeError(
                    "sshd did not accept connections on %s:%s within %ss; log tail:\n%s"
                    % (self.host, self.port, self.start_timeout, self.log_tail())
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop sshd (and its open sessions) and remove the temp dir. Safe to call twice."""
        process, self.process = self.process, None
        if process is not None:
            children = _child_pids(process.pid)
            for pid in [process.pid] + children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- information -------------------------------------------------------

    def ansible_ssh_args(self):
        """Inventory variables that let Ansible log in to this device."""
        return {
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": self.private_key,
            "ansible_python_interpreter": self.python_interpreter,
            "ansible_ssh_common_args": SSH_COMMON_ARGS,
        }

    def info(self):
        """Everything a test, the demo or a human needs, as a JSON-friendly dict."""
        data = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "private_key": self.private_key,
            "python_interpreter": self.python_interpreter,
            "workdir": self.workdir,
            "pid": self.process.pid if self.process else None,
        }
        data["ansible"] = dict(self.ansible_ssh_args(), ansible_host=self.host, ansible_port=self.port)
        return data

    def log_tail(self, lines=30):
        try:
            with open(self.log_file, errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except (OSError, TypeError):
            return "(no log)"

    # -- internals ---------------------------------------------------------

    def _path(self, name):
        return os.path.join(self.workdir, name)

    def _make_keys(self):
        host_key = self._path("ssh_host_ed25519_key")
        self.private_key = self._path("id_ed25519")
        self.public_key = self.private_key + ".pub"
        for key, comment in ((host_key, "device-host-key"), (self.private_key, "device-client-key")):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key],
                check=True, stdin=subprocess.DEVNULL,
            )
        shutil.copyfile(self.public_key, self._path("authorized_keys"))
        os.chmod(self._path("authorized_keys"), 0o600)

    def _write_config(self):
        self.config_file = self._path("sshd_config")
        self.log_file = self._path("sshd.log")
        settings = [
            ("Port", self.port),
            ("ListenAddress", self.host),
            ("HostKey", self._path("ssh_host_ed25519_key")),
            ("AuthorizedKeysFile", self._path("authorized_keys")),
            ("PidFile", self._path("sshd.pid")),
            ("StrictModes", "no"),
            ("UsePAM", "no"),
            ("PasswordAuthentication", "no"),
            ("KbdInteractiveAuthentication", "no"),
            ("PermitRootLogin", "prohibit-password"),
            ("Subsystem", "sftp " + SFTP_SERVER),
            ("LogLevel", "VERBOSE"),
        ]
        with open(self.config_file, "w") as config:
            config.writelines("%s %s\n" % item for item in settings)

    def _launch(self):
        """Start sshd and wait for its port; False when it exited (e.g. port taken)."""
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [self.sshd, "-D", "-e", "-f", self.config_file],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,  # a Ctrl-C meant for the caller must not hit sshd first
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            # sshd writes its PidFile only after binding, so an open port is really ours.
            if os.path.exists(self._path("sshd.pid")) and port_open(self.host, self.port):
                return True
            if self.process.poll() is not None:
                self.process = None
                return False
            time.sleep(0.05)
        return False


def main():
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    with SshDevice() as device:
        print(json.dumps(device.info()), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
