# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The real TCP proxies behind `connect`.

Each proxy is a listener on 127.0.0.1 that forwards every admitted connection to its service's
target. Like remote.it's proxies it admits connections by their source address (hostIP mode),
and it expires on lifetime and when idle, after which its port refuses connections.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

PUBLIC = "0.0.0.0"
LATCHING = "255.255.255.255"
LOOPBACK = "127.0.0.1"
REAP_INTERVAL = 0.1
CONNECT_TIMEOUT = 5


def check_host_ip(value):
    """Return `value` if it is a hostIP remote.it accepts (public, latching or one address)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"Invalid hostIP {value!r}: expected {PUBLIC}, {LATCHING} or an IPv4/IPv6 address") from None
    return value


def utc_timestamp(moment=None):
    """`moment` (default now) as the API writes DateTime values: ISO 8601, milliseconds, `Z`."""
    return (moment or datetime.now(timezone.utc)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _served(value, id_case):
    """A uuid in the case ids are served (the id_case setting)."""
    return value.lower() if id_case == "lower" else value.upper()


def _abort(*sockets):
    """Shut sockets down both ways, which also wakes any thread blocked on them."""
    for sock in sockets:
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _pump(src, dst):
    """Copy bytes from src to dst until EOF, then pass the EOF on (half-close)."""
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        _abort(src, dst)


class Proxy:
    """One open connection: a listener, its hostIP policy, and its live forwarded TCP connections."""

    def __init__(self, service, user, host_ip, reverse_proxy, lifetime, idle_timeout, id_case="upper", session_ids="same"):
        self.id = _served(str(uuid.uuid4()), id_case)
        # Whether remote.it's session id is the connection id is an unknown: `distinct` gives the session its own.
        self.session_id = _served(str(uuid.uuid4()), id_case) if session_ids == "distinct" else self.id
        self.service = service
        self.user = user
        self.reverse_proxy = reverse_proxy
        self.host_ip = PUBLIC if reverse_proxy else host_ip  # reverse proxies are always public
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout
        self.created = utc_timestamp()
        self.latched_ip = None
        self.last_source = None
        self.used = False
        self._lock = threading.Lock()
        self._live = {}  # admitted client socket -> upstream socket (None while connecting)
        self._closed = False
        self._started = self._idle_since = time.monotonic()
        self._listener = socket.create_server((LOOPBACK, 0))
        self.host = LOOPBACK
        self.port = self._listener.getsockname()[1]
        scheme = (service.app.scheme if service.app.proxy else "http") if reverse_proxy else "tcp"
        self.url = f"{scheme}://{LOOPBACK}:{self.port}"
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.id[:8]}", daemon=True).start()

    @property
    def live_connections(self):
        with self._lock:
            return len(self._live)

    def expired(self, now):
        """Past its lifetime, or without a live TCP connection for idle_timeout seconds."""
        with self._lock:
            idle = not self._live and now - self._idle_since >= self.idle_timeout
            return idle or now - self._started >= self.lifetime

    def backdate(self, seconds):
        """A testing hook: from now on the proxy looks opened `seconds` earlier (created, lifetime, idle clock)."""
        with self._lock:
            created = datetime.fromisoformat(self.created.replace("Z", "+00:00"))
            self.created = utc_timestamp(created - timedelta(seconds=seconds))
            self._started -= seconds
            self._idle_since -= seconds

    def cut(self):
        """Cut every live forwarded connection, as a device going offline does; the listener stays."""
        with self._lock:
            live = list(self._live.items())
        for client, upstream in live:
            _abort(client, upstream)

    def close(self):
        """Stop listening and cut every live forwarded connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            live = list(self._live.items())
        _abort(self._listener)
        self._listener.close()
        for client, upstream in live:
            _abort(client, upstream)

    def snapshot(self):
        """The proxy as the inspection endpoint shows it."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "service_id": self.service.id,
            "device_id": self.service.device.id,
            "host": self.host,
            "port": self.port,
            "url": self.url,
            "host_ip": self.host_ip,
            "latched_ip": self.latched_ip,
            "reverse_proxy": self.reverse_proxy,
            "created": self.created,
            "live_tcp_connections": self.live_connections,
        }

    def _accept_loop(self):
        while True:
            try:
                client, address = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if self._admit(client, address[0]):
                threading.Thread(target=self._forward, args=(client,), daemon=True).start()
            else:
                client.close()

    def _admit(self, client, source):
        """Apply the hostIP mode to a new connection from `source`; latching latches here."""
        with self._lock:
            if self._closed:
                return False
            if self.host_ip == LATCHING:
                self.latched_ip = self.latched_ip or source
                allowed = source == self.latched_ip
            else:
                allowed = self.host_ip in (PUBLIC, source)
            if allowed:
                self._live[client] = None
                self.used = True
                self.last_source = source
            return allowed

    def _forward(self, client):
        upstream = None
        try:
            if self.service.target is None or not self.service.device.online:
                return  # a world service without a target, or a device offline: nothing to reach
            upstream = socket.create_connection(self.service.target, timeout=CONNECT_TIMEOUT)
            upstream.settimeout(None)
            # A relay passes each write on at once, as remote.it's proxies do: with Nagle's algorithm on,
            # every request/answer exchange through it waited for a delayed ACK (about 40 ms).
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed:
                    return
                self._live[client] = upstream
            backwards = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            backwards.start()
            _pump(client, upstream)
            backwards.join()
        except OSError:
            pass  # target unreachable: the client just sees the connection close
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    sock.close()
            with self._lock:
                del self._live[client]
                if not self._live:
                    self._idle_since = time.monotonic()


class ProxyRegistry:
    """The live proxies by connection id (in any case); a reaper thread closes the expired ones.

    `id_case` and `session_ids` are the settings of those names: how the ids of new proxies look.
    """

    def __init__(self, lifetime, idle_timeout, id_case="upper", session_ids="same"):
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout
        self.id_case = id_case
        self.session_ids = session_ids
        self._lock = threading.Lock()
        self._proxies = {}
        self._stopping = threading.Event()
        threading.Thread(target=self._reap, name="proxy-reaper", daemon=True).start()

    def open(self, service, user, host_ip, reverse_proxy):
        proxy = Proxy(service, user, host_ip, reverse_proxy, self.lifetime, self.idle_timeout, self.id_case, self.session_ids)
        with self._lock:
            if not self._stopping.is_set():
                self._proxies[proxy.id.upper()] = proxy
                return proxy
        proxy.close()  # a connect that raced close_all() must not leave a listener behind
        raise RuntimeError("the sandbox is stopping")

    def get(self, connection_id):
        """The live proxy with this connection id, in any case (callers compare the case when it matters)."""
        with self._lock:
            return self._proxies.get(connection_id.upper())

    def live(self):
        with self._lock:
            return list(self._proxies.values())

    def close(self, connection_id):
        """Close a proxy (by connection id in any case); False if it was not (or no longer) open."""
        with self._lock:
            proxy = self._proxies.pop(connection_id.upper(), None)
        if proxy is None:
            return False
        proxy.close()
        return True

    def device_offline(self, device, close):
        """`device` went offline: its proxies' live connections break; with `close` the proxies close too.

        Returns the ids of the proxies closed.
        """
        closed = []
        for proxy in self.live():
            if proxy.service.device is device:
                if close and self.close(proxy.id):
                    closed.append(proxy.id)
                else:
                    proxy.cut()
        return closed

    def close_all(self):
        self._stopping.set()
        for proxy in self.live():
            self.close(proxy.id)

    def _reap(self):
        while not self._stopping.wait(REAP_INTERVAL):
            now = time.monotonic()
            for proxy in self.live():
                if proxy.expired(now):
                    self.close(proxy.id)
