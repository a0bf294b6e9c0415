"""A real OpenSSH server on loopback that plays "the device" in tests and the demo.

Python API::

    with SshDevice() as device:
        device.port, device.user, device.private_key
        device.ansible_ssh_args()   # inventory vars for Ansible
        device.host_public_key      # "ssh-ed25519 AAAA...", as known_hosts holds it
        device.replace_host_key()   # answer with a new host key from now on

CLI (for humans, and the sandbox guide)::

    python3 tests/utils/device.py [--workdir DIR] [--port N] [--ready-file FILE]

It prints one JSON line once sshd accepts connections (``host``, ``port``, ``pid`` of this
helper, ``user``, ``private_key``, ...; also written to --ready-file, atomically) and runs until
SIGTERM, SIGINT or SIGHUP, then stops sshd and removes its directory.

Standard library only, so the CLI works without the virtual environment.
"""

import argparse
import contextlib
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


def processes():
    """(pid, state, ppid, process group) of every process now running, from /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                # The fields after "(comm)" are the state, the ppid and the process group.
                state, ppid, pgrp = stat.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        yield int(entry), state, int(ppid), int(pgrp)


def _child_pids(pid):
    """Pids whose parent is ``pid`` (sshd's per-connection children, which call setsid)."""
    return [child for child, _state, ppid, _pgrp in processes() if ppid == pid]


class SshDevice:
    """An sshd on 127.0.0.1 with its own host key, client key and config."""

    host = "127.0.0.1"

    def __init__(self, port=None, start_timeout=10.0, sshd=SSHD, workdir=None):
        self.requested_port = port
        # Where keys, config and log go; None: a new temporary directory. Removed by stop().
        self.requested_workdir = workdir
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
        try:
            self.workdir = self._make_workdir()
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
        self._stop_sshd()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self, down=0.0, while_down=None):
        """A reboot as a client sees it: sshd and every session stop, nothing answers for `down` seconds (while
        `while_down()` runs, if given), then sshd answers again on the same port with the same keys."""
        self._stop_sshd()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path("sshd.pid"))  # its start is awaited by the pid file
        time.sleep(down)
        if while_down is not None:
            while_down()
        if not self._launch():
            raise RuntimeError("sshd did not start again on %s:%s; log tail:\n%s" % (self.host, self.port, self.log_tail()))

    def _stop_sshd(self):
        process, self.process = self.process, None
        if process is None:
            return
        for pid in [process.pid] + _child_pids(process.pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # A connection child forked as sshd was stopped holds the listening socket until it closes it: wait for
        # the port to refuse, so that "stopped" means nothing answers.
        deadline = time.monotonic() + 5
        while port_open(self.host, self.port, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _make_workdir(self):
        if self.requested_workdir is None:
            return tempfile.mkdtemp(prefix="remoteit-device-")
        workdir = os.path.abspath(self.requested_workdir)
        # stop() removes the directory: never take one that holds anything else.
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        if os.listdir(workdir):
            raise RuntimeError("%s is not empty: give the device a directory of its own" % workdir)
        return workdir

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
            "sshd_pid": self.process.pid if self.process else None,
        }
        data["ansible"] = dict(self.ansible_ssh_args(), ansible_host=self.host, ansible_port=self.port)
        return data

    @property
    def host_public_key(self):
        """The host key sshd answers with, as "type base64" (what known_hosts holds after the host name)."""
        with open(self._path("ssh_host_ed25519_key.pub")) as public:
            return " ".join(public.read().split()[:2])

    def replace_host_key(self, timeout=10.0):
        """Give sshd a new host key, as a reinstalled device (or another machine on its address) would
        have: the client key still logs in, but a client that knows the old host key must refuse it.
        Returns the new public key once sshd answers with it."""
        host_key = self._path("ssh_host_ed25519_key")
        for path in (host_key, host_key + ".pub"):
            os.remove(path)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "device-host-key", "-f", host_key],
                       check=True, stdin=subprocess.DEVNULL)
        new_key = self.host_public_key
        os.kill(self.process.pid, signal.SIGHUP)  # sshd executes itself again and reads its keys anew
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-T", "2", "-p", str(self.port), self.host],
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
            if new_key in scan.stdout:
                return new_key
            time.sleep(0.1)
        raise RuntimeError("sshd on port %s did not answer with its new host key within %ss; log tail:\n%s"
                           % (self.port, timeout, self.log_tail()))

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
        os.makedirs(self._path("home"), exist_ok=True)
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
            # The device is another machine: its shell must not read the controller's dotfiles. A ~/.bashrc that
            # runs `pyenv init` costs every session a rehash, and a session stopped mid-rehash leaves pyenv's lock
            # behind, after which each session waits 60 s for it.
            ("SetEnv", "HOME=" + self._path("home")),
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


def _write_atomically(path, text):
    """Whoever polls for the ready file never reads it half written."""
    partial = path + ".partial"
    with open(partial, "w") as handle:
        handle.write(text)
    os.replace(partial, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 tests/utils/device.py",
        description="Run a real OpenSSH server on 127.0.0.1 that plays a device behind NAT, "
                    "until SIGTERM or Ctrl-C. Only the user who runs it can log in, with the key it makes.")
    parser.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    parser.add_argument("--workdir", metavar="DIR",
                        help="keep the keys (DIR/id_ed25519 logs in), config and log in DIR, which must be "
                             "missing or empty and is removed on exit (default: a temporary directory)")
    parser.add_argument("--ready-file", metavar="FILE",
                        help="also write the JSON line to FILE once the device accepts connections")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        device = SshDevice(port=args.port, workdir=args.workdir).start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print("device.py: %s" % exc, file=sys.stderr)
        return 1
    try:
        # host, port and pid first: what a reader needs, and what the sandbox guide shows.
        line = json.dumps({"host": device.host, "port": device.port, "pid": os.getpid(), **device.info()})
        if args.ready_file:
            _write_atomically(args.ready_file, line + "\n")
        print(line, flush=True)
        stop.wait()
    finally:
        device.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
