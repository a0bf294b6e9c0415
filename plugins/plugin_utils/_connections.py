# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's record of the proxies it opened.

remote.it cannot tell a proxy's host and port after it was opened, so whoever opens one must keep
them. Ansible runs tasks in forked workers at once, so every change happens under an exclusive
file lock and lands through an atomic rename; the file is private (0600) to its owner.

A record tells ssh and the modules where to connect without asking remote.it, so the file is trusted as OpenSSH
trusts ~/.ssh: it and its directory must be the user's and writable by nobody else, nothing in that directory is
opened through a symbolic link, and every record is checked before it is used.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import zlib

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import ConnectionsFileError

DEFAULT_CONNECTIONS_FILE = "~/.remoteit/ansible-connections.json"
FORMAT_VERSION = 1
KEY_LOCK_BUCKETS = 128
WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
PRIVATE_DIRECTORY = "set connections_file to a file in a private directory such as ~/.remoteit"

# path -> (version of the file, its checked records). A task reads the file several times (to settle, to select, to
# reuse); a file that has not changed since this process read or wrote it is not parsed and checked again. Writers
# replace the file, so a new version is a new inode; its size and times tell an edit in place.
_SNAPSHOTS = {}
# The records this process checked, by content. Other processes change a file of many records one record at a
# time, so a task that reads it again (settling, selecting, writing its intent, its record) checks only what changed.
_CHECKED = set()
MAX_CHECKED = 20000


