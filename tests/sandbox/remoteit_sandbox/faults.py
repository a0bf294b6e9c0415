# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Scripted failures, so tests can prove the client survives a misbehaving API.

A rule matches GraphQL requests by a top-level field name and fires a number of times:
`status` answers that HTTP status without processing the request (optionally with
Retry-After), `malformed` answers 200 with a non-JSON body without processing it,
`drop_response` processes the request fully and then closes the socket without an answer,
`hold` processes it fully and then waits that many seconds before answering (a client that
gives up or is killed meanwhile never hears back), `answer` processes it fully and then
overrides fields of its answer with hostile values (a client must validate what the API gives),
and `delay` sleeps first (alone, it only slows the request down).
"""

from __future__ import annotations

import json
import threading

EFFECTS = ("status", "malformed", "drop_response", "hold", "answer")
KEYS = {"field", "times", "retry_after", "delay", *EFFECTS}


def _number(rule, key, minimum):
    value = rule.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum):
        raise ValueError(f"fault {key} must be a number >= {minimum}, not {value!r}")
    return value


def normalize(rule):
    """A validated copy of one rule with defaults filled in; ValueError says what is wrong."""
    if not isinstance(rule, dict):
        raise ValueError("a fault rule must be a JSON object")
    unknown = set(rule) - KEYS
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    # Any `answer` is an effect, null and false too: they are hostile values worth answering.
    effects = [key for key in EFFECTS if (key in rule if key == "answer" else rule.get(key))]
    if len(effects) > 1:
        raise ValueError(f"a fault rule may have only one of {', '.join(EFFECTS)}")
    if not effects and not rule.get("delay"):
        raise ValueError(f"a fault rule needs one of {', '.join(EFFECTS)} or a delay")
    status = rule.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError(f"fault status must be an HTTP error status (400-599), not {status!r}")
    times = rule.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"fault times must be a positive integer, not {times!r}")
    field = rule.get("field", "*")
    if not isinstance(field, str) or not field:
        raise ValueError("fault field must be a field name or '*'")
    _number(rule, "delay", 0)
    _number(rule, "retry_after", 0)
    _number(rule, "hold", 0)
    if "answer" in rule:
        if field == "*":
            raise ValueError("a fault answer needs the field whose answer it replaces, not '*'")
        try:
            json.dumps(rule["answer"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fault answer must be JSON: {exc}") from None
    return {**rule, "field": field, "times": times}


def answered(result, rule):
    """`result` (a GraphQL response body) with `data.<field>` overridden by the rule's `answer`.

    An object answer replaces (or adds) its keys in an object field; any other answer, or any answer
    to a field that is not an object (a boolean, null, missing after an error), replaces it whole.
    """
    data = result.get("data") if isinstance(result.get("data"), dict) else {}
    current, answer = data.get(rule["field"]), rule["answer"]
    replaced = {**current, **answer} if isinstance(current, dict) and isinstance(answer, dict) else answer
    return {**result, "data": {**data, rule["field"]: replaced}}


class FaultRules:
    """The pending rules, consumed in order by the requests they match."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def add(self, rules):
        """Validate all rules first so a bad list adds nothing."""
        if not isinstance(rules, list):
            rules = [rules]
        checked = [normalize(rule) for rule in rules]
        with self._lock:
            self._rules.extend(checked)

    def clear(self):
        with self._lock:
            self._rules.clear()

    def pending(self):
        with self._lock:
            return [dict(rule) for rule in self._rules]

    def take(self, fields):
        """The first rule matching any of `fields` (counting one use of it), or None."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule["field"] == "*" or rule["field"] in fields:
                    rule["times"] -= 1
                    if rule["times"] == 0:
                        del self._rules[index]
                    return {key: value for key, value in rule.items() if key != "times"}
        return None
