# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the sandbox's tests: started sandboxes and local stand-ins for device services."""

from __future__ import annotations

import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("graphql", reason="the sandbox needs graphql-core")
pytest.importorskip("requests")

from .sandbox_helpers import HTTP_TARGET_BODY, SANDBOX_DIR, Client  # noqa: E402  pylint: disable=wrong-import-position

if str(SANDBOX_DIR) not in sys.path:
    sys.path.insert(0, str(SANDBOX_DIR))

from remoteit_sandbox import Sandbox  # noqa: E402  pylint: disable=wrong-import-position


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _Page(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(HTTP_TARGET_BODY)))
        self.end_headers()
        self.wfile.write(HTTP_TARGET_BODY)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet."""


def _serve(server):
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def echo_port():
    """An echo server standing in for a device's TCP service (e.g. its sshd)."""
    server = _serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def http_port():
    """A web server standing in for a device's HTTP service."""
    server = _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Page))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_sandbox(echo_port, http_port):
    """Start sandboxes whose ${DEVICE_SSH_PORT}/${DEVICE_HTTP_PORT} targets are the local servers."""
    started = []

    def make(world=None, **options):
        env = {"DEVICE_SSH_PORT": str(echo_port), "DEVICE_HTTP_PORT": str(http_port)}
        sandbox = Sandbox(world, env=env, **options).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox):
    return make_sandbox()


@pytest.fixture
def client(sandbox):
    return Client(sandbox)