class ConnectionStore:
    """Records of opened connections, kept in one JSON file."""

    def __init__(self, path=None):
        self.path = os.path.abspath(os.path.expanduser(path or DEFAULT_CONNECTIONS_FILE))
        self.directory, self.name = os.path.split(self.path)

    def records(self):
        """A snapshot of all records; writers replace the file atomically, so no lock is needed."""
        with self._directory(create=False) as dir_fd:
            return [] if dir_fd is None else self._load(dir_fd)

    @contextlib.contextmanager
    def update(self):
        """Yield the record list under an exclusive lock; whatever it holds afterwards is saved."""
        with self._directory(create=True) as dir_fd:
            lock_fd = self._lock_file(self.name + ".lock", dir_fd)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                records = self._load(dir_fd, fresh=True)
                before = [dict(record) for record in records]
                yield records
                if records != before:
                    self._save(records, dir_fd)
            finally:
                os.close(lock_fd)

    @contextlib.contextmanager
    def claim(self, name):
        """Hold an exclusive lock named `name` while the block runs.

        A connect waiting for its answer holds one, so another run can tell it from a connect whose run died:
        the lock goes with its process, also when the process lingers as a zombie or its pid is reused.
        """
        with self._directory(create=True) as dir_fd:
            fd = self._lock_file(self._claim_name(name), dir_fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(self._claim_name(name), dir_fd=dir_fd)
                os.close(fd)

    @contextlib.contextmanager
    def exclusive(self, key):
        """Run the block while no other process or thread runs one for the same key.

        Keys share a few lock files (a key's bucket is a hash of it), so nothing is left behind per key; two
        keys in one bucket merely take turns. flock locks belong to the open file, so threads exclude each other
        as processes do.
        """
        locks = self.name + ".locks"
        with self._directory(create=True) as dir_fd:
            try:
                os.mkdir(locks, 0o700, dir_fd=dir_fd)
            except FileExistsError:
                pass  # a symbolic link is refused as it is opened
            except OSError as exc:
                raise self._unusable("use", exc) from None
            locks_fd = self._lock_file(locks, dir_fd, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fd = self._lock_file("%02d" % (zlib.crc32(key.encode("utf-8")) % KEY_LOCK_BUCKETS), locks_fd,
                                     in_directory=os.path.join(self.directory, locks))
            finally:
                os.close(locks_fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def claimed(self, name):
        """Whether a live process holds the lock `name` (see claim); a leftover lock file of a dead one is removed."""
        with self._directory(create=False) as dir_fd:
            if dir_fd is None:
                return False
            try:
                fd = self._open(self._claim_name(name), dir_fd, os.O_RDWR)
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
                os.unlink(self._claim_name(name), dir_fd=dir_fd)
            return False

    @contextlib.contextmanager
    def _directory(self, create):
        """A descriptor of the file's directory once it is found private (see _check_directory), or None where it
        does not exist and create is false. Names in it are opened relative to the descriptor: the directory
        checked is the one used, whatever happens to its path meanwhile."""
        try:
            dir_fd = _open_directory(self.directory, create)
        except OSError as exc:
            raise self._unusable("use", exc) from None
        if dir_fd is None:
            yield None
            return
        try:
            self._check_directory(os.fstat(dir_fd))
            yield dir_fd
        finally:
            os.close(dir_fd)

    def _check_directory(self, status):
        """Refuse a directory where another user could put a connections file, as OpenSSH refuses such a ~/.ssh: it
        must be the user's or root's, and writable by neither group nor others. /tmp is root's and writable by all:
        its sticky bit keeps others from replacing a file there, not from planting one before it exists."""
        uid = os.geteuid()
        where = "directory %s of connections file %s" % (self.directory, self.path)
        if status.st_uid not in (uid, 0):
            raise ConnectionsFileError("%s is owned by uid %d, not by you (uid %d) or root: its owner could put records there "
                                       "that tell ssh and the modules where to connect; %s"
                                       % (where, status.st_uid, uid, PRIVATE_DIRECTORY))
        if status.st_mode & WRITABLE_BY_OTHERS:
            shared = status.st_uid != uid or status.st_mode & stat.S_ISVTX  # not the user's to chmod, like /tmp
            raise ConnectionsFileError("%s is writable by group or others (mode %04o), so they could put records there that "
                                       "tell ssh and the modules where to connect: %s"
                                       % (where, stat.S_IMODE(status.st_mode),
                                          PRIVATE_DIRECTORY if shared else "chmod go-w %s, or %s" % (self.directory, PRIVATE_DIRECTORY)))

    def _check_file(self, status):
        """Refuse a connections file another user wrote or could write to."""
        uid = os.geteuid()
        if status.st_uid != uid:
            raise ConnectionsFileError("connections file %s is owned by uid %d, not by you (uid %d): its owner could have "
                                       "written records that tell ssh and the modules where to connect; move it aside or set "
                                       "connections_file to a file of your own in a private directory"
                                       % (self.path, status.st_uid, uid))
        if status.st_mode & WRITABLE_BY_OTHERS:
            raise ConnectionsFileError("connections file %s is writable by group or others (mode %04o), so they could have "
                                       "written records that tell ssh and the modules where to connect: move it aside, or "
                                       "check its records and chmod go-w %s" % (self.path, stat.S_IMODE(status.st_mode), self.path))

    def _open(self, name, dir_fd, flags, in_directory=None):
        """os.open of a name in the directory dir_fd that never follows a symbolic link: one is an error saying so."""
        try:
            return os.open(name, flags | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR) or not _is_link(name, dir_fd):
                raise
        path = os.path.join(in_directory or self.directory, name)
        raise ConnectionsFileError("%s is a symbolic link; the connections file and its locks are never opened through one, "
                                   "and nothing was created where it points: remove the link, or %s"
                                   % (path if path == self.path else "%s (a lock of connections file %s)" % (path, self.path),
                                      PRIVATE_DIRECTORY))

    def _lock_file(self, name, dir_fd, flags=os.O_RDWR | os.O_CREAT, in_directory=None):
        """An open descriptor of a lock file (or directory) in dir_fd, created private if need be."""
        try:
            return self._open(name, dir_fd, flags, in_directory)
        except OSError as exc:
            raise self._unusable("use", exc) from None

    def _claim_name(self, name):
        return "%s.%s.lock" % (self.name, name)

    def _unusable(self, verb, exc):
        return ConnectionsFileError("cannot %s connections file %s: %s" % (verb, self.path, exc.strerror))

    def _load(self, dir_fd, fresh=False):
        """The file's records. A snapshot serves readers; a writer (`fresh`) reads the file itself, as a freed inode
        is soon reused and timestamps move in ticks: two other writers could leave a file that looks unchanged."""
        try:
            fd = self._open(self.name, dir_fd, os.O_RDONLY)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._unusable("read", exc) from None
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(fd)
            self._check_file(status)
            snapshot = _SNAPSHOTS.get(self.path)
            if not fresh and snapshot is not None and snapshot[0] == _version(status):
                return [dict(record) for record in snapshot[1]]
            try:
                text = handle.read()
            except OSError as exc:
                raise self._unusable("read", exc) from None
        if not text.strip():
            return []
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:  # a hostile nesting depth is no JSON this file holds
            raise self._corrupt("it is not valid JSON (%s)" % exc) from None
        if not isinstance(document, dict) or not isinstance(document.get("connections"), list):
            raise self._corrupt("it has no 'connections' list")
        if document.get("version") != FORMAT_VERSION:
            raise self._corrupt("its format version %s is not %d"
                                % (_untrusted.bounded(repr(document.get("version")), 60), FORMAT_VERSION))
        for index, item in enumerate(document["connections"]):
            content = _content(item)
            if content is not None and content in _CHECKED:
                continue
            try:
                _untrusted.record(item)
            except ValueError as exc:
                named = " (id %s)" % _untrusted.bounded(item["id"]) if isinstance(item, dict) and "id" in item else ""
                raise self._corrupt("its record connections[%d]%s is not valid: %s" % (index, named, exc)) from None
            if content is not None:
                if len(_CHECKED) >= MAX_CHECKED:
                    _CHECKED.clear()
                _CHECKED.add(content)
        _SNAPSHOTS[self.path] = (_version(status), [dict(record) for record in document["connections"]])
        return document["connections"]

    def _corrupt(self, why):
        return ConnectionsFileError(
            "connections file %s cannot be used: %s. It was left as it is: repair it, or move it aside to start "
            "a new one (proxies it recorded stay open until they expire)." % (self.path, why))

    def _save(self, records, dir_fd):
        # One record per line: as easy to read and diff as an indented file, and written by json's C encoder,
        # which an indent turns off.
        text = '{"version": %d, "connections": [%s\n]}' % (FORMAT_VERSION, ",".join(
            "\n  " + json.dumps(record, sort_keys=True) for record in records))
        temp_name = ".connections-%s" % os.urandom(8).hex()
        try:
            fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
                    handle.flush()
                    os.fchmod(handle.fileno(), 0o600)  # whatever the umask
                    os.fsync(handle.fileno())
                    os.replace(temp_name, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                    _SNAPSHOTS[self.path] = (_version(os.fstat(handle.fileno())), [dict(record) for record in records])
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name, dir_fd=dir_fd)
                raise
        except OSError as exc:
            raise self._unusable("write", exc) from None


def _content(item):
    """A record's fields as a hashable value; None for anything else (checked every time)."""
    if not isinstance(item, dict):
        return None
    try:
        return frozenset((name, type(value), value) for name, value in item.items())  # 1, 1.0 and True differ
    except TypeError:  # a field holds a list or an object
        return None


def _version(status):
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def _open_directory(path, create):
    """A descriptor of the directory at path; None where it is missing and create is false, else it is created 0700."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        if not create:
            return None
    os.makedirs(path, mode=0o700, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def _is_link(name, dir_fd):
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
