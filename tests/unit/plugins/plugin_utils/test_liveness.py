# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The liveness policy: live, gone, unused or unrecognised, from remote.it's sessions and both of a proxy's clocks."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._liveness import (
    GONE,
    LIVE,
    UNRECOGNISED,
    UNUSED,
    is_expired,
    trusted,
    verdict,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._records import iso, now_utc

NOW = now_utc()


def ago(seconds):
    return iso(NOW - datetime.timedelta(seconds=seconds))


def record(created=60, confirmed=None, lifetime=28800, session_id=None):
    """A record opened `created` seconds ago, last listed by remote.it `confirmed` seconds ago (None: never)."""
    return {"id": "Conn-1", "session_id": session_id, "created": ago(created),
            "confirmed_at": None if confirmed is None else ago(confirmed), "expires_at": ago(created - lifetime)}


@pytest.mark.parametrize("found, listed, margin, expected", [
    pytest.param(record(), {"conn-1"}, 0, LIVE, id="listed-under-its-id-in-another-case"),
    pytest.param(record(session_id="SESS-9"), {"sess-9"}, 0, LIVE, id="listed-under-the-session-id-connect-gave"),
    pytest.param(record(created=28801), {"conn-1"}, 0, GONE, id="lifetime-over-even-if-listed"),
    pytest.param(record(confirmed=120), set(), 0, GONE, id="listed-once-and-no-more"),
    pytest.param(record(created=600), set(), 60, UNUSED, id="never-listed-and-young"),
    pytest.param(record(created=600), set(), 300, UNRECOGNISED, id="never-listed-too-little-idle-time-left"),
    pytest.param(record(created=901), set(), 0, UNRECOGNISED, id="never-listed-and-past-the-idle-time"),
    pytest.param(record(created=100), set(), 7200, UNUSED, id="renew-before-beyond-the-idle-time-is-capped"),
])
def test_verdict(found, listed, margin, expected):
    assert verdict(found, listed, NOW, margin) == expected


def test_trust_counts_from_the_opening_or_the_last_confirmation():
    assert trusted(record(created=10), NOW, 30)
    assert trusted(record(created=600, confirmed=10), NOW, 30)
    assert not trusted(record(created=600, confirmed=60), NOW, 30)


def test_expiry_is_the_lifetime_and_a_record_without_one_never_expires():
    assert is_expired(record(created=28801), NOW) and not is_expired(record(created=28799), NOW)
    assert not is_expired(dict(record(), expires_at=None), NOW)
