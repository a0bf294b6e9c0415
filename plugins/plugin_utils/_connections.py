# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's record of the proxies it opened.

remote.it cannot tell a proxy's host and port after it was opened, so whoever opens one must keep
them. Ansible runs tasks in forked workers at once, so every change happens under an exclusive
file lock; the file is private (0600) to its owner.

The file is a journal of JSON lines: a header, then a line per change, {"put": record} or {"delete": id}, the latest
line for an id winning. A change appends its lines rather than rewriting every record, and a process that read the
file before reads only what was appended since. Every task of a play runs in a new process, which needs the records
of one service: it parses and checks only the lines that name that service or one of its records' ids (found by a
byte search; lines with escapes are parsed by all), so what a task pays for the file hardly grows with the fleet.
Every line is checked by a whole read (listing, closing a run's proxies) and by compaction. Once the journal holds
many more lines than its records at its last compaction (the header's "records"), a writer compacts it into a new
file (one put per record, under a new generation named in the header) that replaces it atomically. A writer that
dies mid-append may leave the first lines of its change and an incomplete last line: readers ignore that line and
the next writer cuts it away. A change puts before it deletes, so what a dying writer left never loses a record it
meant to keep; at worst it keeps one it meant to drop, which the next run finds gone at remote.it. A file of format
1 (one JSON document) is read as it is, and rewritten as a journal by the first change.

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
import typing
import zlib

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._api import id_key
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import ConnectionsFileError

DEFAULT_CONNECTIONS_FILE = "~/.remoteit/ansible-connections.json"
FORMAT_VERSION = 2
# A journal that grew by more than twice its records at its last compaction and this many lines is compacted: a
# rewrite of N records every N changes or more keeps a change's cost bounded whatever N is, and a small file is never
# rewritten for a few changes.
COMPACTION_SLACK = 64
KEY_LOCK_BUCKETS = 128
WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
PRIVATE_DIRECTORY = "set connections_file to a file in a private directory such as ~/.remoteit"


class _Selection(typing.NamedTuple):
    """Some records of a connections file: those of these services, and those of these ids whatever their service
    (each an id_key)."""

    services: frozenset
    ids: frozenset = frozenset()

    def holds(self, record):
        """Whether it holds a record (checked)."""
        return id_key(record["service_id"]) in self.services or id_key(record["id"]) in self.ids

    def surely_lacks(self, record):
        """Whether it surely does not hold a record nobody checked yet: such a record may stay unchecked."""
        return (isinstance(record, dict) and isinstance(record.get("service_id"), str) and isinstance(record.get("id"), str)
                and id_key(record["service_id"]) not in self.services and id_key(record["id"]) not in self.ids)

    def needles(self):
        """What a line that can concern these records holds: a service or id (ASCII, and so found in a lowered line
        in any case), or an escape or a NUL byte (a JSON escape or another encoding could spell either)."""
        return [key.encode("utf-8") for key in self.services | self.ids] + [b"\\", b"\x00"]


def _selection(services, ids=()):
    return None if services is None else _Selection(frozenset(id_key(service) for service in services),
                                                    frozenset(id_key(record_id) for record_id in ids))


class _Journal(typing.NamedTuple):
    """A connections file as this process last read or wrote it. Never changed once made: threads share it."""

    records: dict  # id -> checked record, in the order the journal first put each (those `selection` holds, if set)
    header: bytes = b""  # the journal's first line, generation included; empty for no journal (none yet, or format 1)
    identity: tuple = ()  # st_dev, st_ino
    offset: int = 0  # the bytes read: the header and each complete line after it
    last_line: bytes = b""  # the last complete line read: a file rewritten in place differs there
    lines: int = 0  # the lines after the header
    compacted: int = 0  # the records its last compaction wrote, as its header says
    selection: _Selection = None  # the records this holds; None: every record

    def describes(self, fd, status):
        """Whether the file open at fd is this journal, grown only by appends since it was read.

        A compaction makes a new file, whose inode may be one a former file freed: its generation tells them apart.
        """
        return ((status.st_dev, status.st_ino) == self.identity and status.st_size >= self.offset
                and os.pread(fd, len(self.header), 0) == self.header
                and os.pread(fd, len(self.last_line), self.offset - len(self.last_line)) == self.last_line)


# (path, selection) -> the _Journal this process last read or wrote there. A task reads the file several times (to
# settle, to select, to reuse): a journal it read before costs it only the lines appended since, each checked once.
_JOURNALS = {}


class ConnectionStore:
    """Records of opened connections, kept in one file of JSON lines."""

    def __init__(self, path=None):
        self.path = os.path.abspath(os.path.expanduser(path or DEFAULT_CONNECTIONS_FILE))
        self.directory, self.name = os.path.split(self.path)

    def records(self, services=None, ids=()):
        """A snapshot of the records, of these service ids only if given, and then also those of these ids whatever
        their service; a writer appends whole lines or replaces the file atomically, so no lock is needed."""
        selection = _selection(services, ids)
        with self._directory(create=False) as dir_fd:
            if dir_fd is None:
                return []
            fd = self._open_file(dir_fd, os.O_RDONLY)
            try:
                return [dict(record) for record in self._read(fd, selection).records.values()]
            finally:
                if fd is not None:
                    os.close(fd)

    @contextlib.contextmanager
    def update(self, services=None, ids=()):
        """Yield the record list (of these service ids only, if given, and then also those of these ids) under an
        exclusive lock; whatever it holds afterwards is saved: the records that changed are appended, or the file is
        compacted. Given services, the list may only gain records of those services or ids, and the others are kept
        as they are.

        A compaction reads every record: where one of another service cannot be used, the change is appended
        anyway, that record is left to the reads that need it (which name it), and compaction is tried again every
        COMPACTION_SLACK lines. Where the file must be replaced (one the user may not write to), every record is
        read before the block, so that what the block does is never lost to a record that cannot be used."""
        selection = _selection(services, ids)
        with self._directory(create=True) as dir_fd:
            lock_fd = self._lock_file(self.name + ".lock", dir_fd)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                fd, appendable = self._open_for_update(dir_fd)
                try:
                    journal = self._settled(fd, self._read(fd, selection), appendable)
                    appending = bool(appendable and journal.header)
                    whole = journal if selection is None else None
                    if whole is None and not appending:
                        whole = self._settled(fd, self._read(fd, None), appendable)
                    records = [dict(record) for record in journal.records.values()]
                    yield records
                    changes = _changes(journal.records, records, selection)
                    if not changes:
                        return
                    excess = journal.lines + len(changes) - 2 * journal.compacted - COMPACTION_SLACK
                    # Tried as the journal outgrows its bound, then every COMPACTION_SLACK lines while a record of
                    # another service keeps a whole read from succeeding: the changes meanwhile are appended.
                    if appending and excess > 0 and (excess - 1) % COMPACTION_SLACK < len(changes):
                        try:
                            whole = whole or self._read(fd, None)
                        except ConnectionsFileError:
                            whole = None
                        else:
                            appending = False
                    if appending:
                        self._append(fd, journal, changes)
                    else:
                        self._rewrite(_applied(whole.records, changes), dir_fd)
                finally:
                    if fd is not None:
                        os.close(fd)
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

    def _open_file(self, dir_fd, flags):
        """A descriptor of the connections file opened with flags; None where it does not exist."""
        try:
            return self._open(self.name, dir_fd, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unusable("read", exc) from None

    def _open_for_update(self, dir_fd):
        """The connections file's descriptor for update (None: missing), and whether changes can be appended to it.
        A file the user may not write to is opened to read: the checks say why where it is not the user's, and a
        change replaces it as a compaction does, the directory being theirs."""
        try:
            return self._open(self.name, dir_fd, os.O_RDWR | os.O_APPEND), True
        except FileNotFoundError:
            return None, False
        except PermissionError:
            return self._open_file(dir_fd, os.O_RDONLY), False
        except OSError as exc:
            raise self._unusable("write", exc) from None

    def _read(self, fd, selection):
        """The file open at fd (None: a missing file) as a _Journal of the records of a selection (all: None), its
        owner and mode checked first. A journal this process read before is read from where it stopped."""
        if fd is None:
            return _Journal({}, selection=selection)
        status = os.fstat(fd)
        self._check_file(status)
        known = _JOURNALS.get((self.path, selection))
        try:
            if known is not None and known.describes(fd, status):
                if status.st_size == known.offset:
                    return known
                journal = self._fold(known, _read_at(fd, status.st_size - known.offset, known.offset))
            else:
                journal = self._parse(_read_at(fd, status.st_size, 0), (status.st_dev, status.st_ino), selection)
        except OSError as exc:
            raise self._unusable("read", exc) from None
        if journal.header:
            _JOURNALS[(self.path, selection)] = journal
        return journal

    def _settled(self, fd, journal, appendable):
        """The journal once its last line, if it has no end, is dealt with by a writer holding the lock.

        No writer is appending meanwhile, so that line is either what a writer that died left of a change (never
        valid JSON: it lacks at least its closing brace), which is cut away, or a complete change a hand edit left
        without its newline, which gets one. Anything else is refused, naming the line.
        """
        if fd is None or not journal.header:
            return journal
        try:
            tail = _read_at(fd, os.fstat(fd).st_size - journal.offset, journal.offset)
        except OSError as exc:
            raise self._unusable("read", exc) from None
        if not tail:
            return journal
        number = journal.lines + 2
        if b"\n" in tail:
            raise self._corrupt("it changed after line %d while it was locked" % (number - 1))
        try:
            complete = json.loads(tail.decode("utf-8"))
        except (ValueError, RecursionError):
            complete = None
        try:
            if complete is not None:
                settled = self._fold(journal, tail + b"\n")
                if appendable:
                    os.write(fd, b"\n")
                    os.fsync(fd)
                    _JOURNALS[(self.path, journal.selection)] = settled
                return settled
            if not tail.startswith((b'{"put": ', b'{"delete": ')):
                raise self._corrupt('its line %d is neither {"put": record} nor {"delete": id}' % number)
            if appendable:
                os.ftruncate(fd, journal.offset)
                os.fsync(fd)
        except OSError as exc:
            raise self._unusable("write", exc) from None
        return journal

    def _parse(self, data, identity, selection):
        """The _Journal of a whole file's bytes: a journal, or a document of format 1."""
        header_end = data.find(b"\n")
        first_line = data if header_end == -1 else data[:header_end]
        try:
            header = json.loads(first_line)
        except (ValueError, RecursionError):
            header = None  # a document of format 1 spans lines
        version = header.get("version") if isinstance(header, dict) else 1
        if version == FORMAT_VERSION:
            if header_end == -1:  # a header without its end: nothing was recorded yet
                return _Journal({}, selection=selection)
            compacted = header.get("records")
            if isinstance(compacted, bool) or not isinstance(compacted, int) or compacted < 0:
                compacted = 0  # a count nobody wrote: compacted soon, which writes one
            header = data[:header_end + 1]
            return self._fold(_Journal({}, header, identity, len(header), header, compacted=compacted, selection=selection),
                              data, len(header))
        if version != 1:
            raise self._corrupt("its format version %s is neither 1 nor %d"
                                % (_untrusted.bounded(repr(version), 60), FORMAT_VERSION))
        records = self._parse_version_1(data)
        if selection is not None:
            records = {record_id: record for record_id, record in records.items() if selection.holds(record)}
        return _Journal(records, selection=selection)

    def _fold(self, journal, data, start=0):
        """journal after the complete lines of data from start on: the bytes that follow its offset. An incomplete
        last line is a change still being written, or one whose writer died: it is left for later. Slices of data
        are taken only of the lines parsed: a file is read whole, and a copy of it costs as much as a search."""
        end = data.rfind(b"\n", start)
        if end == -1:
            return journal
        first = journal.lines + 2  # the number of the first line from start: the header is line 1
        if journal.selection is None:
            changes = [self._change(line, lambda number=number: number, None)
                       for number, line in enumerate(data[start:end].split(b"\n"), first)]
        else:
            changes = self._changes_about(data, start, end, first, journal)
        return journal._replace(records=_applied(journal.records, changes, journal.selection),
                                offset=journal.offset + end + 1 - start,
                                last_line=data[max(data.rfind(b"\n", start, end) + 1, start):end + 1],
                                lines=journal.lines + data.count(b"\n", start, end) + 1)

    def _changes_about(self, data, start, end, first, journal):
        """The changes, in order, among the lines of data from start to end that can concern the records of
        journal.selection: the lines that hold one of its needles, then those naming the id of a record found. Each
        search runs at the speed of memory, and only the lines found are parsed."""
        lowered = data.lower()
        parsed = {}  # (start, end) of a line -> its change

        def number(at):
            return lambda: first + data.count(b"\n", start, at)

        def parse(needles):
            for line_start, line_end in _lines_holding(lowered, needles, start, end):
                if (line_start, line_end) not in parsed:
                    parsed[(line_start, line_end)] = self._change(data[line_start:line_end], number(line_start),
                                                                  journal.selection)

        parse(journal.selection.needles())
        ids = set(journal.records) | {change["put"]["id"] for change in parsed.values()
                                      if _is_put(change) and journal.selection.holds(change["put"])}
        parse([id_key(record_id).encode("ascii") for record_id in ids])
        for (line_start, _line_end), change in parsed.items():
            if _is_put(change) and change["put"]["id"] in ids and journal.selection.surely_lacks(change["put"]):
                # It takes a record of ours away (a hand edit moved it to another service): checked, as it changes ours.
                self._checked_put(change, number(line_start))
        return [parsed[span] for span in sorted(parsed)]

    def _change(self, line, number, selection):
        """The change a line holds; a put is checked unless the selection surely lacks it. number() is the line's
        number, counted only for an error. A line is UTF-8, as the byte search that finds it assumes."""
        try:
            change = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # a hostile nesting depth is no JSON this file holds
            raise self._corrupt("its line %d is not valid JSON (%s)" % (number(), exc)) from None
        if _is_put(change):
            if selection is None or not selection.surely_lacks(change["put"]):
                self._checked_put(change, number)
        elif not _is_delete(change):
            raise self._corrupt('its line %d is neither {"put": record} nor {"delete": id}' % number())
        return change

    def _checked_put(self, change, number):
        try:
            _untrusted.record(change["put"])
        except ValueError as exc:
            raise self._corrupt("its record on line %d%s is not valid: %s"
                                % (number(), _named(change["put"]), exc)) from None

    def _parse_version_1(self, data):
        """The records of a file of format 1, {"version": 1, "connections": [record, ...]}, by id."""
        if not data.strip():
            return {}
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:  # a hostile nesting depth is no JSON this file holds
            raise self._corrupt("it is not valid JSON (%s)" % exc) from None
        if not isinstance(document, dict) or not isinstance(document.get("connections"), list):
            raise self._corrupt("it has no 'connections' list")
        for index, item in enumerate(document["connections"]):
            try:
                _untrusted.record(item)
            except ValueError as exc:
                raise self._corrupt("its record connections[%d]%s is not valid: %s"
                                    % (index, _named(item), exc)) from None
        return {record["id"]: record for record in document["connections"]}

    def _corrupt(self, why):
        return ConnectionsFileError(
            "connections file %s cannot be used: %s. It was left as it is: repair it, or move it aside to start "
            "a new one (proxies it recorded stay open until they expire)." % (self.path, why))

    def _append(self, fd, journal, changes):
        """Add the lines of changes to the journal open at fd (settled: it ends with a complete line) in one write.
        A write that fails is cut away, so that the change can be made again."""
        data = b"".join(_line(change) for change in changes)
        try:
            unwritten = memoryview(data)
            while unwritten:
                unwritten = unwritten[os.write(fd, unwritten):]
            os.fsync(fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, journal.offset)
            if isinstance(exc, OSError):
                raise self._unusable("write", exc) from None
            raise
        _JOURNALS[(self.path, journal.selection)] = journal._replace(
            records=_applied(journal.records, changes, journal.selection), offset=journal.offset + len(data),
            last_line=_line(changes[-1]), lines=journal.lines + len(changes))

    def _rewrite(self, records, dir_fd):
        """Replace the file with a new journal of these records (id -> record), under a new generation."""
        header = b'{"version": %d, "generation": "%s", "records": %d}\n' % (
            FORMAT_VERSION, os.urandom(8).hex().encode("ascii"), len(records))
        lines = [_line({"put": record}) for record in records.values()]
        data = header + b"".join(lines)
        temp_name = ".connections-%s" % os.urandom(8).hex()
        try:
            fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fchmod(handle.fileno(), 0o600)  # whatever the umask
                    os.fsync(handle.fileno())
                    os.replace(temp_name, self.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                    status = os.fstat(handle.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name, dir_fd=dir_fd)
                raise
            # The lines appended from now on are fsynced; the rename that they follow must be on disk before them.
            os.fsync(dir_fd)
        except OSError as exc:
            raise self._unusable("write", exc) from None
        _JOURNALS[(self.path, None)] = _Journal(records, header, (status.st_dev, status.st_ino), len(data),
                                                lines[-1] if lines else header, len(lines), len(records))


def _read_at(fd, size, offset):
    """`size` bytes of the file at fd from `offset`, fewer only at its end: one pread may return less (2 GiB at
    most on Linux, less on some network filesystems)."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _line(value):
    """A journal line. json escapes every control character, so a record never spans two lines; other characters
    are written as UTF-8 (whose bytes for them never include a newline), so that few names need an escape: every
    line with one is parsed by every reader (see _changes_about)."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry and UTF-8 cannot
        return json.dumps(value, sort_keys=True).encode("ascii") + b"\n"


def _lines_holding(data, needles, start, end):
    """The (start, end) of each line of data between start and end (a line's start, a newline) that holds one of
    needles (a needle no line can hold holds none)."""
    for needle in needles:
        if not needle or b"\n" in needle:
            continue
        position = data.find(needle, start, end)
        while position != -1:
            line_end = data.find(b"\n", position, end)
            line_end = end if line_end == -1 else line_end
            yield max(data.rfind(b"\n", start, position) + 1, start), line_end
            position = data.find(needle, line_end, end)


def _is_put(change):
    return isinstance(change, dict) and change.keys() == {"put"}


def _is_delete(change):
    return isinstance(change, dict) and change.keys() == {"delete"} and isinstance(change["delete"], str)


def _named(item):
    return " (id %s)" % _untrusted.bounded(item["id"]) if isinstance(item, dict) and "id" in item else ""


def _changes(before, records, selection):
    """The journal lines that turn before (id -> record) into the list records. Puts come first: a write that a crash
    cuts short may keep a record it meant to drop, never lose one it meant to keep (opening a proxy puts its record
    and deletes the intent that announced it)."""
    after = {record["id"]: record for record in records}
    if selection is not None and not all(selection.holds(record) for record in records):
        raise ValueError("an update of the records of some services put a record of another")
    return ([{"put": dict(record)} for record_id, record in after.items() if before.get(record_id) != record]
            + [{"delete": record_id} for record_id in before if record_id not in after])


def _applied(records, changes, selection=None):
    """records (id -> record, those of a selection if given) after these changes, as a reader folds them."""
    records = dict(records)
    for change in changes:
        if "delete" in change:
            records.pop(change["delete"], None)  # gone already where someone deleted it by hand too
        elif selection is None or selection.holds(change["put"]):
            records[change["put"]["id"]] = change["put"]
        elif isinstance(change["put"].get("id"), str):  # a put the selection lacks: a hand edit moved it away
            records.pop(change["put"]["id"], None)
    return records


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
