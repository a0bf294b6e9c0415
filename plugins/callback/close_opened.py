# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: close_opened
type: notification
short_description: Close the remote.it proxies this run opened when it ends
version_added: 0.1.0
description:
  - When C(ansible-playbook) ends, closes the remote.it proxies that this run opened, and only those, so none stays
    open until it expires and no play of yours has to close them.
  - It ends a run that succeeded, one with failed or unreachable hosts, one stopped with Ctrl-C (C(SIGINT)) while a
    task runs, and one that stopped on an error.
  - What this run opened is what the connection plugin C(community.remoteit.ssh), the module
    M(community.remoteit.remoteit_connection) and the inventory plugin C(community.remoteit.remoteit)
    (O(community.remoteit.remoteit#inventory:connect_mode=eager)) opened in it. Each marks the proxy's record in
    O(connections_file) with an id of this run, which ansible-core's worker processes inherit from the controller.
  - It never closes a proxy this run reused, whether an earlier run opened it or another job handed it over
    (C(remoteit_connections), C(remoteit_connection)), nor one of another run going on at the same time.
  - A proxy it cannot close (remote.it does not answer, the access key is refused) is a warning naming it, and its
    record stays in O(connections_file) for the next close. The run's result is left as it is.
  - With C(-v) it lists the proxies it closed.
  - It reads the options below from the environment and from the C([remoteit]) section of C(ansible.cfg), never
    from the variables or C(module_defaults) of a play. Set O(api_url) and O(connections_file) there (or leave
    their defaults) as the tasks of the run use them; a proxy this run opened through another API endpoint is a
    warning, and one recorded in another connections file is not seen.
  - A connect that Ctrl-C stopped before remote.it answered is not recorded; the next run that opens or closes a proxy
    of that service closes what it may have opened.
requirements:
  - Enabled in C(ansible.cfg) (C(callbacks_enabled = community.remoteit.close_opened) in C([defaults])), or with the
    environment variable E(ANSIBLE_CALLBACKS_ENABLED).
extends_documentation_fragment:
  - community.remoteit.api
  - community.remoteit.api.plugins
seealso:
  - module: community.remoteit.remoteit_connection
  - plugin: community.remoteit.ssh
    plugin_type: connection
author:
  - community.remoteit maintainers (@ansible-collections)
"""

EXAMPLES = r"""
# ansible.cfg: close, when a run ends, every proxy the run opened.
#
# [defaults]
# callbacks_enabled = community.remoteit.close_opened
#
# [remoteit]
# connections_file = ~/.remoteit/ansible-connections.json
#
# Or for one run only, with the access key in the environment as the modules read it:
#
# ANSIBLE_CALLBACKS_ENABLED=community.remoteit.close_opened ansible-playbook -i devices.yml site.yml
"""

import atexit
import os

from ansible.plugins.callback import CallbackBase

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._lifecycle import run_id
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    build_client,
    build_store,
    plugin_options,
    plugin_sources,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import RUN_ID_FIELD
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import bounded

PREFIX = "community.remoteit.close_opened: "


class CallbackModule(CallbackBase):
    """Closes, as the run ends, the proxies whose records carry this run's id."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "community.remoteit.close_opened"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super().__init__(display=display, options=options)
        # Callbacks load in the controller before it forks any worker: every worker of the run inherits this id.
        self.run_id = run_id(inherited=False)
        self._controller = os.getpid()
        self._ended = False
        self._at_exit = False

    def v2_playbook_on_start(self, playbook):
        """From now on an interrupted run (Ctrl-C, an error) still closes its proxies, as it exits."""
        if not self._at_exit:
            self._at_exit = True
            atexit.register(self._exiting)

    def v2_playbook_on_stats(self, stats):
        """The run ended, failed hosts or not."""
        self.close_opened()

    def _exiting(self):
        if os.getpid() == self._controller:  # a forked worker that ever exits through atexit closes nothing
            self.close_opened()

    def close_opened(self):
        """Close this run's proxies, once; whatever fails is a warning, never a traceback at the end of the run."""
        if self._ended:
            return
        self._ended = True
        try:
            self._close()
        except KeyboardInterrupt:
            self._warning("interrupted while closing the proxies this run opened: those not closed yet stay open, "
                          "and recorded, until they expire or are closed")
        except RemoteitError as exc:
            self._warning("the proxies this run opened were not closed: %s" % exc)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self._warning("the proxies this run opened were not closed: %s: %s" % (type(exc).__name__, bounded(exc)))

    def _close(self):
        options = plugin_options(self)
        store = build_store(options)
        opened = [record for record in store.records()
                  if record.get(RUN_ID_FIELD) == self.run_id and not record.get("intent")]
        if not opened:
            return  # no API call, and no credentials needed, for a run that opened nothing
        client = build_client(options, plugin_sources(self, "the callback's options"), self._warning)
        ours = [record for record in opened if record.get("api_url") == client.api_url]
        elsewhere = [record for record in opened if record.get("api_url") != client.api_url]
        if elsewhere:
            self._warning("left open %d proxy(ies) this run opened through another API endpoint than %s (%s): this "
                          "callback closes those of its api_url only"
                          % (len(elsewhere), client.api_url, ", ".join(sorted({record["api_url"] for record in elsewhere}))))
        manager = ProxyManager(client, store, warn=self._warning)
        closed = []
        for record in ours:
            try:
                manager.close([record["id"]], record["service_id"])
            except RemoteitError as exc:
                self._warning("could not close the proxy %s (service %s) this run opened: %s"
                              % (record["id"], record["service_id"], exc))
            else:
                closed.append(record)
        if closed:
            self._display.v(PREFIX + "closed the proxies this run opened: %s" % ", ".join(
                "%s (service %s)" % (record["id"], record["service_id"]) for record in closed))

    def _warning(self, message):
        self._display.warning(PREFIX + message)
