# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sandbox's HTTP front and its Python API.

`POST /graphql/v1` is the signed GraphQL endpoint; `/_sandbox/...` are unauthenticated
inspection and fault-injection endpoints for tests, which is why the server binds loopback only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .api import Context, describe, execute
from .faults import FaultRules, answered
from .proxy import ProxyRegistry, utc_timestamp
from .signing import AuthError, verify
from .world import Settings, add_device, load_world

GRAPHQL_PATH = "/graphql/v1"
INSPECT_PATH = "/_sandbox"
DEVICES_PATH = INSPECT_PATH + "/devices"
SOCKET_TIMEOUT = 15
MALFORMED_BODY = b'{"data": {"connect": {"id": '  # cut off mid-JSON, as a broken gateway would


def _loopback(host):
    """Refuse anything but IPv4 loopback: the sandbox must never be reachable from outside."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"the sandbox listens on loopback only (127.0.0.0/8 or localhost), not {host!r}")
    return host


class RequestLog:
    """What the API was asked and answered, for tests to assert on; never holds credentials."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0

    def add(self, entry):
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, "time": utc_timestamp(), **entry})

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries.clear()


class Sandbox:
    """A local remote.it API for tests and the demo; start() serves it on threads in this process.

    Settings given here win over the world's `settings:`, which win over the defaults.
    `env` adds to os.environ for the ${VAR} placeholders of service targets.
    """

    def __init__(self, world=None, *, host="127.0.0.1", port=0, lifetime=None, idle_timeout=None, disconnect_unknown=None,
                 disconnect_unknown_message=None, sessions_list_unused=None, clock_skew=None, session_ids=None,
                 connect_session=None, id_case=None, ids_case_sensitive=None, offline_proxies=None, validate_ids=None,
                 tags_case_sensitive=None, add_tag_undefined=None, remove_tag_absent=None, tag_device_id=None,
                 tls_cert=None, tls_key=None, env=None):
        self._env = None if env is None else {**os.environ, **env}
        self.world = load_world(world, env=self._env, validate_ids=validate_ids, id_case=id_case)
        self._world_lock = threading.Lock()  # one change of the world's devices at a time
        self.settings = Settings.merge(self.world.settings, {
            "lifetime": lifetime,
            "idle_timeout": idle_timeout,
            "disconnect_unknown": disconnect_unknown,
            "disconnect_unknown_message": disconnect_unknown_message,
            "sessions_list_unused": sessions_list_unused,
            "clock_skew": clock_skew,
            "session_ids": session_ids,
            "connect_session": connect_session,
            "id_case": id_case,
            "ids_case_sensitive": ids_case_sensitive,
            "offline_proxies": offline_proxies,
            "validate_ids": validate_ids,
            "tags_case_sensitive": tags_case_sensitive,
            "add_tag_undefined": add_tag_undefined,
            "remove_tag_absent": remove_tag_absent,
            "tag_device_id": tag_device_id,
        })
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both a certificate and a key")
        self.host = _loopback(host)
        self.port = port
        self.secrets = {key.id: key.hmac_key for key in self.world.keys.values()}
        self.faults = FaultRules()
        self.log = RequestLog()
        self.registry = None
        self._tls = (tls_cert, tls_key) if tls_cert else None
        self._server = None

    def start(self):
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        server = _Server((self.host, self.port), self)
        if self._tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            # The handshake then happens in the handler thread, so a stalled client cannot block accept().
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = server.server_address[1]
        self.registry = ProxyRegistry(self.settings.lifetime, self.settings.idle_timeout, self.settings.id_case, self.settings.session_ids)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True).start()
        return self

    def stop(self):
        """Stop serving and close every proxy with its live connections."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        self.registry.close_all()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        return f"{'https' if self._tls else 'http'}://{self.host}:{self.port}"

    @property
    def url(self):
        return self.base_url + GRAPHQL_PATH

    @property
    def inspect_url(self):
        return self.base_url + INSPECT_PATH

    @property
    def credentials(self):
        """(key id, base64 secret) of the world's first access key."""
        key = next(iter(self.world.keys.values()))
        return key.id, key.secret

    def requests(self):
        return self.log.entries()

    def clear_requests(self):
        self.log.clear()

    def proxies(self):
        return [proxy.snapshot() for proxy in self.registry.live()] if self.registry else []

    def add_faults(self, rules):
        self.faults.add(rules)

    def backdate(self, connection_id, seconds):
        """Make a live proxy look opened `seconds` earlier (its `created`, session timestamp, lifetime and
        idle clocks), as another client's older session would; returns its snapshot. KeyError: no such
        live proxy; ValueError: `seconds` is not a number >= 0."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"backdate seconds must be a number >= 0, not {seconds!r}")
        proxy = self.registry.get(connection_id) if self.registry and isinstance(connection_id, str) else None
        if proxy is None:
            raise KeyError(f"no live proxy with id {connection_id!r}")
        proxy.backdate(seconds)
        return proxy.snapshot()

    def clear_faults(self):
        self.faults.clear()

    def set_device_state(self, device, state):
        """Bring a device (by id, or else exact name) online ("active") or take it offline ("inactive"); its
        services follow. Offline, its proxies' live connections break, and per the offline_proxies setting its
        proxies stay (working again once it is back) or close. Returns the device's snapshot. KeyError: no such
        device; ValueError: a bad state, or several devices of that name."""
        with self._world_lock:
            found = self.world.find_device(device)
            found.set_state(state)
            if state == "inactive" and self.registry is not None:
                self.registry.device_offline(found, close=self.settings.offline_proxies == "close")
            return found.snapshot()

    def add_device(self, entry, account=None):
        """Register a device, given as a world file's device entry, in `account` (an account id; default the
        first user); returns its snapshot. ValueError (WorldError): an invalid entry or account."""
        with self._world_lock:
            return add_device(self.world, entry, account, self._env, self.settings.validate_ids, self.settings.id_case).snapshot()

    def remove_device(self, device):
        """Delete a device (by id, or else exact name) and its services; returns its last snapshot. Its live
        proxies stay live, as nothing says what remote.it does to them. KeyError, ValueError: as set_device_state."""
        with self._world_lock:
            found = self.world.find_device(device)
            self.world.remove_device(found)
            return found.snapshot()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        """A client hanging up early (after its own timeout, say) is routine here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "remoteit-sandbox"
    timeout = SOCKET_TIMEOUT
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits out its
    # delayed ACK (40 ms) for the body, a cost no real API charges.
    disable_nagle_algorithm = True
    unlogged = None  # the request log entry of the GraphQL request being answered, until it is logged

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silenced: the request log at /_sandbox/requests replaces stderr chatter."""

    @property
    def sandbox(self):
        return self.server.sandbox

    @property
    def route(self):
        return urlsplit(self.path).path

    def do_GET(self):
        self._inspect({
            "requests": self.sandbox.requests,
            "proxies": self.sandbox.proxies,
            "faults": self.sandbox.faults.pending,
            "health": lambda: {"ok": True},
        })

    def do_DELETE(self):
        prefix, _sep, device = self.route.partition(DEVICES_PATH + "/")
        if not prefix and device:
            self._change(lambda _request: self.sandbox.remove_device(unquote(device)), body=False)
            return
        self._inspect({
            "requests": lambda: self.sandbox.clear_requests() or {"ok": True},
            "faults": lambda: self.sandbox.clear_faults() or {"ok": True},
        })

    def do_POST(self):
        if self.route == GRAPHQL_PATH:
            # Logged as the answer goes out (see _send), so a client that asks the log right after its
            # answer finds its request there; a dropped answer is logged with status None.
            self.unlogged = self._log_entry()
            try:
                self._graphql(self.unlogged)
            finally:
                self._log_answer(None)
        elif self.route == f"{INSPECT_PATH}/faults":
            try:
                self.sandbox.add_faults(json.loads(self._read_body() or b"null"))
            except ValueError as exc:
                self._send_json(400, {"error": str(exc)})
            else:
                self._send_json(200, self.sandbox.faults.pending())
        elif self.route == f"{INSPECT_PATH}/backdate":
            # {"id": <connection id>, "seconds": N}: 200 with the proxy, 404 for no such proxy, 400 for bad input
            self._change(lambda request: self.sandbox.backdate(request.get("id"), request.get("seconds")))
        elif self.route == DEVICES_PATH:
            self._change(lambda request: self.sandbox.add_device(
                {key: value for key, value in request.items() if key != "account"}, request.get("account")))
        elif self.route.startswith(DEVICES_PATH + "/") and self.route.endswith("/state"):
            device = unquote(self.route[len(DEVICES_PATH) + 1:-len("/state")])
            self._change(lambda request: self.sandbox.set_device_state(device, request.get("state")))
        else:
            self._not_found()

    def _change(self, change, body=True):
        """Answer a change to the world (a device, a proxy): 200 with the changed thing, 404 when there is no such
        thing, 400 for bad input."""
        try:
            request = json.loads(self._read_body() or b"null") if body else {}
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            snapshot = change(request)
        except KeyError as exc:
            self._send_json(404, {"error": exc.args[0]})
        except ValueError as exc:
            self._send_json(400, {"error": str(exc)})
        else:
            self._send_json(200, snapshot)

    def _inspect(self, routes):
        """Answer GET/DELETE on /_sandbox/<name> from `routes`."""
        prefix, name = self.route.rpartition("/")[::2]
        if prefix == INSPECT_PATH and name in routes:
            self._send_json(200, routes[name]())
        else:
            self._not_found()

    def _log_entry(self):
        """A request log entry before anything is known about the request."""
        return {"method": self.command, "path": self.path, "status": None, "auth": None,
                "operation": None, "fields": [], "variables": None, "fault": None}

    def _not_found(self):
        if not self.route.startswith(INSPECT_PATH):
            self.sandbox.log.add({**self._log_entry(), "status": 404})
        self._send(404, b"Not Found", "text/plain")

    def _graphql(self, entry):
        """Verify, apply any fault, execute; `entry` collects what the request log shows."""
        body = self._read_body()
        try:
            key_id = verify(self.command, self.path, self.headers, len(body), self.sandbox.secrets, self.sandbox.settings.clock_skew)
        except AuthError as exc:
            entry["auth"] = exc.reason
            if exc.status == 401:
                self._send(401, b"Unauthorized", "text/plain")
            else:
                self._send_json(403, {"errors": [{"message": exc.reason}]})
            return
        entry["auth"] = "ok"
        try:
            request = json.loads(body)
            query, variables, operation_name = request["query"], request.get("variables"), request.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, (dict, type(None))):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            self._send_json(400, {"errors": [{"message": "the body must be a JSON object with a query string and optional variables object"}]})
            return
        entry["operation"], entry["fields"] = describe(query, operation_name)
        entry["variables"] = variables
        entry["fault"] = self.sandbox.faults.take(entry["fields"])
        fault = entry["fault"] or {}
        time.sleep(fault.get("delay") or 0)
        if fault.get("status"):
            retry_after = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {}
            self._send_json(fault["status"], {"errors": [{"message": f"sandbox fault: HTTP {fault['status']}"}]}, retry_after)
            return
        if fault.get("malformed"):
            self._send(200, MALFORMED_BODY, "application/json")
            return
        user = self.sandbox.world.keys[key_id].user
        result = execute(Context(self.sandbox.world, self.sandbox.settings, self.sandbox.registry, user), query, variables, operation_name)
        listed = _devices_listed(result.get("data"))
        if listed is not None:
            entry["devices"] = listed
        if fault.get("drop_response"):
            self.close_connection = True  # processed, but the client never hears back
            return
        # Processed (a connect's proxy is open and listed), but the answer comes late: a client
        # interrupted meanwhile (Ctrl-C, a killed runner) never learns what it opened.
        time.sleep(fault.get("hold") or 0)
        self._send_json(200, answered(result, fault) if "answer" in fault else result)

    def _read_body(self):
        """The body as received; shorter than Content-Length if the client stopped early."""
        try:
            length = max(int(self.headers.get("Content-Length") or 0), 0)
        except ValueError:
            length = 0
        try:
            return self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            return b""

    def _send_json(self, status, payload, headers=None):
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _log_answer(self, status):
        if self.unlogged is not None:
            self.sandbox.log.add({**self.unlogged, "status": status})
            self.unlogged = None

    def _send(self, status, body, content_type, headers=None):
        self._log_answer(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _devices_listed(data):
    """How many devices a device list (`devices { items }`, at any depth) answered; None for other answers."""
    if isinstance(data, dict):
        counts = [len(value["items"]) if key == "devices" and isinstance(value, dict) and isinstance(value.get("items"), list)
                  else _devices_listed(value) for key, value in data.items()]
        counts = [count for count in counts if count is not None]
        return sum(counts) if counts else None
    return None
