# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m remoteit_sandbox`: serve a world until SIGTERM or SIGINT.

Once listening it prints one JSON line {"url", "inspect", "pid"} (and writes it to --ready-file),
so scripts can wait for it without polling ports.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .server import Sandbox
from .world import generate_world


def _boolean(value):
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError("expected true or false")
    return value == "true"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m remoteit_sandbox", description="A local remote.it GraphQL API for tests and demos.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--world", help="world YAML file (default: the demo world)")
    source.add_argument("--generate-devices", type=int, metavar="N", help="serve a generated world of N devices instead")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--lifetime", type=float, help="proxy lifetime in seconds (default 28800)")
    parser.add_argument("--idle-timeout", type=float, help="seconds a proxy survives without a live TCP connection (default 900)")
    parser.add_argument("--clock-skew", type=float, help="allowed Date header skew in seconds (default 300)")
    parser.add_argument("--disconnect-unknown", choices=("false", "error"), help="disconnect of an unknown id answers false or an error (default error)")
    parser.add_argument("--disconnect-unknown-message", metavar="TEXT",
                        help="the error of --disconnect-unknown error (default: Connection not found)")
    parser.add_argument("--sessions-list-unused", type=_boolean, metavar="true|false", help="list never-used proxies as sessions (default true)")
    parser.add_argument("--session-ids", choices=("same", "distinct"), help="a session's id is the connection id, or its own (default same)")
    parser.add_argument("--connect-session", choices=("object", "null"), help="connect answers session { id } or session: null (default object)")
    parser.add_argument("--id-case", choices=("upper", "lower"), help="the case ids are served in (default upper)")
    parser.add_argument("--ids-case-sensitive", type=_boolean, metavar="true|false",
                        help="lookups by id match only the case served (default false: any case)")
    parser.add_argument("--offline-proxies", choices=("stay", "close"),
                        help="a device going offline leaves its proxies open or closes them (default stay)")
    parser.add_argument("--validate-ids", type=_boolean, metavar="true|false",
                        help="device and service ids must be 8 hex octets (default true; false: any non-empty string)")
    parser.add_argument("--tags-case-sensitive", type=_boolean, metavar="true|false",
                        help="tag names match only in the case given (default true; false: any case)")
    parser.add_argument("--add-tag-undefined", choices=("create", "error"),
                        help="addTag of a tag the account has not defined creates it or fails (default create)")
    parser.add_argument("--remove-tag-absent", choices=("true", "false", "error"),
                        help="what removeTag of a tag the device lacks answers (default true)")
    parser.add_argument("--tag-device-id", choices=("accepted", "refused"),
                        help="addTag/removeTag take a device's own id as serviceId, or only its services' ids (default accepted)")
    parser.add_argument("--ready-file", help="also write the ready JSON line to this file")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    return parser.parse_args(argv)


def _write_atomically(path, text):
    """Readers polling for the file never see it half written."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def main(argv=None):
    args = parse_args(argv)
    world = generate_world(args.generate_devices) if args.generate_devices is not None else args.world
    try:
        sandbox = Sandbox(
            world, host=args.host, port=args.port, lifetime=args.lifetime, idle_timeout=args.idle_timeout,
            disconnect_unknown=args.disconnect_unknown, disconnect_unknown_message=args.disconnect_unknown_message,
            sessions_list_unused=args.sessions_list_unused, clock_skew=args.clock_skew, session_ids=args.session_ids,
            connect_session=args.connect_session, id_case=args.id_case, ids_case_sensitive=args.ids_case_sensitive,
            offline_proxies=args.offline_proxies, validate_ids=args.validate_ids, tags_case_sensitive=args.tags_case_sensitive,
            add_tag_undefined=args.add_tag_undefined, remove_tag_absent=args.remove_tag_absent, tag_device_id=args.tag_device_id,
            tls_cert=args.tls_cert, tls_key=args.tls_key,
        ).start()
    except (ValueError, OSError) as exc:
        print(f"remoteit_sandbox: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    ready = json.dumps({"url": sandbox.url, "inspect": sandbox.inspect_url, "pid": os.getpid()})
    if args.ready_file:
        _write_atomically(args.ready_file, ready + "\n")
    print(ready, flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
