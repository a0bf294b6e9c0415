# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: task_timings
type: aggregate
short_description: Write each task's wall time and start time to the JSON file named by BENCH_TIMINGS_FILE
description:
  - Used by bench/bench.py only; not part of the collection.
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._timings = []
        self._current = None

    def _finish(self):
        if self._current:
            name, started = self._current
            self._timings.append({"task": name, "seconds": time.perf_counter() - started[0], "started": started[1]})
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._finish()
        self._current = (task.get_name(), (time.perf_counter(), time.time()))

    def v2_playbook_on_stats(self, stats):
        self._finish()
        with open(os.environ["BENCH_TIMINGS_FILE"], "w", encoding="utf-8") as handle:
            json.dump(self._timings, handle)
