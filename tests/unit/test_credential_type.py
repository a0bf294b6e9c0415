# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX credential type (extensions/awx/credential_type.yml) against what the collection reads.

Its injectors must set exactly the environment variables of the key and the API URL that
_options.CONNECTION_OPTIONS names, the single source of those names: an option renamed there and not
in the credential type would leave every AWX job without a key, and nothing else would notice.
The other environment variables stay out of it on purpose: REMOTEIT_PROFILE and
REMOTEIT_CREDENTIALS_FILE select a key from a credentials file, which an execution environment does
not have; REMOTEIT_ACCOUNT_ID, REMOTEIT_VALIDATE_CERTS and REMOTEIT_CONNECTIONS_FILE describe a job,
not a key, and belong in its variables or its environment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.community.remoteit.plugins.plugin_utils._api import DEFAULT_API_URL
from ansible_collections.community.remoteit.plugins.plugin_utils._credentials import KEY_OPTIONS
from ansible_collections.community.remoteit.plugins.plugin_utils._options import (
    CONNECTION_OPTIONS,
    SECRET_OPTIONS,
)

CREDENTIAL_TYPE = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "credential_type.yml"
# The options a credential of this type carries: the key pair and the API it is a key for.
CREDENTIAL_OPTIONS = KEY_OPTIONS + ("api_url",)
# What AWX accepts in an input field (awx/main/fields.py, CredentialTypeInputField).
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime",
              "default"}


@pytest.fixture(scope="module")
def credential_type():
    return yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))


def render_env(credential_type, inputs):
    """The environment AWX gives a job for a credential with these inputs (defaults filled in)."""
    values = {field["id"]: field["default"] for field in credential_type["inputs"]["fields"] if "default" in field}
    values.update(inputs)
    environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    return {name: environment.from_string(template).render(**values)
            for name, template in credential_type["injectors"]["env"].items()}


def test_injectors_set_exactly_the_variables_the_collection_reads_for_a_key(credential_type):
    assert set(credential_type["injectors"]) == {"env"}, "a key needs no extra_vars or files"
    assert set(credential_type["injectors"]["env"]) == {CONNECTION_OPTIONS[name][2] for name in CREDENTIAL_OPTIONS}


def test_each_field_reaches_the_variable_of_its_option(credential_type):
    fields = {field["id"] for field in credential_type["inputs"]["fields"]}
    assert fields == set(CREDENTIAL_OPTIONS)
    inputs = {name: "value-of-%s" % name for name in CREDENTIAL_OPTIONS}
    assert render_env(credential_type, inputs) == {CONNECTION_OPTIONS[name][2]: inputs[name]
                                                   for name in CREDENTIAL_OPTIONS}


def test_the_api_url_defaults_to_remoteit_and_the_key_must_be_given(credential_type):
    env = render_env(credential_type, {"access_key_id": "KEY", "secret_access_key": "c2VjcmV0"})
    assert env[CONNECTION_OPTIONS["api_url"][2]] == DEFAULT_API_URL == CONNECTION_OPTIONS["api_url"][1]
    assert set(credential_type["inputs"]["required"]) == set(CREDENTIAL_OPTIONS)


def test_awx_accepts_the_inputs_and_hides_the_secret(credential_type):
    assert credential_type["kind"] == "cloud" and credential_type["name"]
    for field in credential_type["inputs"]["fields"]:
        assert set(field) <= FIELD_KEYS, field
        assert re.fullmatch(r"[a-zA-Z_]+[a-zA-Z0-9_]*", field["id"]) and field["label"]
        assert field["type"] == "string"
        assert field.get("secret", False) == (field["id"] in SECRET_OPTIONS), field
    # AWX reserves ANSIBLE_* for itself.
    assert not [name for name in credential_type["injectors"]["env"] if name.startswith("ANSIBLE_")]
