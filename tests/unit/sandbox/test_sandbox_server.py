# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How the sandbox runs: the CLI's ready line and clean exit, HTTPS, loopback only."""

from __future__ import annotations

import json
import select
import shutil
import signal
import subprocess
from types import SimpleNamespace

import pytest
import requests
from remoteit_sandbox import Sandbox
from remoteit_sandbox.world import DEMO_KEY_ID, DEMO_SECRET
from .sandbox_helpers import TIMEOUT, Client, run_cli


def test_cli_announces_itself_serves_and_exits_cleanly_on_sigterm(tmp_path):
    ready_file = tmp_path / "ready.json"
    process = run_cli("--generate-devices", "3", "--lifetime", "60", "--ready-file", str(ready_file))
    try:
        assert select.select([process.stdout], [], [], TIMEOUT)[0], "no ready line"
        line = process.stdout.readline()
        ready = json.loads(line)
        assert json.loads(ready_file.read_text()) == ready
        assert ready["pid"] == process.pid
        assert ready["url"].startswith("http://127.0.0.1:") and ready["url"].endswith("/graphql/v1")
        assert requests.get(ready["inspect"] + "/health", timeout=TIMEOUT).json() == {"ok": True}
        client = Client(SimpleNamespace(url=ready["url"], credentials=(DEMO_KEY_ID, DEMO_SECRET)))  # generated worlds use the demo key
        assert client.data("{ login { devices { total } } }") == {"login": {"devices": {"total": 3}}}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        process.kill()
        process.communicate()


def test_cli_refuses_non_loopback_addresses():
    process = run_cli("--host", "0.0.0.0")
    stderr = process.communicate(timeout=TIMEOUT)[1]
    assert process.returncode == 2
    assert "loopback only" in stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.com"])
def test_python_api_refuses_non_loopback_addresses(host):
    with pytest.raises(ValueError, match="loopback only"):
        Sandbox(host=host)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https(make_sandbox, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    sandbox = make_sandbox(tls_cert=str(cert), tls_key=str(key))
    assert sandbox.url.startswith("https://127.0.0.1:")
    assert Client(sandbox, verify=str(cert)).data("{ login { email } }") == {"login": {"email": "demo@example.com"}}


def test_context_manager_closes_proxies_on_exit():
    with Sandbox(env={"DEVICE_SSH_PORT": "9"}) as sandbox:
        Client(sandbox).connect("80:00:00:00:01:00:01:01")
        registry = sandbox.registry
        assert len(registry.live()) == 1
    assert registry.live() == []
