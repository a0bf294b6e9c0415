# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's record of the proxies it opened.

remote.it cannot tell a proxy's host and port after it was opened, so whoever opens one must keep
them. Ansible runs tasks in forked workers at once, so every change happens under an exclusive
file lock and lands through an atomic rename; the file is private (0600) to its owner.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import zlib

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError

DEFAULT_CONNECTIONS_FILE = "~/.remoteit/ansible-connections.json"
FORMAT_VERSION = 1
KEY_LOCK_BUCKETS = 128


class ConnectionStore:
    """Records of opened connections, kept in one JSON file."""

    def __init__(self, path=None):
        self.path = os.path.abspath(os.path.expanduser(path or DEFAULT_CONNECTIONS_FILE))

    def records(self):
        """A snapshot of all records; writers replace the file atomically, so no lock is needed."""
        return self._load()

    @contextlib.contextmanager
    def update(self):
        """Yield the record list under an exclusive lock; whatever it holds afterwards is saved."""
        lock_fd = self._lock_file(self.path + ".lock")
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            records = self._load()
            before = json.dumps(records, sort_keys=True)
            yield records
            if json.dumps(records, sort_keys=True) != before:
                self._save(records)
        finally:
            os.close(lock_fd)

    @contextlib.contextmanager
    def claim(self, name):
        """Hold an exclusive lock named `name` while the block runs.

        A connect waiting for its answer holds one, so another run can tell it from a connect whose run died:
        the lock goes with its process, also when the process lingers as a zombie or its pid is reused.
        """
        path = self._claim_path(name)
        fd = self._lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)

    @contextlib.contextmanager
    def exclusive(self, key):
        """Run the block while no other process or thread runs one for the same key.

        Keys share a few lock files (a key's bucket is a hash of it), so nothing is left behind per key; two
        keys in one bucket merely take turns. flock locks belong to the open file, so threads exclude each other
        as processes do.
        """
        fd = self._lock_file(os.path.join(self.path + ".locks",
                                          "%02d" % (zlib.crc32(key.encode("utf-8")) % KEY_LOCK_BUCKETS)))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def claimed(self, name):
        """Whether a live process holds the lock `name` (see claim); a leftover lock file of a dead one is removed."""
        try:
            fd = os.open(self._claim_path(name), os.O_RDWR)
        except FileNotFoundError:
            return False
        except OSError:
            return True  # cannot tell: assume its owner is alive
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(self._claim_path(name))
        return False

    def _lock_file(self, path):
        """An open descriptor of the lock file at path, created private with its directory if need be."""
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise RemoteitError("cannot use connections file %s: %s" % (self.path, exc.strerror),
                                kind="connections_file") from None

    def _claim_path(self, name):
        return "%s.%s.lock" % (self.path, name)

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RemoteitError("cannot read connections file %s: %s" % (self.path, exc.strerror),
                                kind="connections_file") from None
        if not text.strip():
            return []
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise self._corrupt("it is not valid JSON (%s)" % exc) from None
        if not isinstance(document, dict) or not isinstance(document.get("connections"), list):
            raise self._corrupt("it has no 'connections' list")
        if document.get("version") != FORMAT_VERSION:
            raise self._corrupt("its format version %r is not %d" % (document.get("version"), FORMAT_VERSION))
        if not all(isinstance(record, dict) and record.get("id") for record in document["connections"]):
            raise self._corrupt("a connection record has no id")
        return document["connections"]

    def _corrupt(self, why):
        return RemoteitError(
            "connections file %s cannot be used: %s. It was left as it is: repair it, or move it aside to start "
            "a new one (proxies it recorded stay open until they expire)." % (self.path, why),
            kind="connections_file")

    def _save(self, records):
        directory = os.path.dirname(self.path)
        text = json.dumps({"version": FORMAT_VERSION, "connections": records}, indent=2, sort_keys=True)
        try:
            fd, temp_path = tempfile.mkstemp(prefix=".connections-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temp_path, 0o600)
                os.replace(temp_path, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_path)
                raise
        except OSError as exc:
            raise RemoteitError("cannot write connections file %s: %s" % (self.path, exc.strerror),
                                kind="connections_file") from None
