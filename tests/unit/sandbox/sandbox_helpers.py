# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers for the sandbox's tests: an independent request signer and a small signed client.

The signer is written from the API README, not imported from the sandbox, so the tests
check the sandbox against the documented algorithm rather than against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"  # holds the remoteit_sandbox package
FIVE_HEADERS = "(request-target) host date content-type content-length"
FOUR_HEADERS = "(request-target) host date content-type"
HTTP_TARGET_BODY = b"hello from the device's web server"
TIMEOUT = 10


def signed_headers(key_id, secret, url, body, header_names=FIVE_HEADERS, date=None):
    """Headers for a POST of `body` to `url`, signed as remote.it's API README describes."""
    parts = urlsplit(url)
    values = {
        "(request-target)": "post " + parts.path + (f"?{parts.query}" if parts.query else ""),
        "host": parts.netloc,
        "date": date or formatdate(time.time(), usegmt=True),
        "content-type": "application/json",
        "content-length": str(len(body)),
    }
    signing_string = "\n".join(f"{name}: {values[name]}" for name in header_names.split())
    digest = hmac.new(base64.b64decode(secret), signing_string.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return {
        "Host": values["host"],
        "Date": values["date"],
        "Content-Type": values["content-type"],
        "Authorization": f'Signature keyId="{key_id}",algorithm="hmac-sha256",headers="{header_names}",signature="{signature}"',
    }


class Client:
    """Signed GraphQL requests to one sandbox, as a given access key."""

    def __init__(self, sandbox, credentials=None, verify=True):
        self.sandbox = sandbox
        self.key_id, self.secret = credentials or sandbox.credentials
        self.verify = verify  # a CA file for a TLS sandbox

    def post(self, payload, **sign_options):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = signed_headers(self.key_id, self.secret, self.sandbox.url, body, **sign_options)
        return requests.post(self.sandbox.url, data=body, headers=headers, timeout=TIMEOUT, verify=self.verify)

    def gql(self, query, variables=None):
        """The response body of a request that must reach GraphQL (HTTP 200)."""
        response = self.post({"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query, variables=None):
        """`data` of a request that must succeed without GraphQL errors."""
        result = self.gql(query, variables)
        assert "errors" not in result, result
        return result["data"]

    def error(self, query, variables=None):
        """The message of the single GraphQL error a request must cause."""
        result = self.gql(query, variables)
        assert len(result.get("errors") or []) == 1, result
        return result["errors"][0]["message"]

    def connect(self, service_id, **arguments):
        connection = self.data(
            "mutation($serviceId: String!, $hostIP: String!, $type: ProxyType!) {"
            " connect(serviceId: $serviceId, hostIP: $hostIP, type: $type) { id reverseProxy host port url created timeout session { id } } }",
            {"serviceId": service_id, "hostIP": arguments.get("host_ip", "255.255.255.255"), "type": arguments.get("type", "AUTO_PROXY")},
        )
        return connection["connect"]

    def disconnect(self, connection_id):
        return self.gql("mutation($id: String!) { disconnect(connectionId: $id) }", {"id": connection_id})


def run_cli(*arguments):
    """`python -m remoteit_sandbox` with these arguments, its output piped."""
    environment = {**os.environ, "PYTHONPATH": str(SANDBOX_DIR)}
    return subprocess.Popen([sys.executable, "-m", "remoteit_sandbox", *arguments], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=5.0):
    """Poll until `predicate()` is truthy; fail the test instead of hanging."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


def tcp_connect(port, source="127.0.0.1"):
    """A client socket to 127.0.0.1:port from a chosen loopback source address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def closed_by_peer(sock):
    """True when the other end closed (or reset) the connection instead of answering."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def echoes(sock, payload=b"ping"):
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(len(payload) - len(received))
        if not chunk:
            return False
        received += chunk
    return received == payload
