"""host_ip modes enforced end to end: connections through the sandbox's real proxy from
different loopback source addresses reach the device's sshd, or are refused."""

import socket

import pytest
from utils.connections import read_records


def banner_from(source, port):
    """What the device says first to a TCP connection from `source`: sshd's banner, or b"" if refused."""
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        try:
            return sock.recv(64)
        except ConnectionResetError:
            return b""


@pytest.fixture
def open_with(run_ansible, ansible_env, tmp_path, clean_sandbox):
    """open_with(host_ip) -> (proxy port, ad hoc output); everything is closed afterwards."""

    def run(host_ip):
        result = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a",
                             "device=pi-garage service=ssh host_ip=%s" % host_ip, env=ansible_env)
        records = read_records(tmp_path / "connections.json")
        return records[-1]["port"], result.stdout + result.stderr

    yield run
    run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a",
                "device=pi-garage service=ssh state=absent", env=ansible_env)
    assert clean_sandbox.proxies() == []


def test_public_lets_anyone_in_and_warns(open_with):
    port, output = open_with("public")
    assert "host_ip public: anyone who learns this proxy's host and port can connect" in " ".join(output.split())
    assert banner_from("127.0.0.2", port).startswith(b"SSH-2.0-")
    assert banner_from("127.0.0.3", port).startswith(b"SSH-2.0-")


def test_latching_keeps_out_everyone_but_the_first(open_with):
    port, _output = open_with("latching")
    assert banner_from("127.0.0.2", port).startswith(b"SSH-2.0-")
    assert banner_from("127.0.0.3", port) == b""
    assert banner_from("127.0.0.2", port).startswith(b"SSH-2.0-")


def test_restricted_admits_only_its_address(open_with):
    port, _output = open_with("127.0.0.3")
    assert banner_from("127.0.0.2", port) == b""
    assert banner_from("127.0.0.3", port).startswith(b"SSH-2.0-")
