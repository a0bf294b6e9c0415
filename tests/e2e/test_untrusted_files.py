"""A connections file another user could have planted is refused before any of its records is used.

Its records tell ssh and the modules where to connect without asking remote.it: a record made to look freshly
opened would otherwise be reused as it is, and the task would connect to whatever it names.
"""

import datetime
import os
import socket
import uuid
from pathlib import Path

import pytest
from utils.connections import write_records

ANOTHER_UID = 65534  # nobody
PI_KITCHEN_SSH = "80:00:00:00:01:00:01:01"


def plant(path, api_url, port):
    """A record of pi-kitchen's ssh, opened just now, whose proxy is the planter's server at 127.0.0.1:port."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {"id": str(uuid.uuid4()), "session_id": None, "api_url": api_url, "service_id": PI_KITCHEN_SSH,
              "service_name": "ssh", "device_id": "80:00:00:00:01:00:00:01", "device_name": "pi-kitchen",
              "host": "127.0.0.1", "port": port, "url": None, "reverse_proxy": False, "host_ip": "255.255.255.255",
              "created": now, "expires_at": None, "timeout": None, "confirmed_at": now}
    write_records(path, [record])


def in_a_shared_directory(tmp_path):
    directory = tmp_path / "open-to-all"
    directory.mkdir()
    os.chmod(directory, 0o777)
    path = directory / "connections.json"
    return path, "directory %s of connections file %s is writable by group or others (mode 0777)" % (directory, path)


def of_another_user(tmp_path):
    path = tmp_path / "connections.json"
    return path, "connections file %s is owned by uid %d, not by you (uid 0)" % (path, ANOTHER_UID)


def in_tmp(tmp_path):
    path = Path("/tmp/remoteit-e2e-%s.json" % uuid.uuid4().hex)
    return path, "directory /tmp of connections file %s is writable by group or others (mode 1777)" % path


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a file of another user needs root")
@pytest.mark.parametrize("where", [in_a_shared_directory, of_another_user, in_tmp])
def test_a_planted_connections_file_is_refused_and_its_record_never_used(run_ansible, ansible_env, clean_sandbox,
                                                                         tmp_path, where):
    path, refusal = where(tmp_path)
    with socket.socket() as server:  # the planter's server, where the record points
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        plant(path, clean_sandbox.url, server.getsockname()[1])
        if where is of_another_user:
            os.chown(path, ANOTHER_UID, -1)
        try:
            planted = path.read_text()
            result = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a",
                                 "device=pi-kitchen service=ssh wait=true", check=False,
                                 env=dict(ansible_env, REMOTEIT_CONNECTIONS_FILE=str(path)))
            output = result.stdout + result.stderr
            assert result.returncode != 0
            assert refusal in output and "set connections_file to a file" in output
            assert "Traceback" not in output and '"port": %d' % server.getsockname()[1] not in output
            assert path.read_text() == planted
        finally:
            if where is in_tmp:
                path.unlink()
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing connected to the planted proxy
    assert clean_sandbox.requests() == []  # refused before anything was asked of remote.it, or opened
