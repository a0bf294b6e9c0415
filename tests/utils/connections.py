# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's connections file as the tests and the bench read and write it, apart from the collection's code.

Format 2 is a journal of JSON lines: a header {"version": 2, "generation": "<hex>"}, then {"put": record} or
{"delete": id} per change, the latest line for an id winning; an incomplete last line is a change still being
written. Format 1, which earlier versions wrote, is one document {"version": 1, "connections": [record, ...]}.

Standard library only.
"""

import json
import os
from pathlib import Path


def read_records(path):
    """The records of the connections file at path, of either format, in the order the collection lists them."""
    text = Path(path).read_text(encoding="utf-8")
    first_line, _newline, rest = text.partition("\n")
    try:
        header = json.loads(first_line)
    except ValueError:
        header = None  # format 1 spans lines
    if not (isinstance(header, dict) and header.get("version") == 2):
        document = json.loads(text)
        if document.get("version") != 1:
            raise ValueError("%s: format version %r" % (path, document.get("version")))
        return document["connections"]
    records = {}
    for line in rest.split("\n")[:-1]:  # the last piece is empty, or a line still being written
        change = json.loads(line)
        if "put" in change:
            records[change["put"]["id"]] = change["put"]
        else:
            records.pop(change["delete"], None)
    return list(records.values())


def write_records(path, records):
    """Replace the file at path with a journal of these records (format 2), under a new generation, mode 0600."""
    lines = [{"version": 2, "generation": os.urandom(8).hex()}] + [{"put": record} for record in records]
    Path(path).write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    os.chmod(path, 0o600)
