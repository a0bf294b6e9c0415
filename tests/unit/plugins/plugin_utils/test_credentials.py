# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import resolve_credentials


@pytest.fixture
def credentials_file(tmp_path):
    def write(text):
        path = tmp_path / "credentials"
        path.write_text(text)
        return str(path)
    return write


def test_options_win_over_the_file(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=FILEKEY\nR3_SECRET_ACCESS_KEY=ZmlsZQ==\n")
    assert resolve_credentials("TASKKEY", "dGFzaw==", "default", path) == ("TASKKEY", "dGFzaw==")


def test_each_missing_half_comes_from_the_profile(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=FILEKEY\nR3_SECRET_ACCESS_KEY=ZmlsZQ==\n")
    assert resolve_credentials("TASKKEY", None, "default", path) == ("TASKKEY", "ZmlsZQ==")


def test_a_file_without_sections_is_the_default_profile(credentials_file):
    path = credentials_file("R3_ACCESS_KEY_ID=BARE\nR3_SECRET_ACCESS_KEY=YmFyZQ==\n")
    assert resolve_credentials(None, None, "default", path) == ("BARE", "YmFyZQ==")


@pytest.mark.parametrize("header", ["[DEFAULT]", "[default]", "[Default]"])
def test_profiles_match_case_insensitively(credentials_file, header):
    path = credentials_file("%s\nr3_access_key_id=UPPER\nr3_secret_access_key=dXBwZXI=\n" % header)
    assert resolve_credentials(None, None, "default", path) == ("UPPER", "dXBwZXI=")
    assert resolve_credentials(None, None, "DEFAULT", path) == ("UPPER", "dXBwZXI=")


def test_default_section_keys_do_not_leak_into_other_profiles(credentials_file):
    path = credentials_file("[DEFAULT]\nR3_ACCESS_KEY_ID=DEF\nR3_SECRET_ACCESS_KEY=ZGVm\n"
                            "[work]\nR3_ACCESS_KEY_ID=WORK\n")
    with pytest.raises(RemoteitError) as error:
        resolve_credentials(None, None, "work", path)
    assert "secret_access_key" in str(error.value)
    assert "ZGVm" not in str(error.value)


def test_missing_credentials_say_everywhere_that_was_looked(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(RemoteitError) as error:
        resolve_credentials(None, None, "default", missing)
    message = str(error.value)
    assert error.value.kind == "credentials"
    for place in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "task options", missing, "no such file"):
        assert place in message


def test_an_unknown_profile_is_named(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=A\nR3_SECRET_ACCESS_KEY=Yg==\n")
    with pytest.raises(RemoteitError, match="profile 'staging'"):
        resolve_credentials(None, None, "staging", path)


def test_a_broken_file_is_a_clear_error(credentials_file):
    path = credentials_file("[default\nR3_ACCESS_KEY_ID=A\n")
    with pytest.raises(RemoteitError, match="not a valid INI file"):
        resolve_credentials(None, None, "default", path)
