# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__ as ansible_version

from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils import _credentials
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import resolve_credentials
from ansible_collections.community.remoteit.plugins.plugin_utils._options import module_sources

# A module whose task gave no key: whatever it was given came from the environment.
FROM_ENVIRONMENT = module_sources({})


def resolve(access_key_id, secret_access_key, profile, path, sources=FROM_ENVIRONMENT, warnings=None):
    """(key id, secret) as resolve_credentials finds them for a module."""
    credentials = resolve_credentials(access_key_id, secret_access_key, profile, path, sources,
                                      (warnings if warnings is not None else []).append)
    return credentials.key_id, credentials.secret


def failure(*args, **kwargs):
    with pytest.raises(RemoteitError) as error:
        resolve(*args, **kwargs)
    assert error.value.kind == "credentials"
    return str(error.value)


@pytest.fixture
def credentials_file(tmp_path):
    def write(text, mode=0o600):
        path = tmp_path / "credentials"
        path.write_text(text)
        os.chmod(path, mode)
        return str(path)
    return write


def test_options_win_over_the_file(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=FILEKEY\nR3_SECRET_ACCESS_KEY=ZmlsZQ==\n")
    assert resolve("TASKKEY", "dGFzaw==", "default", path) == ("TASKKEY", "dGFzaw==")


def test_each_missing_half_comes_from_the_profile(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=FILEKEY\nR3_SECRET_ACCESS_KEY=ZmlsZQ==\n")
    assert resolve("TASKKEY", None, "default", path) == ("TASKKEY", "ZmlsZQ==")


def test_a_file_without_sections_is_the_default_profile(credentials_file):
    path = credentials_file("R3_ACCESS_KEY_ID=BARE\nR3_SECRET_ACCESS_KEY=YmFyZQ==\n")
    assert resolve(None, None, "default", path) == ("BARE", "YmFyZQ==")


@pytest.mark.parametrize("header", ["[DEFAULT]", "[default]", "[Default]"])
def test_profiles_match_case_insensitively(credentials_file, header):
    path = credentials_file("%s\nr3_access_key_id=UPPER\nr3_secret_access_key=dXBwZXI=\n" % header)
    assert resolve(None, None, "default", path) == ("UPPER", "dXBwZXI=")
    assert resolve(None, None, "DEFAULT", path) == ("UPPER", "dXBwZXI=")


def test_default_section_keys_do_not_leak_into_other_profiles(credentials_file):
    path = credentials_file("[DEFAULT]\nR3_ACCESS_KEY_ID=DEF\nR3_SECRET_ACCESS_KEY=ZGVm\n"
                            "[work]\nR3_ACCESS_KEY_ID=WORK\n")
    message = failure(None, None, "work", path)
    assert "no remote.it secret_access_key found" in message
    assert "profile 'work' of %s (it has no R3_SECRET_ACCESS_KEY)" % path in message
    assert "ZGVm" not in message


def test_missing_credentials_of_a_module_say_everywhere_that_was_looked(tmp_path):
    missing = str(tmp_path / "nope")
    assert failure(None, None, "default", missing).startswith(
        "no remote.it access_key_id and secret_access_key found. Looked in: the task options (access_key_id, "
        "secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY) and the credentials file "
        "%s (no such file). Create an access key" % missing)


def test_an_unknown_profile_lists_the_profiles_the_file_has(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=A\nR3_SECRET_ACCESS_KEY=Yg==\n[Work]\nR3_ACCESS_KEY_ID=B\n")
    assert "and %s, which has no profile 'fleet' (its profiles: default, Work)." % path in failure(
        None, None, "fleet", path)


def test_a_broken_file_is_a_clear_error(credentials_file):
    path = credentials_file("[default\nR3_ACCESS_KEY_ID=A\n")
    assert "credentials file %s is not a valid INI file" % path in failure(None, None, "default", path)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_quoted_values_are_read_without_their_quotes(credentials_file, quote):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID={q}AKQUOTED{q}\nR3_SECRET_ACCESS_KEY={q}YWJj{q}\n"
                            .format(q=quote))
    assert resolve(None, None, "default", path) == ("AKQUOTED", "YWJj")


def test_a_secret_that_is_not_base64_names_the_profile_to_fix(credentials_file):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=AK\nR3_SECRET_ACCESS_KEY=\"YWJj'\n")  # quotes that differ
    message = failure(None, None, "default", path)
    assert message == ("the secret access key from profile 'default' of %s is not valid base64: copy it again from "
                       "your remote.it account (Account > Access keys) and fix it there" % path)
    assert "YWJj" not in message


def test_a_secret_that_is_not_base64_names_the_environment_variable(tmp_path):
    message = failure("AK", "not base64!", "default", str(tmp_path / "nope"))
    assert message.startswith("the secret access key from the environment (R3_SECRET_ACCESS_KEY) is not valid base64")
    assert "not base64!" not in message


@pytest.mark.parametrize("mode, warned", [(0o644, True), (0o640, True), (0o604, True), (0o600, False), (0o400, False)])
def test_a_credentials_file_other_users_can_read_is_warned_about(credentials_file, mode, warned):
    path = credentials_file("[default]\nR3_ACCESS_KEY_ID=AK\nR3_SECRET_ACCESS_KEY=YWJj\n", mode=mode)
    warnings = []
    resolve(None, None, "default", path, warnings=warnings)
    expected = ["the remote.it credentials file %s is readable by other users (mode %04o): chmod 600 %s"
                % (path, mode, path)]
    assert warnings == (expected if warned else [])


@pytest.mark.parametrize("task_args, given, file_keys, origin", [
    ({}, (None, None), "R3_ACCESS_KEY_ID=AK\nR3_SECRET_ACCESS_KEY=YWJj\n",
     "the access key id and secret came from profile 'default' of {path}"),
    ({"access_key_id": "AK", "secret_access_key": "YWJj"}, ("AK", "YWJj"), "",
     "the access key id and secret came from the task options (access_key_id, secret_access_key)"),
    ({"access_key_id": "AK"}, ("AK", None), "R3_SECRET_ACCESS_KEY=YWJj\n",
     "the access key id came from the task options (access_key_id) and the secret from profile 'default' of {path}"),
    ({"secret_access_key": "YWJj"}, ("AK", "YWJj"), "",
     "the access key id came from the environment (R3_ACCESS_KEY_ID) and the secret from the task options "
     "(secret_access_key)"),
])
def test_the_key_pair_knows_where_it_came_from(credentials_file, task_args, given, file_keys, origin):
    path = credentials_file("[default]\n" + file_keys)
    credentials = resolve_credentials(given[0], given[1], "default", path, module_sources(task_args), [].append)
    assert credentials.key_origin == origin.format(path=path)


def test_the_secret_found_is_registered_with_core_and_short_or_unset_values_are_not(monkeypatch):
    registered = []
    monkeypatch.setattr(_credentials, "_register_with_core", registered.append)

    resolve("KEYID", "c2VjcmV0LXRoYXQtaXMtbG9uZw==", None, "/nonexistent")
    _credentials.keep_out_of_output("pi", None, "", "long-enough-password")

    assert registered == ["c2VjcmV0LXRoYXQtaXMtbG9uZw==", "long-enough-password"]


def test_cores_from_2_22_mask_a_found_secret_in_all_they_display_and_older_ones_have_no_masker():
    if LooseVersion(ansible_version) < LooseVersion("2.22"):
        assert _credentials._register_with_core is None
        return
    from ansible.module_utils.secrets import mask_secrets  # pylint: disable=import-outside-toplevel

    resolve("KEYID", "bWFza2VkLWJ5LWFuc2libGUtY29yZQ==", None, "/nonexistent")

    assert mask_secrets("key bWFza2VkLWJ5LWFuc2libGUtY29yZQ== here") == "key $REDACTED$ here"
